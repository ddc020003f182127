"""Aave's rate strategy and index accrual, proven equal to the deployed contracts to the unit."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defiscope.chain.client import ChainClient
from defiscope.chain.multicall import Call
from defiscope.devnet.aave import AAVE_RESERVES, aave_artifact
from defiscope.protocols.aave.market import AaveMarket, Reserve, read_strategy
from defiscope.protocols.aave.rates import (
    RAY,
    SECONDS_PER_YEAR,
    InterestRates,
    RateInputs,
    RateStrategy,
    calculate_compounded_interest,
    calculate_linear_interest,
    flash_loan_premium,
    next_indexes,
    normalized_income,
    normalized_variable_debt,
)
from defiscope.protocols.lending.rates import ray_mul
from tests.protocols.aave.kit import AaveKit

CALCULATE: str = (
    "calculateInterestRates((uint256,uint256,uint256,uint256,uint256,uint256,uint256,address,address))"
    "(uint256,uint256,uint256)"
)
#: Holds none of the reserve token, so the strategy's `balanceOf(aToken)` read is 0 and the available
#: liquidity is exactly `liquidityAdded - liquidityTaken`.
EMPTY_HOLDER = "0x000000000000000000000000000000000000dEaD"
AMOUNT = st.integers(min_value=0, max_value=10**30)
RATE = st.integers(min_value=0, max_value=3 * RAY)

strategies = st.builds(
    RateStrategy,
    optimal_usage_ratio=st.integers(min_value=1, max_value=RAY),
    base_variable_borrow_rate=RATE,
    variable_rate_slope1=RATE,
    variable_rate_slope2=RATE,
    stable_rate_slope1=RATE,
    stable_rate_slope2=RATE,
    base_stable_rate_offset=RATE,
    stable_rate_excess_offset=RATE,
    optimal_stable_to_total_debt_ratio=st.integers(min_value=0, max_value=RAY),
)


@st.composite
def rate_inputs(draw: st.DrawFn) -> RateInputs:
    added = draw(AMOUNT)
    # Utilisation anywhere in [0, 1], with extra weight at the edges (no debt, no liquidity).
    return RateInputs(
        available_liquidity=0,
        total_variable_debt=draw(st.one_of(st.just(0), AMOUNT)),
        total_stable_debt=draw(st.one_of(st.just(0), AMOUNT)),
        average_stable_borrow_rate=draw(RATE),
        reserve_factor=draw(st.integers(min_value=0, max_value=10_000)),
        unbacked=draw(st.one_of(st.just(0), AMOUNT)),
        liquidity_added=added,
        liquidity_taken=draw(st.one_of(st.just(0), st.just(added), st.integers(min_value=0, max_value=added))),
    )


def _call(strategy: str, reserve: str, params: RateInputs) -> Call:
    args = (
        params.unbacked,
        params.liquidity_added,
        params.liquidity_taken,
        params.total_stable_debt,
        params.total_variable_debt,
        params.average_stable_borrow_rate,
        params.reserve_factor,
        reserve,
        EMPTY_HOLDER,
    )
    return Call.of(strategy, CALCULATE, args)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(strategy=strategies, cases=st.lists(rate_inputs(), min_size=40, max_size=40))
async def test_calculate_interest_rates_equals_the_deployed_strategy(
    kit: AaveKit, client: ChainClient, strategy: RateStrategy, cases: list[RateInputs]
) -> None:
    deployed = kit.sender.deploy(
        aave_artifact("protocol/pool/DefaultReserveInterestRateStrategy"),
        kit.deployment.contract("AaveV3PoolAddressesProvider"),
        strategy.optimal_usage_ratio,
        strategy.base_variable_borrow_rate,
        strategy.variable_rate_slope1,
        strategy.variable_rate_slope2,
        strategy.stable_rate_slope1,
        strategy.stable_rate_slope2,
        strategy.base_stable_rate_offset,
        strategy.stable_rate_excess_offset,
        strategy.optimal_stable_to_total_debt_ratio,
    )
    usdc = kit.deployment.token("USDC").address
    results = await client.call_many([_call(deployed.address, usdc, case) for case in cases])
    # One batch of 40 cases: every one of them matches to the unit.
    got = [InterestRates(*r.unwrap()) for r in results]
    assert got == [strategy.calculate_interest_rates(case) for case in cases]


async def _reserves(kit: AaveKit, client: ChainClient, market: AaveMarket) -> dict[str, Reserve]:
    return {r.symbol: r for r in await market.reserves(await kit.reader(client))}


async def test_strategy_parameters_read_back_as_deployed(kit: AaveKit, client: ChainClient) -> None:
    market = AaveMarket.of(kit.deployment)
    reserves = await _reserves(kit, client, market)
    for params in AAVE_RESERVES:
        strategy = await read_strategy(await kit.reader(client), reserves[params.symbol].state.interest_rate_strategy)
        assert strategy == RateStrategy(
            params.optimal_usage, params.base_rate, params.slope1, params.slope2, params.stable_slope1,
            params.stable_slope2, params.base_stable_offset, params.stable_excess_offset, params.optimal_stable_ratio,
        )  # fmt: skip


async def _assert_rates_match(kit: AaveKit, client: ChainClient, market: AaveMarket) -> dict[str, Reserve]:
    reserves = await _reserves(kit, client, market)
    for reserve in reserves.values():
        strategy = await read_strategy(await kit.reader(client), reserve.state.interest_rate_strategy)
        state = reserve.state
        expected = InterestRates(
            state.current_liquidity_rate, state.current_stable_borrow_rate, state.current_variable_borrow_rate
        )
        assert strategy.calculate_interest_rates(reserve.rate_inputs()) == expected, reserve.symbol
    return reserves


async def test_reserve_rates_follow_supply_borrow_repay_and_time(kit: AaveKit, client: ChainClient) -> None:
    market = AaveMarket.of(kit.deployment)
    seeded = await _assert_rates_match(kit, client, market)
    usdc = seeded["USDC"]
    assert usdc.supply_apr == Fraction(usdc.state.current_liquidity_rate, RAY)
    assert usdc.variable_borrow_apr < Fraction(6, 100)  # below the kink: under slope 1
    assert usdc.apy(usdc.variable_borrow_apr) > usdc.variable_borrow_apr
    assert {s: round(float(r.utilisation), 2) for s, r in seeded.items()} == {
        "WETH": 0.43, "wstETH": 0.48, "WBTC": 0.32, "USDC": 0.39, "USDT": 0.51, "DAI": 0.35,
    }  # fmt: skip

    alice, bob = kit.user("alice"), kit.user("bob")
    kit.supply(alice, "WETH", 500 * 10**18)
    kit.borrow(alice, "USDC", 900_000 * 10**6)
    kit.supply(bob, "USDC", 3_000_000 * 10**6)
    kit.borrow(bob, "WETH", 200 * 10**18)
    before = await _assert_rates_match(kit, client, market)

    kit.advance(30 * 86_400)
    kit.repay(alice, "USDC", 400_000 * 10**6)  # touches USDC after 30 days: indexes accrue first
    after = await _assert_rates_match(kit, client, market)

    old, new = before["USDC"].state, after["USDC"].state
    assert (new.liquidity_index, new.variable_borrow_index) == next_indexes(
        liquidity_index=old.liquidity_index,
        variable_borrow_index=old.variable_borrow_index,
        liquidity_rate=old.current_liquidity_rate,
        variable_borrow_rate=old.current_variable_borrow_rate,
        scaled_variable_debt=before["USDC"].scaled_variable_debt,
        last_update=old.last_update_timestamp,
        now=new.last_update_timestamp,
    )
    assert new.variable_borrow_index > old.variable_borrow_index


async def test_normalized_income_and_debt_equal_the_pool_views(kit: AaveKit, client: ChainClient) -> None:
    market = AaveMarket.of(kit.deployment)
    kit.advance(400 * 86_400)  # a long gap: the binomial terms of the compounded interest all matter
    reader = await kit.reader(client)
    reserves = await market.reserves(reader)
    now = reader.block.timestamp
    pool = kit.deployment.contract("AaveV3Pool")
    views = await reader.values(
        [
            Call.of(pool, f"{fn}(address)(uint256)", r.asset)
            for r in reserves
            for fn in ("getReserveNormalizedIncome", "getReserveNormalizedVariableDebt")
        ]
    )
    ours = [
        value
        for r in reserves
        for value in (
            normalized_income(
                r.state.liquidity_index, r.state.current_liquidity_rate, r.state.last_update_timestamp, now
            ),
            normalized_variable_debt(
                r.state.variable_borrow_index, r.state.current_variable_borrow_rate, r.state.last_update_timestamp, now
            ),
        )
    ]
    assert ours == views
    # aToken supply is scaled supply x normalized income: the totals agree too.
    scaled = await reader.values([Call.of(r.tokens.a_token, "scaledTotalSupply()(uint256)") for r in reserves])
    assert [ray_mul(s, ours[2 * i]) for i, s in enumerate(scaled)] == [r.a_token_supply for r in reserves]


def test_interest_formulas_exact_values() -> None:
    assert calculate_linear_interest(RAY // 10, 0, SECONDS_PER_YEAR) == RAY + RAY // 10
    assert calculate_linear_interest(RAY, 100, 100) == RAY
    assert calculate_compounded_interest(RAY, 5, 5) == RAY
    # One second: only the first term; two seconds: the second term appears, the third needs three.
    assert calculate_compounded_interest(SECONDS_PER_YEAR * 10**9, 0, 1) == RAY + 10**9
    x = (SECONDS_PER_YEAR * 10**9) ** 2 // RAY // SECONDS_PER_YEAR**2
    assert calculate_compounded_interest(SECONDS_PER_YEAR * 10**9, 0, 2) == RAY + 2 * 10**9 + x


async def test_flash_loan_premium(kit: AaveKit) -> None:
    assert kit.pool.functions.FLASHLOAN_PREMIUM_TOTAL().call() == 5
    assert kit.pool.functions.FLASHLOAN_PREMIUM_TO_PROTOCOL().call() == 0
    premium = flash_loan_premium(1_000_000 * 10**6, 5)
    assert (premium.total, premium.to_protocol, premium.to_suppliers) == (500 * 10**6, 0, 500 * 10**6)
    # percentMul rounds half up: 0.05 % of 1,000 units is 0.5 -> 1; of 999 it is 0.4995 -> 0.
    assert flash_loan_premium(1_000, 5).total == 1
    assert flash_loan_premium(999, 5).total == 0
    assert flash_loan_premium(10**18, 9, 3_000) == replace(
        flash_loan_premium(10**18, 9), to_protocol=27 * 10**13, to_suppliers=63 * 10**13
    )


def test_bad_strategy_parameters() -> None:
    with pytest.raises(ValueError, match="optimal usage"):
        RateStrategy(RAY + 1, 0, 0, 0)
