"""The aggregator on the devnet: choice, fallback on a stale feed, disagreement, request counts."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from web3.exceptions import ContractLogicError

from defiscope.chain.client import ChainClient
from defiscope.devnet.artifacts import npm_artifact
from defiscope.prices.aggregator import PriceAggregator
from defiscope.prices.dex import to_decimal
from defiscope.protocols.uniswap.math.tick_math import get_sqrt_ratio_at_tick
from tests.prices.kit import Kit


def v3_usd_of_weth(kit: Kit, fee: int) -> Decimal:
    """WETH in USD from the WETH/USDC V3 pool's slot0 at USDC = $1, by hand with Fractions."""
    pool = next(
        p
        for p in kit.chain.pools
        if p.dex == "uniswap-v3"
        and p.fee == fee
        and {p.token0, p.token1} == {kit.ref("WETH").address, kit.ref("USDC").address}
    )
    sqrt_price, _ = kit.pool_state(kit.sender.contract(npm_artifact("UniswapV3Pool"), pool.address))
    usdc_per_weth_raw = Fraction(sqrt_price**2, 2**192)
    if pool.token0 != kit.ref("WETH").address:
        usdc_per_weth_raw = 1 / usdc_per_weth_raw
    return to_decimal(usdc_per_weth_raw * Fraction(10**18, 10**6))


def dex_weth_price(kit: Kit) -> tuple[str, Decimal]:
    """What the 0.05 % WETH/USDC V3 pool says WETH is worth, and how: its 30-minute mean tick when its
    oracle reaches back that far (a cached world ages: its pools' oracles do too), else spot (slot0)."""
    pool = next(
        p
        for p in kit.chain.pools
        if p.dex == "uniswap-v3"
        and p.fee == 500
        and {p.token0, p.token1} == {kit.ref("WETH").address, kit.ref("USDC").address}
    )
    contract = kit.sender.contract(npm_artifact("UniswapV3Pool"), pool.address)
    try:
        cumulatives, _ = contract.functions.observe([1800, 0]).call()
    except ContractLogicError:  # "OLD": the oldest observation is younger than 30 minutes
        return "spot", v3_usd_of_weth(kit, 500)
    mean_tick = (cumulatives[1] - cumulatives[0]) // 1800  # OracleLibrary.consult rounds toward -infinity
    usdc_per_weth_raw = Fraction(get_sqrt_ratio_at_tick(mean_tick) ** 2, 2**192)
    if pool.token0 != kit.ref("WETH").address:
        usdc_per_weth_raw = 1 / usdc_per_weth_raw
    return "twap1800", to_decimal(usdc_per_weth_raw * Fraction(10**18, 10**6))


async def test_whole_chain_in_two_requests(client: ChainClient, kit: Kit) -> None:
    await client.snapshot()  # the client's first request also verifies the chain id; not pricing's cost
    aggregator = PriceAggregator(kit.deployment)
    start = client.rpc.total_requests()
    batcher = await kit.batcher(client)
    after_snapshot = client.rpc.total_requests()
    decisions = await aggregator.prices(batcher, kit.refs())
    # snapshot + (feeds, pool discovery, derivative reads) + (pool state)
    assert (after_snapshot - start, client.rpc.total_requests() - after_snapshot, batcher.flushes) == (1, 2, 2)
    weth = decisions[kit.ref("WETH").address]
    assert weth.quote is not None
    assert weth.quote.usd == Decimal("3000")
    assert weth.flags == ()
    assert [d.token.symbol for d in decisions.values() if d.quote is None] == []
    # wstETH is Lido's real-shaped wrapper now (issue 6): priced through stEthPerToken and the STETH/USD feed.
    wsteth = decisions[kit.ref("wstETH").address].quote
    assert wsteth is not None
    assert wsteth.source == "derived:wstETH->stETH"
    # every source's answer is kept for `explain`: the feed, the DEX cross-check, the derivative miss
    assert [type(a).__name__ for a in weth.answers] == ["PriceQuote", "PriceQuote", "PriceMiss"]
    assert [r.scope for r in aggregator.readers.values()] == [
        "prices:chainlink",
        "prices:dex",
        "prices:derived",
        "prices:tokens",
    ]
    routed_feeds = {pair for route in kit.deployment.price_routes.values() for pair in route}
    assert len(aggregator.readers["chainlink"].records) == 2 * len(routed_feeds)  # rounds + decimals, once

    # Pools were discovered once: the next snapshot reads feeds and pool state in one request.
    again = await kit.batcher(client)
    before = client.rpc.total_requests()
    await aggregator.prices(again, kit.refs())
    assert (client.rpc.total_requests() - before, again.flushes) == (1, 1)


async def test_stale_feed_falls_back_to_the_pool_with_a_flag(client: ChainClient, kit: Kit) -> None:
    kit.set_round("ETH/USD", 300_000_000_000, kit.now() - 7200)
    decisions = await PriceAggregator(kit.deployment).prices(await kit.batcher(client), [kit.ref("WETH")])
    weth = decisions[kit.ref("WETH").address]
    assert weth.quote is not None
    # The deepest WETH pool against a feed-priced core is the 0.05 % WETH/USDC V3 pool: its TWAP if its
    # oracle reaches back 30 minutes, else spot, each with its confidence (deep pool).
    method, usd = dex_weth_price(kit)
    assert weth.quote.source.startswith("uniswap-v3:")
    assert weth.quote.source.endswith(f":{method}")
    assert weth.quote.usd == usd
    assert weth.quote.confidence == {"spot": 0.6, "twap1800": 0.9}[method]
    assert weth.quote.liquidity_usd is not None
    assert weth.quote.liquidity_usd > Decimal(1_000_000)
    assert len(weth.flags) == 1
    assert weth.flags[0].startswith("fallback: chainlink unusable (stale: ETH/USD updated ")


async def test_stale_feed_and_no_market_is_unpriced(client: ChainClient, kit: Kit) -> None:
    kit.set_round("LINK/USD", 1_500_000_000, kit.now() - 7200)
    decisions = await PriceAggregator(kit.deployment).prices(await kit.batcher(client), [kit.ref("LINK")])
    link = decisions[kit.ref("LINK").address]
    assert link.quote is None
    assert link.reason is not None
    assert link.reason.startswith("chainlink: stale: LINK/USD updated ")
    assert "; dex: no pool of LINK against" in link.reason


async def test_disagreement_is_flagged_and_lowers_confidence(client: ChainClient, kit: Kit) -> None:
    kit.set_answer("ETH/USD", 240_000_000_000)
    decisions = await PriceAggregator(kit.deployment).prices(await kit.batcher(client), [kit.ref("WETH")])
    weth = decisions[kit.ref("WETH").address]
    assert weth.quote is not None
    assert (weth.quote.usd, weth.quote.source, weth.quote.confidence) == (Decimal("2400"), "chainlink:ETH/USD", 0.792)
    _, dex = dex_weth_price(kit)
    (flag,) = weth.flags
    assert flag.startswith(f"sources disagree: chainlink:ETH/USD 2400 vs {weth.answers[1].source} ")
    assert flag.endswith(f" ({abs(dex - 2400) / 2400 * 100:.1f}% > 2.0%)")
    assert "(25.0% > 2.0%)" in flag


async def test_within_tolerance_is_not_flagged(client: ChainClient, kit: Kit) -> None:
    kit.set_answer("ETH/USD", 295_000_000_000)  # the pool's 3000 is 1.7 % above: within the 2 % tolerance
    decisions = await PriceAggregator(kit.deployment).prices(await kit.batcher(client), [kit.ref("WETH")])
    weth = decisions[kit.ref("WETH").address]
    assert weth.quote is not None
    assert weth.quote.confidence == 0.99
    assert weth.flags == ()


async def test_zero_answer_is_never_a_zero_price(client: ChainClient, kit: Kit) -> None:
    link_round = kit.feed("LINK/USD").functions.latestRound().call() + 1
    kit.set_answer("LINK/USD", 0)
    decisions = await PriceAggregator(kit.deployment).prices(await kit.batcher(client), [kit.ref("LINK")])
    link = decisions[kit.ref("LINK").address]
    assert link.quote is None
    assert link.reason is not None
    assert link.reason.startswith(f"chainlink: LINK/USD answered 0 (round {link_round}); a price must be positive")
