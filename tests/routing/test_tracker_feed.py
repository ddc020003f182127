"""The tracker without an address list: through the chain's `LogFeed` (as the routing part of the chain's
`DexState` in `serve`), or by topic alone when the pools are more than a provider takes in one filter.
Either way it asks for every emitter's logs and must keep only the tracked pools': trades on a pool it does
not track must not move anything, and the tracked pools must equal a fresh read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from defiscope.api.quotes import quote_chains, share_dex_states
from defiscope.chain.client import ChainClient
from defiscope.chain.feed import LogFeed
from defiscope.deployments import Deployment
from defiscope.devnet.world import DevnetChain
from defiscope.prices.aggregator import PriceAggregator
from defiscope.protocols.registry import adapters_for
from defiscope.protocols.tracked import TrackedAdapter
from defiscope.routing import tracker as tracker_module
from defiscope.routing.dex_state import DexState
from defiscope.routing.pools import V2Pool
from defiscope.routing.tracker import PoolTracker
from defiscope.tvl.engine import TvlEngine
from tests.routing.test_tracker import all_refs, assert_tracked_equals_chain
from tests.routing.trades import Trader


def untracked_pair_first(chain: DevnetChain) -> tuple[str, list[Any]]:
    """The router's USDC/WETH V2 pair (traded, left untracked) and every other pool's ref."""
    refs = all_refs(chain)
    usdc, weth = chain.tokens["USDC"], chain.tokens["WETH"]
    (pair,) = [r for r in refs if r.dex == "uniswap-v2" and {r.token0, r.token1} == {usdc, weth}]
    return pair.address, [r for r in refs if r.address != pair.address]


async def test_topic_only_filter_above_the_address_cap_keeps_the_tracked_pools_logs(
    eth_chain: DevnetChain, client: ChainClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tracker_module, "MAX_ADDRESS_FILTER", 2)  # the devnet's dozens of pools count as many
    asked: list[Mapping[str, Any]] = []
    get_logs = client.get_logs

    async def spy(**query: Any) -> list[Mapping[str, Any]]:
        asked.append(query)
        found: list[Mapping[str, Any]] = await get_logs(**query)
        return found

    monkeypatch.setattr(client, "get_logs", spy)
    trader = Trader.funded(eth_chain)
    skipped, refs = untracked_pair_first(eth_chain)
    tracker = await PoolTracker.start(client, refs)
    other = next(p for p in tracker.pools if isinstance(p, V2Pool))
    trader.v2_swap(eth_chain.contracts["UniswapV2Router02"], eth_chain.tokens["USDC"], eth_chain.tokens["WETH"], 10**10)
    trader.v2_mint(other.address, other.token0, other.token1, other.reserve0 // 100, other.reserve1 // 100)
    report = await tracker.advance(client)
    assert [q.get("address") for q in asked] == [None]  # topics only, no address list
    assert (report.logs, report.reloaded, report.reorg) == (1, (), False)  # the tracked pair's Sync, not the other
    assert skipped not in tracker.refs
    await assert_tracked_equals_chain(client, tracker)


async def test_a_dex_state_of_its_own_reads_through_the_feed_it_was_given(
    eth_chain: DevnetChain, client: ChainClient
) -> None:
    trader = Trader.funded(eth_chain)
    skipped, refs = untracked_pair_first(eth_chain)
    feed = LogFeed(1)
    dex = DexState(1, (), refs, feed=feed)  # no indexer: quotes alone (every pool followed by its `routes`)
    pools, at = await dex.pools_at(client, await client.block())
    tracked = dex.routes
    assert tracked is not None
    assert {t.lower() for t in tracked.topics()} <= feed.subscribed  # subscribed when it started
    other = next(p for p in pools if isinstance(p, V2Pool))
    trader.v2_swap(eth_chain.contracts["UniswapV2Router02"], eth_chain.tokens["USDC"], eth_chain.tokens["WETH"], 10**10)
    trader.v2_mint(other.address, other.token0, other.token1, other.reserve0 // 100, other.reserve1 // 100)
    head = await client.block()
    before = sum(s.requests for s in client.rpc.stats().values())
    synced = await feed.logs(client, ["0x" + "00" * 32], at.number + 1, head)  # someone else reads the blocks
    assert synced == []
    assert feed.fetches == 1
    after_fetch = sum(s.requests for s in client.rpc.stats().values())
    pools, now = await dex.pools_at(client, head)
    assert (now, feed.fetches, feed.hits) == (head, 1, 1)  # the tracker's events came with that fetch
    assert after_fetch - before == 1
    await assert_tracked_equals_chain(client, tracked)
    assert skipped not in {p.address for p in pools}


async def test_quote_chains_read_the_dex_state_their_engine_advances(
    deployment: Deployment, client: ChainClient
) -> None:
    feed = LogFeed(1)
    engine = TvlEngine(client, deployment, adapters_for(deployment), PriceAggregator(deployment), feed=feed)
    share_dex_states({1: engine})
    (chain,) = quote_chains({1: engine}).values()
    try:
        assert engine.dex is not None
        assert chain.dex is engine.dex  # one state per chain: no second follower for quotes
        assert chain.feed is feed
        assert engine.dex.feed is feed
        tracked = {a.info.slug for a in engine.adapters if isinstance(a, TrackedAdapter)}
        assert set(engine.dex.dexes) == tracked
        assert {"uniswap-v2", "uniswap-v3"} <= tracked
    finally:
        await chain.client.aclose()  # the quote chain's own client
