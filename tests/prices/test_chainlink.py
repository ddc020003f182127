"""Chainlink feeds on the devnet: exact USD, route products, stale / non-positive / incomplete rounds."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from defiscope.chain.client import ChainClient
from defiscope.deployments import Deployment, FeedInfo
from defiscope.prices.base import PriceMiss
from defiscope.prices.chainlink import ChainlinkSource, Round, round_problem, route_usd, sequencer_problem
from defiscope.prices.quote import PriceQuote
from tests.prices.kit import Kit


async def test_feed_prices_are_exact(client: ChainClient, kit: Kit) -> None:
    batcher = await kit.batcher(client)
    answers = await ChainlinkSource(kit.deployment).prices(batcher.reader("prices:chainlink"), kit.refs())
    weth, wbtc = answers[kit.ref("WETH").address], answers[kit.ref("WBTC").address]
    assert isinstance(weth, PriceQuote)
    assert isinstance(wbtc, PriceQuote)
    assert (weth.usd, weth.source, weth.confidence) == (Decimal("3000"), "chainlink:ETH/USD", 0.99)
    assert wbtc.usd == Decimal("100000")
    assert weth.block_number == batcher.block.number
    # wstETH has no route on the devnet: a miss that says so, never 0.
    assert answers[kit.ref("wstETH").address] == PriceMiss("chainlink", "no Chainlink route for wstETH")
    assert batcher.flushes == 1


async def test_route_multiplies_feeds_exactly(client: ChainClient, kit: Kit, deployment: Deployment) -> None:
    # WBTC priced through WBTC/BTC * BTC/USD; the devnet's LINK/USD feed stands in for WBTC/BTC.
    kit.set_answer("LINK/USD", 99_870_000)  # 0.9987 BTC per WBTC
    kit.set_answer("BTC/USD", 10_123_456_789_012)  # 101234.56789012
    routed = dataclasses.replace(
        deployment,
        feeds={**deployment.feeds, "WBTC/BTC": dataclasses.replace(deployment.feeds["LINK/USD"], pair="WBTC/BTC")},
        price_routes={**deployment.price_routes, "WBTC": ("WBTC/BTC", "BTC/USD")},
    )
    batcher = await kit.batcher(client)
    answer = (await ChainlinkSource(routed).prices(batcher.reader("p"), [kit.ref("WBTC")]))[kit.ref("WBTC").address]
    assert isinstance(answer, PriceQuote)
    # 99870000 * 10123456789012 = 1011029629518628440000, at 16 decimals: exact, no rounding.
    assert answer.usd == Decimal("101102.9629518628440000")
    assert answer.source == "chainlink:WBTC/BTC*BTC/USD"


async def test_stale_feed_is_a_miss(client: ChainClient, kit: Kit) -> None:
    updated = kit.now() - 7200
    kit.set_round("ETH/USD", 300_000_000_000, updated)
    batcher = await kit.batcher(client)
    answer = (await ChainlinkSource(kit.deployment).prices(batcher.reader("p"), [kit.ref("WETH")]))[
        kit.ref("WETH").address
    ]
    assert isinstance(answer, PriceMiss)
    age = batcher.block.timestamp - updated
    assert age >= 7200
    assert answer.reason.startswith(f"stale: ETH/USD updated {age} s ago, heartbeat 3600 s (feed ")


async def test_time_passing_makes_every_feed_stale(client: ChainClient, kit: Kit) -> None:
    kit.advance(3601)
    batcher = await kit.batcher(client)
    answers = await ChainlinkSource(kit.deployment).prices(batcher.reader("p"), kit.refs())
    misses = [a for a in answers.values() if isinstance(a, PriceMiss) and a.reason.startswith("stale:")]
    assert len(misses) == len(kit.deployment.price_routes)


async def test_non_positive_answer_is_rejected(client: ChainClient, kit: Kit) -> None:
    # The round number depends on the world's history (a cache reload refreshes every feed once).
    usdc_round = kit.feed("USDC/USD").functions.latestRound().call() + 1
    dai_round = kit.feed("DAI/USD").functions.latestRound().call() + 1
    kit.set_answer("USDC/USD", 0)
    kit.set_answer("DAI/USD", -5)
    batcher = await kit.batcher(client)
    answers = await ChainlinkSource(kit.deployment).prices(batcher.reader("p"), [kit.ref("USDC"), kit.ref("DAI")])
    usdc, dai = answers[kit.ref("USDC").address], answers[kit.ref("DAI").address]
    feed = kit.deployment.feeds["USDC/USD"].address
    expected = f"USDC/USD answered 0 (round {usdc_round}); a price must be positive (feed {feed})"
    assert usdc == PriceMiss("chainlink", expected)
    assert isinstance(dai, PriceMiss)
    assert dai.reason.startswith(f"DAI/USD answered -5 (round {dai_round})")


def test_round_checks() -> None:
    good = Round(7, 100, 10, 10, 7)
    assert round_problem("X/USD", good, heartbeat=60, now=70) is None
    assert round_problem("X/USD", good, heartbeat=60, now=71) == "stale: X/USD updated 61 s ago, heartbeat 60 s"
    incomplete = Round(7, 100, 10, 10, 6)
    assert (
        round_problem("X/USD", incomplete, heartbeat=60, now=20) == "X/USD round 7 is incomplete (answered in round 6)"
    )
    assert route_usd([Decimal("0.99870000"), Decimal("101234.56789012")]) == Decimal("101102.9629518628440000")


def test_sequencer_gate() -> None:
    assert sequencer_problem(Round(1, 0, 1000, 1000, 1), now=1000 + 3601) is None
    assert sequencer_problem(Round(1, 0, 1000, 1000, 1), now=1000 + 600) == (
        "sequencer down until 600 s ago; grace period 3600 s"
    )
    assert sequencer_problem(Round(1, 1, 1000, 1000, 1), now=1500) == "sequencer down since 1000 (500 s ago)"


async def test_sequencer_down_misses_every_token(client: ChainClient, kit: Kit, deployment: Deployment) -> None:
    # The devnet's UNI/USD feed plays the L2 uptime feed: answer 1 = down.
    kit.set_answer("UNI/USD", 1)
    l2 = dataclasses.replace(deployment, sequencer_feed=deployment.feeds["UNI/USD"].address)
    batcher = await kit.batcher(client)
    answers = await ChainlinkSource(l2).prices(batcher.reader("p"), [kit.ref("WETH"), kit.ref("USDC")])
    assert {a.reason.split(" since")[0] for a in answers.values() if isinstance(a, PriceMiss)} == {"sequencer down"}
    assert all(isinstance(a, PriceMiss) for a in answers.values())


def test_feed_info_default_decimals() -> None:
    assert FeedInfo("ETH/USD", "0x0", 3600).decimals == 8
