"""Rebalance math on hand-built markets: exact router fills, weights reached up to the quotes' slippage, gas from
the hub, dust left alone, and every member that cannot be reached reported with why."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest

from defiscope.analytics.indices.quoting import BASE_GAS, GAS_PER_HOP, RouterQuoter
from defiscope.analytics.indices.rebalance import (
    FixedFeeQuoter,
    Market,
    Unvalued,
    holdings_value,
    plan_rebalance,
    weights_of,
)
from defiscope.protocols.uniswap.v2_math import UNISWAP_V2_FEE
from defiscope.routing.pools import V2Pool

E18 = 10**18
WETH, UNI, AAVE, MKR = "0x" + "01" * 20, "0x" + "02" * 20, "0x" + "03" * 20, "0x" + "04" * 20
ADDRESSES = {"WETH": WETH, "UNI": UNI, "AAVE": AAVE, "MKR": MKR}
PRICES = {"WETH": Decimal(2000), "UNI": Decimal(10), "AAVE": Decimal(100), "MKR": Decimal(1000)}
DECIMALS = dict.fromkeys(PRICES, 18)
GWEI = 10**9


def pair(token: str, usd_depth: int, name: str) -> V2Pool:
    """A WETH pair holding `usd_depth` on each side at PRICES (token address < WETH's is never the case here)."""
    reserve_weth = usd_depth * E18 // 2000
    reserve_token = usd_depth * E18 // int(PRICES[name])
    return V2Pool("uniswap-v2", "0x" + name.encode().hex().rjust(40, "0"), WETH, token, reserve_weth, reserve_token)


def pools(depth: int = 5_000_000) -> dict[str, V2Pool]:
    made = [pair(UNI, depth, "UNI"), pair(AAVE, depth, "AAVE")]  # MKR has no pool: no route
    return {p.address: p for p in made}


def market(base_fee: int = 20 * GWEI, prices: dict[str, Decimal] | None = None) -> Market:
    return Market(100, prices or PRICES, DECIMALS, base_fee, "WETH")


def v2_out(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    """UniswapV2Library.getAmountOut, written out here so the test does not trust the code under test."""
    with_fee = amount_in * 997
    return with_fee * reserve_out // (reserve_in * 1000 + with_fee)


def test_construction_buys_each_member_with_exact_router_amounts() -> None:
    start = pools()
    quoter = RouterQuoter(dict(start), ADDRESSES)
    targets = {"WETH": Fraction(1, 5), "UNI": Fraction(1, 2), "AAVE": Fraction(3, 10)}
    result = plan_rebalance({"WETH": 500 * E18}, targets, market(), quoter)
    assert [(t.sell, t.buy) for t in result.trades] == [("WETH", "AAVE"), ("WETH", "UNI")]
    for trade in result.trades:
        pool = start[f"0x{trade.buy.encode().hex().rjust(40, '0')}"]
        assert trade.amount_out == v2_out(trade.amount_in, pool.reserve0, pool.reserve1)
        assert trade.fill.gas_units == BASE_GAS + GAS_PER_HOP["uniswap-v2"]
        assert trade.gas_usd == Fraction(trade.fill.gas_units * 20 * GWEI, E18) * 2000
        assert trade.slippage_usd > 0  # fee and price impact against the block's price
    spent = sum(t.amount_in for t in result.trades)
    gas_wei = sum(t.fill.gas_units for t in result.trades) * 20 * GWEI  # hub = WETH: gas is paid in it exactly
    assert result.holdings["WETH"] == 500 * E18 - spent - gas_wei
    assert result.holdings["UNI"] == next(t.amount_out for t in result.trades if t.buy == "UNI")
    # Weights reached up to what the trades lost: each member short by at most the run's slippage and gas.
    lost = (result.slippage_usd + result.gas_usd) / result.value_before_usd
    for symbol, target in targets.items():
        assert abs(result.weights_after[symbol] - target) <= lost
    assert result.shortfalls == ()


def test_the_hub_is_spent_in_proportion_to_the_shortfalls_less_the_gas() -> None:
    """No hub target: the buys share the hub (less their gas) in proportion to their shortfalls."""
    quoter = RouterQuoter(pools(depth=200_000), ADDRESSES)  # shallow pools: large slippage
    targets = {"UNI": Fraction(1, 2), "AAVE": Fraction(1, 2)}
    result = plan_rebalance({"WETH": 50 * E18}, targets, market(), quoter)
    amounts = {t.buy: t.amount_in for t in result.trades}
    assert amounts["UNI"] == amounts["AAVE"]  # equal shortfalls, equal spends
    gas_wei = 2 * (BASE_GAS + GAS_PER_HOP["uniswap-v2"]) * 20 * GWEI
    assert amounts["UNI"] + amounts["AAVE"] == 50 * E18 - gas_wei  # all of it, to the wei
    assert "WETH" not in result.holdings


def test_sells_then_buys_on_the_pools_the_sells_moved() -> None:
    start = pools()
    quoter = RouterQuoter(dict(start), ADDRESSES)
    holdings = {"UNI": 60_000 * E18, "AAVE": 2_000 * E18, "WETH": 10 * E18}  # UNI 600k, AAVE 200k, WETH 20k USD
    targets = {"UNI": Fraction(1, 2), "AAVE": Fraction(1, 2)}
    result = plan_rebalance(holdings, targets, market(), quoter)
    assert [(t.sell, t.buy) for t in result.trades] == [("UNI", "WETH"), ("WETH", "AAVE")]
    sell, _buy = result.trades
    uni_pool = start["0x" + b"UNI".hex().rjust(40, "0")]
    assert sell.amount_out == v2_out(sell.amount_in, uni_pool.reserve1, uni_pool.reserve0)
    # The sell is sized in UNI: (600k - 410k) / 10 USD
    value = holdings_value(holdings, market())
    assert sell.amount_in == math.floor((60_000 * E18 * Fraction(10, E18) - value / 2) / Fraction(10, E18))
    # The later quote saw the state the first one left (it is the pool the router would face)
    assert quoter.committed[0].amount_out == sell.amount_out
    assert quoter.pools[uni_pool.address] != uni_pool


def test_dust_gaps_are_left_alone() -> None:
    quoter = RouterQuoter(pools(), ADDRESSES)
    holdings = {"UNI": 10_002 * E18, "AAVE": 998 * E18}  # 100,020 and 99,800 USD: 110 USD off target each
    targets = {"UNI": Fraction(1, 2), "AAVE": Fraction(1, 2)}
    untouched = plan_rebalance(holdings, targets, market(), quoter, dust_usd=Decimal(200))
    assert untouched.trades == ()
    assert untouched.holdings == holdings
    assert untouched.shortfalls == ()
    traded = plan_rebalance(holdings, targets, market(), quoter, dust_usd=Decimal(100))
    assert [(t.sell, t.buy) for t in traded.trades] == [("UNI", "WETH"), ("WETH", "AAVE")]


def test_a_member_leaving_is_sold_whole() -> None:
    quoter = RouterQuoter(pools(), ADDRESSES)
    result = plan_rebalance({"UNI": 1_000 * E18, "AAVE": 100 * E18}, {"AAVE": Fraction(1)}, market(), quoter)
    assert result.trades[0].sell == "UNI"
    assert result.trades[0].amount_in == 1_000 * E18
    assert "UNI" not in result.holdings


def test_members_without_price_or_route_are_reported_and_their_share_stays_in_the_hub() -> None:
    prices = {k: v for k, v in PRICES.items() if k != "AAVE"}
    quoter = RouterQuoter(pools(), ADDRESSES)
    targets = {"UNI": Fraction(1, 3), "AAVE": Fraction(1, 3), "MKR": Fraction(1, 3)}
    result = plan_rebalance({"WETH": 100 * E18}, targets, market(prices=prices), quoter)
    reasons = {s.symbol: s.reason for s in result.shortfalls}
    assert reasons["AAVE"] == "no price at block 100: cannot size or value it"
    assert reasons["MKR"].startswith("no quote for WETH -> MKR: no pool path")
    assert [t.buy for t in result.trades] == ["UNI"]
    assert result.weights_after["WETH"] > Fraction(6, 10)  # AAVE's and MKR's thirds are still WETH


def test_a_trade_not_worth_its_gas_is_reported_not_made() -> None:
    quoter = RouterQuoter(pools(), ADDRESSES)
    expensive = market(base_fee=10_000 * GWEI)  # 111,000 gas at 10,000 gwei: 2,220 USD a trade
    result = plan_rebalance({"WETH": E18}, {"UNI": Fraction(1)}, expensive, quoter, dust_usd=Decimal(1))
    assert result.trades == ()
    assert result.shortfalls[0].symbol == "UNI"
    assert result.shortfalls[0].reason == (
        "the hub has nothing to spend once its target and the buys' gas (2220.00 USD) are kept"
    )
    # A sale pays its gas from what it brings: one smaller than its gas is not made either.
    sale = plan_rebalance({"UNI": 100 * E18, "WETH": 10 * E18}, {"WETH": Fraction(1)}, expensive, quoter)
    assert sale.trades == ()
    assert sale.shortfalls[0].reason == "the trade (1000.00 USD) is not worth its gas"


def test_fixed_fee_fills_at_the_price_less_the_fee() -> None:
    quoter = FixedFeeQuoter(market(), Fraction(3, 1000))
    fill = quoter.quote("WETH", "UNI", E18)
    assert fill.amount_out == 200 * E18 * 997 // 1000
    assert fill.gas_units == 0


def test_bad_input_is_refused() -> None:
    quoter = RouterQuoter(pools(), ADDRESSES)
    with pytest.raises(ValueError, match="sum to 1"):
        plan_rebalance({"WETH": E18}, {"UNI": Fraction(1, 2)}, market(), quoter)
    unpriced_aave = market(prices={"WETH": Decimal(1), "UNI": Decimal(1)})
    with pytest.raises(Unvalued, match="no price at block 100 for held AAVE"):
        plan_rebalance({"AAVE": E18}, {"UNI": Fraction(1)}, unpriced_aave, quoter)
    assert weights_of({}, market()) == {}
    assert UNISWAP_V2_FEE.numerator == 997  # the pools above are Uniswap V2's fee, as v2_out assumes


def test_gas_is_priced_by_the_native_coin_whatever_the_hub() -> None:
    usdc = Market(100, {**PRICES, "USDC": Decimal(1)}, {**DECIMALS, "USDC": 6}, 20 * GWEI, "USDC")
    assert usdc.gas_usd(100_000) == Fraction(100_000 * 20 * GWEI, E18) * 2000  # 4 USD at 2,000 USD per ETH
    assert usdc.gas_in_hub(100_000) == 4 * 10**6
    unpriced = Market(100, {"USDC": Decimal(1)}, {"USDC": 6}, 20 * GWEI, "USDC")
    with pytest.raises(Unvalued, match="no price at block 100 for WETH: the gas cannot be priced"):
        unpriced.gas_usd(100_000)
