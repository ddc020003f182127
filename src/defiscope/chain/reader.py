"""Block-pinned readers that coalesce concurrent calls into one request and record what they read.

Many adapters (and price sources) run concurrently against one pinned block. Each gets its own `Reader`
(so each keeps its own provenance), but all share one `Batcher`: calls issued in the same turn of the
event loop go out together as one Multicall3 batch — one HTTP request for every protocol on a chain.

    batcher = Batcher(await client.snapshot())
    uni, treasury = batcher.reader("uniswap-v2"), batcher.reader("treasury")
    pairs, balances = await asyncio.gather(uni.call_many(pair_calls), treasury.call_many(balance_calls))
    uni.records   # the calls uniswap-v2 made, with decoded results, for `defiscope explain`
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from defiscope.chain.block import BlockRef
from defiscope.chain.client import Snapshot
from defiscope.chain.multicall import Call, CallResult

#: Event-loop turns the batcher waits before flushing, so tasks started together all get to enqueue.
SETTLE_TURNS = 3


@dataclass(slots=True)
class _Pending:
    calls: Sequence[Call]
    future: asyncio.Future[list[CallResult]]


class Batcher:
    """Collects the calls of concurrent readers and sends them as one `call_many` at the pinned block."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._pending: list[_Pending] = []
        self._flush: asyncio.Task[None] | None = None
        self.flushes = 0  # how many batches went out (for tests and benchmarks)

    @property
    def block(self) -> BlockRef:
        return self.snapshot.block

    def reader(self, scope: str) -> Reader:
        return Reader(self, scope)

    async def call_many(self, calls: Sequence[Call]) -> list[CallResult]:
        if not calls:
            return []
        future: asyncio.Future[list[CallResult]] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(calls, future))
        if self._flush is None:
            self._flush = asyncio.create_task(self._flush_soon())
        return await future

    async def _flush_soon(self) -> None:
        for _ in range(SETTLE_TURNS):
            await asyncio.sleep(0)
        pending, self._pending, self._flush = self._pending, [], None
        self.flushes += 1
        try:
            results = await self.snapshot.call_many([c for p in pending for c in p.calls])
        except BaseException as exc:  # every waiter learns why; none is left hanging
            for p in pending:
                if not p.future.done():
                    p.future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        start = 0
        for p in pending:
            if not p.future.done():
                p.future.set_result(results[start : start + len(p.calls)])
            start += len(p.calls)


@dataclass(slots=True)
class Reader:
    """One consumer's view of a batcher: same block, same batches, its own record of calls."""

    batcher: Batcher
    scope: str
    records: list[CallResult] = field(default_factory=list)

    @property
    def block(self) -> BlockRef:
        return self.batcher.block

    @property
    def chain_id(self) -> int:
        return self.batcher.block.chain_id

    async def call_many(self, calls: Sequence[Call]) -> list[CallResult]:
        results = await self.batcher.call_many(calls)
        self.records.extend(results)
        return results

    async def call(self, call: Call) -> CallResult:
        (result,) = await self.call_many([call])
        return result

    async def values(self, calls: Sequence[Call]) -> list[Any]:
        """Single outputs of calls that must all succeed; the first failure raises naming its call."""
        return [result.one() for result in await self.call_many(calls)]
