"""One follower, one set of reads, on the devnet behind the provider simulator (which counts every
eth_getLogs it serves): concurrent address-less log queries of a snapshot are one eth_getLogs and each reader
still gets exactly its own filter's logs; an engine snapshot and the routing tracker sharing the chain's
`LogFeed` read a block's logs once, in either order; a reorged head misses the feed's memory."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from defiscope.chain.block import BlockRef
from defiscope.chain.client import ChainClient
from defiscope.chain.errors import InvalidInput
from defiscope.chain.feed import LogFeed, ReadAbandoned
from defiscope.chain.reader import Batcher, LogQuery, Reader
from defiscope.deployments import Deployment
from defiscope.devnet.anvil import rpc
from defiscope.devnet.provider_proxy import ProviderProxy
from defiscope.devnet.world import DevnetChain
from defiscope.prices.aggregator import PriceAggregator
from defiscope.protocols.base import Adapter, Position, ProtocolInfo, Uncounted
from defiscope.protocols.pool_events import topic
from defiscope.protocols.uniswap.events import V2_SYNC, V2_TOPICS, V3_TOPICS
from defiscope.routing.pools import V2Pool, V3Pool
from defiscope.routing.tracker import PoolTracker
from defiscope.tvl.engine import TvlEngine
from tests.chain.conftest import StartProxy
from tests.routing.test_tracker import all_refs, assert_tracked_equals_chain, pool_of
from tests.routing.trades import Trader

TRANSFER = topic("Transfer(address,address,uint256)")


def get_logs_served(proxy: ProviderProxy) -> int:
    """eth_getLogs queries the simulator answered so far (each item of a batch counts)."""
    return len(proxy.counters.log_spans)


def trade(trader: Trader, chain: DevnetChain, tracker: PoolTracker, rounds: int = 1) -> None:
    """V2 and V3 swaps: Sync, Swap and Transfer logs in new blocks."""
    router, usdc, weth = chain.contracts["UniswapV2Router02"], chain.tokens["USDC"], chain.tokens["WETH"]
    v3 = pool_of(tracker, "uniswap-v3")
    assert isinstance(v3, V3Pool)
    for _ in range(rounds):
        trader.v2_swap(router, usdc, weth, 20_000 * 10**6)
        trader.v3_swap(v3.address, True, 10**6 if v3.token0 == usdc else 10**15)


def routed_pair(chain: DevnetChain, tracker: PoolTracker) -> str:
    """The V2 pair `trade` swaps through."""
    routed = {chain.tokens["USDC"], chain.tokens["WETH"]}
    (pair,) = [p for p in tracker.pools if p.dex == "uniswap-v2" and {p.token0, p.token1} == routed]
    return pair.address


async def own_logs(chain: DevnetChain, query: LogQuery) -> list[Mapping[str, Any]]:
    """What the node answers for ``query`` asked alone, straight from anvil."""
    async with ChainClient.connect(1, [chain.rpc_url]) as direct:
        address = query.address if isinstance(query.address, str | None) else list(query.address)
        return await direct.get_logs(
            address=address, topics=query.topics, from_block=query.from_block, to_block=query.to_block
        )


class SyncFollower(Adapter):
    """An adapter that asks, as the event-following V2 adapter does, every V2 Sync since its last block."""

    info = ProtocolInfo("sync-follower", "Sync follower", "Dexes", "test adapter: follows V2 Sync logs")

    def __init__(self, deployment: Deployment, after: int) -> None:
        super().__init__(deployment)
        self.after = after
        self.seen: list[Mapping[str, Any]] = []

    async def positions(self, reader: Reader) -> Sequence[Position | Uncounted]:
        self.seen = await reader.logs(address=None, topics=[[V2_SYNC]], from_block=self.after + 1)
        self.after = reader.block.number
        return []


async def test_address_less_queries_of_one_flush_are_one_get_logs_each_reader_its_own(
    eth_chain: DevnetChain, client: ChainClient, provider_proxy: StartProxy
) -> None:
    trader = Trader.funded(eth_chain)
    tracker = await PoolTracker.start(client, all_refs(eth_chain))
    start = tracker.block.number + 1
    trade(trader, eth_chain, tracker, rounds=2)
    routed = {eth_chain.tokens["USDC"], eth_chain.tokens["WETH"]}
    pair = next(p for p in tracker.pools if isinstance(p, V2Pool) and {p.token0, p.token1} != routed)
    trader.v2_mint(pair.address, pair.token0, pair.token1, pair.reserve0 // 100, pair.reserve1 // 100)
    proxy = provider_proxy("none")
    async with ChainClient.connect(1, [proxy.url]) as through:
        batcher = Batcher(await through.snapshot())
        v2, v3, tokens, one_pair = (batcher.reader(s) for s in ("v2", "v3", "tokens", "pair"))
        before, requests = get_logs_served(proxy), proxy.counters.requests
        answers = await asyncio.gather(
            v2.logs(address=None, topics=[list(V2_TOPICS)], from_block=start),
            v3.logs(address=None, topics=[list(V3_TOPICS)], from_block=start),
            tokens.logs(address=None, topics=[TRANSFER], from_block=start + 1),  # a later start, topic alone
            one_pair.logs(address=pair.address, topics=[[V2_SYNC]], from_block=start),  # rides along
        )
        assert (get_logs_served(proxy) - before, proxy.counters.requests - requests) == (1, 1)
    readers = (v2, v3, tokens, one_pair)
    for reader, got in zip(readers, answers, strict=True):
        (asked,) = reader.log_queries  # provenance: what this reader asked, not the merged query
        assert asked.from_block in (start, start + 1)
        assert asked.to_block == batcher.block.number
        assert got == await own_logs(eth_chain, asked), reader.scope
    assert [len(a) > 0 for a in answers] == [True] * 4  # every filter had logs to tell apart
    assert len(answers[0]) > len(answers[3]) == 1  # the routed pair's Syncs were not given to `pair`


async def test_the_feed_range_goes_in_the_snapshot_batch_and_serves_its_subscribers(
    eth_chain: DevnetChain, client: ChainClient, provider_proxy: StartProxy
) -> None:
    trader = Trader.funded(eth_chain)
    tracker = await PoolTracker.start(client, all_refs(eth_chain))
    start = tracker.block.number + 1
    trade(trader, eth_chain, tracker)
    feed = LogFeed(1)
    feed.subscribe(V3_TOPICS)  # the tracker's events, say
    proxy = provider_proxy("none")
    async with ChainClient.connect(1, [proxy.url]) as through:
        batcher = Batcher(await through.snapshot(), feed=feed)
        block = batcher.block
        syncs, pair = batcher.reader("v2"), batcher.reader("pair")
        before, requests = get_logs_served(proxy), proxy.counters.requests
        answers = await asyncio.gather(
            syncs.logs(address=None, topics=[[V2_SYNC]], from_block=start),
            # From an earlier block: it would widen the feed's range, so it is its own query, in the same batch.
            pair.logs(address=routed_pair(eth_chain, tracker), topics=[[V2_SYNC]], from_block=start - 1),
        )
        assert (get_logs_served(proxy) - before, proxy.counters.requests - requests) == (2, 1)
        swaps = await feed.logs(through, V3_TOPICS, start, block)  # the subscriber: served from memory
        assert (get_logs_served(proxy) - before, feed.fetches, feed.hits) == (2, 1, 1)
    for reader, got in zip((syncs, pair), answers, strict=True):
        (asked,) = reader.log_queries
        assert got == await own_logs(eth_chain, asked)
        assert got
    assert swaps == await own_logs(eth_chain, LogQuery(None, (list(V3_TOPICS),), start, block.number))
    assert swaps


async def test_engine_and_tracker_sharing_a_feed_read_a_block_once_in_either_order(
    eth_chain: DevnetChain, deployment: Deployment, provider_proxy: StartProxy
) -> None:
    trader = Trader.funded(eth_chain)
    proxy = provider_proxy("none")
    feed = LogFeed(1)
    async with ChainClient.connect(1, [proxy.url]) as through, ChainClient.connect(1, [eth_chain.rpc_url]) as direct:
        tracker = await PoolTracker.start(through, all_refs(eth_chain), feed=feed)
        follower = SyncFollower(deployment, tracker.block.number)
        engine = TvlEngine(through, deployment, [follower], PriceAggregator(deployment), feed=feed)

        # The engine's snapshot first: its Sync query fetches the tracker's topics too; the tracker reads memory.
        trade(trader, eth_chain, tracker)
        before, prev = get_logs_served(proxy), tracker.block.number
        result = await engine.snapshot()
        report = await tracker.advance(through, result.block.number)
        assert get_logs_served(proxy) - before == 1
        assert (feed.fetches, feed.hits) == (1, 1)
        assert (report.from_block, report.to_block, report.reloaded, report.reorg) == (
            prev,
            result.block.number,
            (),
            False,
        )
        assert report.logs >= 2  # the V2 Sync and the V3 Swap at least
        assert follower.seen == await own_logs(eth_chain, LogQuery(None, ([V2_SYNC],), prev + 1, report.to_block))
        await assert_tracked_equals_chain(direct, tracker)

        # The tracker first: the engine's snapshot at the same block reads memory.
        trade(trader, eth_chain, tracker, rounds=2)
        before, prev = get_logs_served(proxy), tracker.block.number
        report = await tracker.advance(through)
        result = await engine.snapshot(report.to_block)
        assert get_logs_served(proxy) - before == 1
        assert (feed.fetches, feed.hits) == (2, 2)
        assert len(follower.seen) >= 2
        assert follower.seen == await own_logs(eth_chain, LogQuery(None, ([V2_SYNC],), prev + 1, report.to_block))
        await assert_tracked_equals_chain(direct, tracker)
        assert result.failures == ()


async def test_a_reorged_head_misses_the_feed_and_the_tracker_follows_the_new_branch(
    eth_chain: DevnetChain, client: ChainClient
) -> None:
    trader = Trader.funded(eth_chain)
    feed = LogFeed(1)
    tracker = await PoolTracker.start(client, all_refs(eth_chain), feed=feed)
    fork_point = rpc(eth_chain.rpc_url, "evm_snapshot")
    trade(trader, eth_chain, tracker)
    orphaned = await client.block()
    kept = await feed.logs(client, [V2_SYNC], tracker.block.number + 1, orphaned)
    assert kept
    assert feed.fetches == 1
    assert rpc(eth_chain.rpc_url, "evm_revert", [fork_point]) is True
    router, usdc, weth = eth_chain.contracts["UniswapV2Router02"], eth_chain.tokens["USDC"], eth_chain.tokens["WETH"]
    trader.v2_swap(router, weth, usdc, 3 * 10**18)  # another history, brought to the same height
    swapped = await client.block()
    while (head := await client.block()).number < orphaned.number:
        rpc(eth_chain.rpc_url, "evm_mine")
    assert (head.number, head.hash != orphaned.hash) == (orphaned.number, True)

    report = await tracker.advance(client, head.number)
    assert (report.reorg, report.reloaded) == (False, ())  # the tracked block is below the fork: events apply
    assert feed.fetches == 2  # the orphaned block's logs were not served for the new head
    await assert_tracked_equals_chain(client, tracker)

    # An answer whose last block comes from another fork than the one asked is handed back, never kept.
    stale = BlockRef(1, swapped.number, orphaned.hash, swapped.timestamp)
    fresh = await feed.logs(client, [V2_SYNC], swapped.number, stale)
    again = await feed.logs(client, [V2_SYNC], swapped.number, stale)
    assert fresh == again
    assert fresh
    assert feed.fetches == 4
    assert all(log["blockHash"] == swapped.hash for log in fresh)


async def test_the_feed_keeps_recent_blocks_within_its_budget(eth_chain: DevnetChain, client: ChainClient) -> None:
    trader = Trader.funded(eth_chain)
    tracker = await PoolTracker.start(client, all_refs(eth_chain))
    trade(trader, eth_chain, tracker, rounds=2)
    head = await client.block()
    blocks = [await client.block(n) for n in range(head.number - 2, head.number + 1)]
    recent = LogFeed(1, keep_blocks=2)
    for block in blocks:
        await recent.logs(client, [V2_SYNC, TRANSFER], block.number, block)
    assert recent.fetches == 3
    await recent.logs(client, [TRANSFER], blocks[-1].number, blocks[-1])  # a subset of a kept entry
    await recent.logs(client, [V2_SYNC], blocks[1].number, blocks[1])
    assert (recent.fetches, recent.hits) == (3, 2)
    first = await recent.logs(client, [V2_SYNC, TRANSFER], blocks[0].number, blocks[0])  # aged out
    assert recent.fetches == 4
    alone = LogQuery(None, ([V2_SYNC, TRANSFER],), blocks[0].number, blocks[0].number)
    assert first == await own_logs(eth_chain, alone)

    nothing_kept = LogFeed(1, max_logs=0)
    for _ in range(2):
        await nothing_kept.logs(client, [TRANSFER], blocks[-1].number, blocks[-1])
    assert (nothing_kept.fetches, nothing_kept.hits) == (2, 0)
    with pytest.raises(InvalidInput, match="keep_blocks"):
        LogFeed(1, keep_blocks=0)
    with pytest.raises(InvalidInput, match="cannot read chain 1"):
        await LogFeed(56).logs(client, [TRANSFER], head.number, head)


async def test_a_cancelled_fetcher_fails_its_waiters_with_a_reason_and_the_range_is_read_again(
    eth_chain: DevnetChain, provider_proxy: StartProxy
) -> None:
    proxy = provider_proxy("free")  # 50 ms per answer: time to join and cancel a read in flight
    feed = LogFeed(1)
    async with ChainClient.connect(1, [proxy.url]) as through:
        head = await through.block()
        start = head.number - 20
        fetcher = asyncio.create_task(feed.logs(through, [TRANSFER], start, head))
        await asyncio.sleep(0.01)
        waiter = asyncio.create_task(feed.logs(through, [TRANSFER], start, head))
        await asyncio.sleep(0.01)
        fetcher.cancel()
        with pytest.raises(ReadAbandoned, match="was stopped"):
            await waiter
        assert (feed.fetches, feed.hits) == (1, 1)
        again = await feed.logs(through, [TRANSFER], start, head)
        assert feed.fetches == 2
    assert again == await own_logs(eth_chain, LogQuery(None, ([TRANSFER],), start, head.number))
