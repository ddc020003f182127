"""Block-pinned readers that coalesce concurrent calls into one request and record what they read.

Many adapters (and price sources) run concurrently against one pinned block. Each gets its own `Reader`
(so each keeps its own provenance), but all share one `Batcher`: calls issued in the same turn of the
event loop go out together as one Multicall3 batch — one HTTP request for every protocol on a chain.
Log queries issued together likewise go out as one JSON-RPC batch of `eth_getLogs` (short ranges: a
block's new logs); long ranges (first scans) go alone through the client's range-splitting `get_logs`.

    batcher = Batcher(await client.snapshot())
    uni, treasury = batcher.reader("uniswap-v2"), batcher.reader("treasury")
    pairs, balances = await asyncio.gather(uni.call_many(pair_calls), treasury.call_many(balance_calls))
    uni.records   # the calls uniswap-v2 made, with decoded results, for `defiscope explain`
    logs = await uni.logs(address=factory, topics=[topic0], from_block=100)   # up to the pinned block
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from defiscope.chain.block import BlockRef
from defiscope.chain.client import Snapshot
from defiscope.chain.multicall import Call, CallResult

#: Event-loop turns the batcher waits before flushing, so tasks started together all get to enqueue.
SETTLE_TURNS = 3
#: Log queries over at most this many blocks share one JSON-RPC batch; longer ones are sent alone, so the
#: client can split their range when a node refuses it.
BATCHED_LOG_SPAN: Final = 1_000


@dataclass(frozen=True, slots=True)
class LogQuery:
    """One `eth_getLogs` filter over [from_block, to_block]."""

    address: str | tuple[str, ...] | None
    topics: tuple[Any, ...] | None
    from_block: int
    to_block: int

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"fromBlock": hex(self.from_block), "toBlock": hex(self.to_block)}
        if self.address is not None:
            params["address"] = self.address if isinstance(self.address, str) else list(self.address)
        if self.topics is not None:
            params["topics"] = list(self.topics)
        return params


@dataclass(slots=True)
class _Pending:
    calls: Sequence[Call]
    future: asyncio.Future[list[CallResult]]


@dataclass(slots=True)
class _PendingLogs:
    query: LogQuery
    future: asyncio.Future[list[Mapping[str, Any]]]


class Batcher:
    """Collects the calls of concurrent readers and sends them as one `call_many` at the pinned block."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._pending: list[_Pending] = []
        self._flush: asyncio.Task[None] | None = None
        self._pending_logs: list[_PendingLogs] = []
        self._log_flush: asyncio.Task[None] | None = None
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

    async def logs(self, query: LogQuery) -> list[Mapping[str, Any]]:
        if query.from_block > query.to_block:
            return []
        future: asyncio.Future[list[Mapping[str, Any]]] = asyncio.get_running_loop().create_future()
        self._pending_logs.append(_PendingLogs(query, future))
        if self._log_flush is None:
            self._log_flush = asyncio.create_task(self._flush_logs_soon())
        return await future

    async def _flush_logs_soon(self) -> None:
        for _ in range(SETTLE_TURNS):
            await asyncio.sleep(0)
        pending, self._pending_logs, self._log_flush = self._pending_logs, [], None
        short = [p for p in pending if p.query.to_block - p.query.from_block < BATCHED_LOG_SPAN]
        long = [p for p in pending if p.query.to_block - p.query.from_block >= BATCHED_LOG_SPAN]
        if len(short) < 2:  # a batch of one is a plain request, which can also be range-split
            short, long = [], long + short
        await asyncio.gather(self._send_logs_together(short), *(self._send_logs_alone(p) for p in long))

    async def _send_logs_together(self, pending: Sequence[_PendingLogs]) -> None:
        if not pending:
            return
        client = self.snapshot.client
        try:
            answers = await client.rpc.batch([("eth_getLogs", [p.query.params()]) for p in pending])
        except BaseException as exc:
            _fail(pending, exc)
            if not isinstance(exc, Exception):
                raise
            return
        # An item the node refused (a result cap, say) is retried alone, where its range can be split.
        refused = []
        for p, answer in zip(pending, answers, strict=True):
            if answer.error is None:
                _resolve(p, answer.result)
            else:
                refused.append(p)
        await asyncio.gather(*(self._send_logs_alone(p) for p in refused))

    async def _send_logs_alone(self, pending: _PendingLogs) -> None:
        query = pending.query
        try:
            found = await self.snapshot.client.get_logs(
                address=query.address if isinstance(query.address, str | None) else list(query.address),
                topics=query.topics,
                from_block=query.from_block,
                to_block=query.to_block,
            )
        except BaseException as exc:
            _fail([pending], exc)
            if not isinstance(exc, Exception):
                raise
            return
        _resolve(pending, found)

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


def _resolve(pending: _PendingLogs, logs: Any) -> None:
    if not pending.future.done():
        pending.future.set_result(list(logs))


def _fail(pending: Sequence[_PendingLogs], exc: BaseException) -> None:
    for p in pending:
        if not p.future.done():
            p.future.set_exception(exc)


@dataclass(slots=True)
class Reader:
    """One consumer's view of a batcher: same block, same batches, its own record of calls."""

    batcher: Batcher
    scope: str
    records: list[CallResult] = field(default_factory=list)
    log_queries: list[LogQuery] = field(default_factory=list)  # what `logs` asked, for provenance

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

    async def logs(
        self,
        *,
        address: str | Sequence[str] | None,
        topics: Sequence[Any] | None,
        from_block: int,
        to_block: int | None = None,
    ) -> list[Mapping[str, Any]]:
        """Logs of [from_block, to_block] (default: up to the pinned block), coalesced with other readers'."""
        pinned = self.block.number
        end = pinned if to_block is None else min(to_block, pinned)
        where = address if isinstance(address, str | None) else tuple(address)
        query = LogQuery(where, None if topics is None else tuple(topics), from_block, end)
        self.log_queries.append(query)
        return await self.batcher.logs(query)

    async def values(self, calls: Sequence[Call]) -> list[Any]:
        """Single outputs of calls that must all succeed; the first failure raises naming its call."""
        return [result.one() for result in await self.call_many(calls)]
