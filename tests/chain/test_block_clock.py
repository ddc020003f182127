"""`BlockClock.first_at_or_after` on the devnet: the same block as a scan of every header, in few batched rounds.

Blocks are mined at a regular pace (where the even-pace guess of a round is the answer) and at an irregular one
(gaps of 1 to 40 s, runs of equal gaps); the window start S is then looked up as an indexer does, block after
block with one clock, and from a fresh clock per target. Each lookup's answer is checked against every header,
and its cost in HTTP requests is counted.
"""

from __future__ import annotations

import random

from defiscope.chain.block import BlockRef
from defiscope.chain.block_clock import BlockClock
from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.devnet.anvil import rpc
from defiscope.devnet.world import DevnetChain

WINDOW = 120  # seconds


def mine_at(url: str, timestamps: list[int]) -> None:
    for timestamp in timestamps:
        rpc(url, "evm_setNextBlockTimestamp", [timestamp])
        rpc(url, "evm_mine")


def first_at_or_after(headers: list[BlockRef], timestamp: int) -> BlockRef:
    """The answer by scanning every header."""
    return next(b for b in headers if b.timestamp >= timestamp)


async def every_header(client: ChainClient, first: int, last: int) -> list[BlockRef]:
    reader = Batcher(await client.snapshot(last)).reader("headers")
    return await reader.headers(list(range(first, last + 1)))


async def test_window_starts_equal_a_scan_of_every_header_at_one_request_a_block(
    client: ChainClient, eth_chain: DevnetChain
) -> None:
    url = eth_chain.rpc_url
    head = await client.block()
    pace = random.Random(5)
    regular = [head.timestamp + 12 * i for i in range(1, 41)]
    gaps = [pace.choice((1, 2, 12, 12, 12, 40)) for _ in range(60)]
    irregular = [regular[-1] + sum(gaps[: i + 1]) for i in range(len(gaps))]
    mine_at(url, regular + irregular)
    last = head.number + len(regular) + len(irregular)
    headers = await every_header(client, 0, last)

    clock = BlockClock()
    for followed, number in enumerate(range(head.number + 20, last + 1)):  # block after block, as an indexer asks
        reader = Batcher(await client.snapshot(number)).reader("lp")
        target = reader.block.timestamp - WINDOW
        before = client.rpc.total_requests()
        found = await clock.first_at_or_after(reader, target)
        assert found == first_at_or_after(headers, target), number
        cost = client.rpc.total_requests() - before
        if followed:  # after the first lookup, S is a block or a few after the last one: one batch at most
            assert cost <= 1, (number, cost)

    pinned = Batcher(await client.snapshot(last)).reader("lp")
    for target in range(head.timestamp + 1, pinned.block.timestamp + 1, 37):  # fresh clocks, anywhere
        fresh = BlockClock()
        await fresh.block(pinned, head.number)
        before = client.rpc.total_requests()
        assert await fresh.first_at_or_after(pinned, target) == first_at_or_after(headers, target), target
        # A bisection one header at a time would take up to log2(span) rounds; batches of 8 with the even-pace
        # guess and the middle take a few.
        assert client.rpc.total_requests() - before <= 4, target
