"""A block's header and its logs in one request (`chain.pinning`), on the devnet behind the provider simulator
(which counts HTTP requests and every eth_getLogs it serves): the preloaded answers give each reader exactly what
the node gives its own filter, a filter they do not cover is asked as before, a refused log query is asked alone
(and split), a block beyond the head is bad input, a reorged block's logs are the new branch's, and logs from
another fork than the header's are never preloaded."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from defiscope.chain.client import ChainClient
from defiscope.chain.errors import InvalidInput
from defiscope.chain.feed import LogFeed
from defiscope.chain.log_plan import LogQuery
from defiscope.chain.pinning import LogForecast, logs_on_fork, pin_with_logs
from defiscope.chain.reader import Batcher
from defiscope.devnet.anvil import rpc
from defiscope.devnet.provider_proxy import ProviderProfile
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.uniswap.events import V2_SYNC, V2_TOPICS, V3_TOPICS
from defiscope.routing.tracker import PoolTracker
from tests.chain.conftest import StartProxy
from tests.chain.test_log_feed import TRANSFER, get_logs_served, own_logs, routed_pair, trade
from tests.routing.test_tracker import all_refs
from tests.routing.trades import Trader


async def traded_blocks(eth_chain: DevnetChain, client: ChainClient, rounds: int = 2) -> tuple[PoolTracker, int]:
    """V2 and V3 swaps in new blocks; the tracker (for its pools) and the first block with them."""
    trader = Trader.funded(eth_chain)
    tracker = await PoolTracker.start(client, all_refs(eth_chain))
    trade(trader, eth_chain, tracker, rounds=rounds)
    return tracker, tracker.block.number + 1


async def test_header_and_logs_are_one_request_and_each_reader_gets_its_own_filter(
    eth_chain: DevnetChain, client: ChainClient, provider_proxy: StartProxy
) -> None:
    tracker, start = await traded_blocks(eth_chain, client)
    head = (await client.block()).number
    swaps = LogQuery(None, (sorted({*V2_TOPICS, *V3_TOPICS}),), start, head)
    proxy = provider_proxy("none")
    async with ChainClient.connect(1, [proxy.url]) as through:
        await through.rpc.verify()  # the endpoint's chain id, asked once per client

        def served() -> tuple[int, int]:
            return proxy.counters.requests - 1, get_logs_served(proxy)

        batcher = await pin_with_logs(through, head, [swaps])
        assert served() == (1, 1)
        assert batcher.block == await client.block(head)
        v2, pair, later, tokens = (batcher.reader(s) for s in ("v2", "pair", "later", "tokens"))
        answers = await asyncio.gather(
            v2.logs(address=None, topics=[list(V2_TOPICS)], from_block=start),
            pair.logs(address=routed_pair(eth_chain, tracker), topics=[[V2_SYNC]], from_block=start),
            later.logs(address=None, topics=[list(V3_TOPICS)], from_block=start + 1),
        )
        assert served() == (1, 1)  # all three served from the preload
        transfers = await tokens.logs(address=None, topics=[TRANSFER], from_block=start)  # not covered: asked
        assert served() == (2, 2)
    for reader, got in zip((v2, pair, later, tokens), (*answers, transfers), strict=True):
        (asked,) = reader.log_queries
        assert got == await own_logs(eth_chain, asked), reader.scope
        assert got, reader.scope  # every filter had logs to tell apart
    assert {log["address"] for log in answers[1]} == {routed_pair(eth_chain, tracker).lower()}
    at_head = {log["blockHash"] for got in answers for log in got if int(log["blockNumber"], 16) == head}
    assert at_head == {batcher.block.hash}  # the pinned block's logs are of the block whose hash is pinned


async def test_the_forecast_asks_the_last_blocks_filters_over_the_blocks_since(
    eth_chain: DevnetChain, client: ChainClient
) -> None:
    first = await client.block()
    batcher = Batcher(await client.snapshot(first.number))
    reader = batcher.reader("r")
    factory = eth_chain.contracts["UniswapV2Factory"]
    await asyncio.gather(
        reader.logs(address=None, topics=[[V2_SYNC]], from_block=first.number),
        reader.logs(address=None, topics=[list(V3_TOPICS)], from_block=first.number - 3),
        reader.logs(address=factory, topics=[[TRANSFER]], from_block=first.number),
        reader.logs(address=None, topics=[[V2_SYNC]], from_block=0),  # a first scan: not a block's filter
    )
    forecast = LogForecast()
    forecast.learn("tvl", batcher)
    assert forecast.queries("tvl", first.number + 2) == [
        LogQuery(None, (sorted({*V3_TOPICS, V2_SYNC}),), first.number + 1, first.number + 2),
        LogQuery(factory, ([TRANSFER],), first.number + 1, first.number + 2),
    ]
    assert forecast.queries("other", first.number + 2) == []  # another set of protocols: its own filters
    assert forecast.queries("tvl", first.number) == []  # not after the learnt block
    assert forecast.queries("tvl", first.number + 1_001) == []  # a first scan again, split by the client


#: A range refusal as one item's error (Alchemy), or as HTTP 400 for the whole batch (Infura's -32005).
REFUSALS = {
    "item-error": ProviderProfile("t", max_log_blocks=4),
    "http-400-batch": ProviderProfile("t", max_log_blocks=4, refusal_style="infura", refusal_status=400),
}


@pytest.mark.parametrize("refusal", sorted(REFUSALS))
async def test_a_refused_log_query_is_asked_alone_and_split(
    eth_chain: DevnetChain, client: ChainClient, provider_proxy: StartProxy, refusal: str
) -> None:
    _, start = await traded_blocks(eth_chain, client, rounds=3)
    head = (await client.block()).number
    query = LogQuery(None, ([V2_SYNC],), start - 10, head)
    proxy = provider_proxy(REFUSALS[refusal])
    async with ChainClient.connect(1, [proxy.url]) as through:
        batcher = await pin_with_logs(through, head, [query])  # the pin stands: the header alone if need be
        assert batcher.block == await client.block(head)
        assert proxy.counters.range_refusals == 1
        got = await batcher.reader("v2").logs(address=None, topics=[[V2_SYNC]], from_block=start - 10)
    assert got == await own_logs(eth_chain, query)
    assert got
    assert all(span <= 4 for span, refused in proxy.counters.log_spans if not refused)


async def test_a_block_beyond_the_head_is_bad_input(client: ChainClient) -> None:
    head = (await client.block()).number
    with pytest.raises(InvalidInput, match="does not exist yet"):
        await pin_with_logs(client, head + 5, [LogQuery(None, ([V2_SYNC],), head + 1, head + 5)])


async def test_a_reorged_block_is_pinned_with_the_new_branchs_logs_and_kept_in_the_feed(
    eth_chain: DevnetChain, client: ChainClient
) -> None:
    trader = Trader.funded(eth_chain)
    tracker = await PoolTracker.start(client, all_refs(eth_chain))
    start = tracker.block.number + 1
    fork_point = rpc(eth_chain.rpc_url, "evm_snapshot")
    trade(trader, eth_chain, tracker)
    orphaned = await client.block()
    query = LogQuery(None, ([V2_SYNC],), start, orphaned.number)
    feed = LogFeed(1)
    before = await pin_with_logs(client, orphaned.number, [query], feed=feed)
    assert rpc(eth_chain.rpc_url, "evm_revert", [fork_point]) is True
    router, usdc, weth = eth_chain.contracts["UniswapV2Router02"], eth_chain.tokens["USDC"], eth_chain.tokens["WETH"]
    trader.v2_swap(router, weth, usdc, 3 * 10**18)  # another history, brought to the same height
    while (await client.block()).number < orphaned.number:
        rpc(eth_chain.rpc_url, "evm_mine")

    after = await pin_with_logs(client, orphaned.number, [query])
    assert after.block.hash != before.block.hash
    got = await after.reader("v2").logs(address=None, topics=[[V2_SYNC]], from_block=start)
    assert got == await own_logs(eth_chain, query)
    assert got
    kept = await before.reader("v2").logs(address=None, topics=[[V2_SYNC]], from_block=start)  # the old branch's
    assert {log["blockHash"] for log in kept} != {log["blockHash"] for log in got}
    assert feed.fetches == 1
    assert feed.claim([V2_SYNC], start, orphaned).fetch is None  # the orphaned branch's answer, kept for it alone
    assert feed.claim([V2_SYNC], start, after.block).fetch is not None


def test_logs_of_another_fork_than_the_header_are_told_apart() -> None:
    header, parent, other = "0x" + "aa" * 32, "0x" + "bb" * 32, "0x" + "cc" * 32

    def at(number: int, block_hash: str) -> Mapping[str, Any]:
        return {"blockNumber": hex(number), "blockHash": block_hash, "topics": [V2_SYNC]}

    assert logs_on_fork([at(8, other), at(9, parent), at(10, header)], 10, header.upper().replace("0X", "0x"), parent)
    assert not logs_on_fork([at(10, other)], 10, header, parent)  # the pinned block's logs from another fork
    assert not logs_on_fork([at(9, other), at(10, header)], 10, header, parent)  # its parent's from another fork
    assert logs_on_fork([at(9, other)], 10, header, None)  # no parent hash given: only the block itself is checked
