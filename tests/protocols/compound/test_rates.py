"""Compound's rate models in Python equal the deployed contracts to the unit (hypothesis, batched reads)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defiscope.chain.multicall import Call
from defiscope.devnet.compound import V2_USERS
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.compound.rates import CometRates, JumpRateModelV2, RateModelError
from defiscope.protocols.lending.rates import WAD, per_block_to_apr
from tests.protocols.compound.kit import Lab, borrowed, supplied

SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
CASES = 25
amount = st.integers(min_value=0, max_value=10**30)
per_year = st.integers(min_value=0, max_value=5 * WAD)
kink = st.integers(min_value=WAD // 100, max_value=WAD)
market = st.tuples(amount, amount, st.integers(min_value=0, max_value=10**30)).filter(
    lambda m: m[1] == 0 or m[0] + m[1] - m[2] > 0
)


@SETTINGS
@given(
    params=st.tuples(per_year, per_year, st.integers(min_value=0, max_value=50 * WAD), kink),
    markets=st.lists(market, min_size=CASES, max_size=CASES),
    reserve_factor=st.integers(min_value=0, max_value=WAD),
)
async def test_jump_rate_model_v2_equals_contract(
    eth_chain: DevnetChain, params: tuple[int, int, int, int], markets: list[tuple[int, int, int]], reserve_factor: int
) -> None:
    lab = Lab.connect(eth_chain)
    contract = lab.deploy("JumpRateModelV2", *params)
    model = JumpRateModelV2.from_per_year(*params)
    address = contract.address
    calls = [
        Call.of(address, sig)
        for sig in ("baseRatePerBlock()(uint256)", "multiplierPerBlock()(uint256)", "jumpMultiplierPerBlock()(uint256)")
    ]
    for cash, borrows, reserves in markets:
        calls.append(Call.of(address, "utilizationRate(uint256,uint256,uint256)(uint256)", cash, borrows, reserves))
        calls.append(Call.of(address, "getBorrowRate(uint256,uint256,uint256)(uint256)", cash, borrows, reserves))
        calls.append(
            Call.of(
                address,
                "getSupplyRate(uint256,uint256,uint256,uint256)(uint256)",
                cash,
                borrows,
                reserves,
                reserve_factor,
            )
        )
    results = await lab.results(calls)
    assert [r.one() for r in results[:3]] == [
        model.base_rate_per_block,
        model.multiplier_per_block,
        model.jump_multiplier_per_block,
    ]
    reads = (
        model.utilization_rate,
        model.borrow_rate,
        lambda c, b, r: model.supply_rate(c, b, r, reserve_factor),
    )
    for k, (cash, borrows, reserves) in enumerate(markets):
        for result, read in zip(results[3 + 3 * k : 6 + 3 * k], reads, strict=True):
            if result.success:
                assert result.one() == read(cash, borrows, reserves)
            else:  # the contract's checked arithmetic reverted: so does the port
                assert "overflow" in str(result.error)
                with pytest.raises(RateModelError, match="overflow"):
                    read(cash, borrows, reserves)


COMET_CONFIG = st.tuples(
    kink, per_year, st.integers(0, 18 * WAD), per_year, kink, per_year, st.integers(0, 18 * WAD), per_year
)


@SETTINGS
@given(config=COMET_CONFIG, utilizations=st.lists(st.integers(0, 2 * WAD), min_size=CASES, max_size=CASES))
async def test_comet_rates_equal_contract(
    eth_chain: DevnetChain, config: tuple[int, ...], utilizations: list[int]
) -> None:
    lab = Lab.connect(eth_chain)
    usdc = eth_chain.tokens["USDC"]
    owner = lab.sender.owner  # governor and pause guardian
    feed = eth_chain.contracts["feed:USDC/USD"]
    comet = lab.deploy("Comet", owner, owner, usdc, feed, 6, 1, 6 * 10**17, 0, config, [])
    rates = CometRates.from_per_year(*config)
    calls = [
        Call.of(comet.address, f"get{side}Rate(uint256)(uint64)", u)
        for u in utilizations
        for side in ("Supply", "Borrow")
    ]
    values = await lab.values(calls)
    assert values == [r for u in utilizations for r in (rates.supply_rate(u), rates.borrow_rate(u))]


async def test_deployed_markets_rates_and_apr(eth_chain: DevnetChain) -> None:
    """Each seeded cToken's per-block rates from its own state; USDC's borrow APR is the known figure."""
    lab = Lab.connect(eth_chain)
    reads = (
        "getCash()(uint256)",
        "totalBorrows()(uint256)",
        "totalReserves()(uint256)",
        "reserveFactorMantissa()(uint256)",
        "borrowRatePerBlock()(uint256)",
        "supplyRatePerBlock()(uint256)",
    )
    model_reads = (
        "baseRatePerBlock()(uint256)",
        "multiplierPerBlock()(uint256)",
        "jumpMultiplierPerBlock()(uint256)",
        "kink()(uint256)",
    )
    symbols = ("WETH", "USDC", "DAI", "WBTC")
    calls = [Call.of(eth_chain.contracts[f"CompoundV2cToken:{s}"], sig) for s in symbols for sig in reads]
    calls += [Call.of(eth_chain.contracts[f"CompoundV2RateModel:{s}"], sig) for s in symbols for sig in model_reads]
    values = await lab.values(calls)
    for i, symbol in enumerate(symbols):
        cash, borrows, reserves, factor, borrow_rate, supply_rate = values[6 * i : 6 * i + 6]
        model = JumpRateModelV2(*values[24 + 4 * i : 28 + 4 * i])
        assert model.borrow_rate(cash, borrows, reserves) == borrow_rate, symbol
        assert model.supply_rate(cash, borrows, reserves, factor) == supply_rate, symbol
    # cUSDC: what the seed users supplied minus what they borrowed, plus the interest accrued while seeding.
    usdc_cash, usdc_borrows = values[6], values[7]
    lent, supplied_usdc = borrowed(V2_USERS)["USDC"] * 10**6, supplied(V2_USERS)["USDC"] * 10**6
    assert usdc_cash == supplied_usdc - lent
    assert lent < usdc_borrows < lent * 10_001 // 10_000
    # 64 % utilisation x 0.05 / 0.8 = 4 % a year (the seed's interest moves it in the 7th decimal).
    assert lent * 100 == supplied_usdc * 64
    assert abs(per_block_to_apr(values[10]) - Fraction(4, 100)) < Fraction(1, 10**6)


def test_bad_inputs_raise() -> None:
    model = JumpRateModelV2.from_per_year(0, WAD // 20, WAD, 8 * WAD // 10)
    with pytest.raises(RateModelError):
        model.borrow_rate(-1, 0, 0)
    with pytest.raises(RateModelError):
        model.borrow_rate(1, 1, 3)
    with pytest.raises(RateModelError):
        model.supply_rate(1, 1, 0, 2 * WAD)
    with pytest.raises(RateModelError):
        JumpRateModelV2.from_per_year(0, 1, 1, 0)
    # 100 % utilisation (no cash): the jump segment applies in full.
    assert model.utilization_rate(0, 10**6, 0) == WAD
    assert model.borrow_rate(0, 10**6, 0) == model.kink_model().base + (
        8 * WAD // 10 * model.multiplier_per_block // WAD
    ) + (2 * WAD // 10 * model.jump_multiplier_per_block // WAD)


async def test_jump_rate_model_v2_reverts_where_the_contract_overflows(eth_chain: DevnetChain) -> None:
    """Found by hypothesis: 1 unit of cash+borrows-reserves makes utilisation ~1e47 and the supply rate's
    product overflow uint256; the contract panics (0x11) and the port raises instead of returning a number."""
    params = (10**16, 10**17, 10**18, 8 * 10**17)
    contract = Lab.connect(eth_chain).deploy("JumpRateModelV2", *params)
    borrows = 128614645487605001725037123249
    market = (0, borrows, borrows - 1, 10**17)
    sig = "getSupplyRate(uint256,uint256,uint256,uint256)(uint256)"
    (result,) = await Lab.connect(eth_chain).results([Call.of(contract.address, sig, *market)])
    assert not result.success
    assert "overflow" in str(result.error)
    with pytest.raises(RateModelError, match="overflow"):
        JumpRateModelV2.from_per_year(*params).supply_rate(*market)
