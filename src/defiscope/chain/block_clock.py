"""Blocks by number and by time, read through a pinned `Reader` and remembered; a search asks its headers in
batches, so finding the first block at or after a time costs a round or two of one JSON-RPC batch each.

    clock = BlockClock()
    start = await clock.first_at_or_after(reader, reader.block.timestamp - 86_400)   # a day before the pinned block
    genesis = await clock.block(reader, 0)                  # one header, read once however many ask

The search narrows (lo, hi], lo the newest remembered block before the time and hi the oldest at or after it
(the reader's block at worst). Each round asks `PROBES_PER_ROUND` headers at once: a run where the time falls if
the blocks in between came at an even pace (on a chain with regular slots, the answer), and the middle, so that a
round at least halves the bracket whatever the pace. Timestamps never decrease along a chain. Indexing block after
block, the last answer is remembered and the next one lies a block or two after it: one round.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Final

from defiscope.chain.block import BlockRef
from defiscope.chain.reader import Reader

#: Headers asked in one round of a search (one JSON-RPC batch).
PROBES_PER_ROUND: Final = 8
#: Blocks the clock remembers before it forgets the oldest half.
MAX_KNOWN_BLOCKS: Final = 10_000


class BlockClock:
    """Blocks by number, and the first block at or after a time; remembers every block it read."""

    def __init__(self) -> None:
        self.known: dict[int, BlockRef] = {}
        self._fetching: dict[int, asyncio.Future[BlockRef]] = {}  # asked and not answered yet: asked once

    async def block(self, reader: Reader, number: int) -> BlockRef:
        """Block `number`, not after the reader's (read through it, once, however many ask at the same time)."""
        known = self.known.get(number)
        if known is not None:
            return known
        pending = self._fetching.get(number)
        if pending is not None:
            return await pending
        pending = self._fetching[number] = asyncio.ensure_future(reader.header(number))
        try:
            found = await pending
        finally:
            del self._fetching[number]
        if len(self.known) >= MAX_KNOWN_BLOCKS:
            for old in sorted(self.known)[: MAX_KNOWN_BLOCKS // 2]:
                del self.known[old]
        self.known[number] = found
        return found

    async def blocks(self, reader: Reader, numbers: Sequence[int]) -> list[BlockRef]:
        """Blocks by number; those not remembered are asked together (the reader's node reads of one turn go out
        in one batch)."""
        return list(await asyncio.gather(*(self.block(reader, n) for n in numbers)))

    async def first_at_or_after(self, reader: Reader, timestamp: int) -> BlockRef:
        """The first block with ``timestamp >= timestamp`` up to the reader's; block 0 must be older than it."""
        head = reader.block
        below = [b for b in self.known.values() if b.timestamp < timestamp and b.number < head.number]
        lo = max(below, key=lambda b: b.number) if below else await self.block(reader, 0)
        above = [b for b in self.known.values() if b.timestamp >= timestamp and lo.number < b.number <= head.number]
        hi = min(above, key=lambda b: b.number) if above else head
        while hi.number - lo.number > 1:
            for probe in await self.blocks(reader, probes(lo, hi, timestamp)):
                if probe.timestamp < timestamp:
                    lo = probe
                else:
                    hi = probe
                    break
        return hi


def probes(lo: BlockRef, hi: BlockRef, timestamp: int) -> list[int]:
    """The blocks one round asks, ascending, strictly between `lo` (before the time) and `hi` (at or after it): a
    run around the block the time falls at if lo..hi came at an even pace, and the middle."""
    inside = hi.number - lo.number - 1
    if inside <= PROBES_PER_ROUND:
        return list(range(lo.number + 1, hi.number))
    # The first block whose timestamp would reach the time at an even pace (a ceiling division).
    paced = lo.number - (-(timestamp - lo.timestamp) * (hi.number - lo.number) // max(hi.timestamp - lo.timestamp, 1))
    run = PROBES_PER_ROUND - 1
    first = min(max(paced - run // 2, lo.number + 1), hi.number - run)
    return sorted({*range(first, first + run), (lo.number + hi.number) // 2})
