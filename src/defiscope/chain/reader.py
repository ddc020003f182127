"""Block-pinned readers that coalesce concurrent calls into one request and record what they read.

Many adapters (and price sources) run concurrently against one pinned block. Each gets its own `Reader`
(so each keeps its own provenance), but all share one `Batcher`: calls issued in the same turn of the
event loop go out together as one Multicall3 batch — one HTTP request for every protocol on a chain.
Log queries issued together likewise go out as one JSON-RPC batch of `eth_getLogs` (short ranges: a
block's new logs), after `log_plan.merge` has folded the topic0-only ones ending at the same block into as
few queries as it can (every address-less one into one query over their topics' union) and each reader
takes back only what its own filter selects; long ranges (first scans) go alone through the client's
range-splitting `get_logs`. With the chain's `LogFeed` (``Batcher(snapshot, feed=feed)``) the block's
address-less query is read through it: once for every subscriber, such as the routing tracker.

    batcher = Batcher(await client.snapshot())
    uni, treasury = batcher.reader("uniswap-v2"), batcher.reader("treasury")
    pairs, balances = await asyncio.gather(uni.call_many(pair_calls), treasury.call_many(balance_calls))
    uni.records   # the calls uniswap-v2 made, with decoded results, for `defiscope explain`
    logs = await uni.logs(address=factory, topics=[topic0], from_block=100)   # up to the pinned block

A reader never hands out its client: what else an adapter needs from the node goes through it too, pinned and
recorded. `reader.at(older)` reads another (older) block of the same chain into the same provenance (each call
recorded with its block), batched with every other reader at that block; `headers`, `code` and `has_state` read
block headers, an account's code and whether the node still serves a block's state, coalesced into one JSON-RPC
batch per turn (`node_reads` keeps what they asked):

    start = await uni.header(100)                        # a block before the pinned one
    then = uni.at(start)                                  # pinned to block 100, recording into uni's provenance
    reserves = await then.call(Call.of(pair, "getReserves()(uint112,uint112,uint32)"))
    reserves.block == start, uni.records[-1] is reserves  # True, True
    await then.code(pair), await then.has_state()         # code at block 100; False on a node that pruned it
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, Protocol

from eth_utils import keccak

from defiscope.chain.block import BlockRef
from defiscope.chain.client import Snapshot, block_param, block_ref
from defiscope.chain.errors import (
    AllEndpointsFailed,
    BlockUnavailable,
    ChainError,
    InvalidInput,
    StateUnavailable,
)
from defiscope.chain.feed import Claim, LogFeed
from defiscope.chain.log_plan import LogQuery, Merged, covers, merge, select
from defiscope.chain.multicall import Call, CallResult, chunk_calls
from defiscope.chain.rpc import RpcResponse

#: Event-loop turns the batcher waits before flushing, so tasks started together all get to enqueue.
SETTLE_TURNS = 3
#: Log queries over at most this many blocks share one JSON-RPC batch; longer ones are sent alone, so the
#: client can split their range when a node refuses it.
BATCHED_LOG_SPAN: Final = 1_000
#: The account whose balance probes whether a node serves a block's state (any account answers when it does).
ZERO_ADDRESS: Final = "0x0000000000000000000000000000000000000000"


@dataclass(frozen=True, slots=True)
class NodeRead:
    """One read of the node that is not a contract call (a block header, an account's code, a state probe), kept
    for provenance beside the calls: what was asked, at which block, and what came back or why nothing did."""

    method: str  # the JSON-RPC method
    subject: str  # the block number asked for, or the account
    block: int  # the block it was read at (a header: its own number)
    answer: str  # a header's hash, the code's keccak, "state served"; or why there is none
    success: bool = True


@dataclass(slots=True)
class _PendingNodeRead:
    request: tuple[str, list[Any]]
    future: asyncio.Future[RpcResponse]


@dataclass(slots=True)
class _Pending:
    calls: Sequence[Call]
    future: asyncio.Future[list[CallResult]]


@dataclass(slots=True)
class _PendingLogs:
    query: LogQuery
    future: asyncio.Future[list[Mapping[str, Any]]]


@dataclass(frozen=True, slots=True)
class _LogGroup:
    """One query sent for the pending filters it answers (`log_plan.merge`)."""

    query: LogQuery
    members: tuple[_PendingLogs, ...]
    exact: bool  # the query is its one member's own filter: its answer needs no selection
    claim: Claim | None = None  # its range in the chain's log feed: the answer is filled in for every waiter

    @property
    def span(self) -> int:
        return self.query.span

    def resolve(self, logs: Sequence[Mapping[str, Any]]) -> None:
        if self.claim is not None and self.claim.fetch is not None:
            self.claim.fill(logs)
        for member in self.members:
            if not member.future.done():
                member.future.set_result(list(logs) if self.exact else select(member.query, logs))

    def fail(self, exc: BaseException) -> None:
        if self.claim is not None and isinstance(exc, Exception):
            self.claim.fail(exc)
        elif self.claim is not None:
            self.claim.abandon()
        for member in self.members:
            if not member.future.done():
                member.future.set_exception(exc)


class Batcher:
    """Collects the calls of concurrent readers and sends them as one `call_many` at the pinned block.

    With a `LogFeed` (the chain's, shared with the routing tracker), the block's address-less log queries
    are read through it: fetched once for every subscriber, or served from memory if one already did."""

    def __init__(self, snapshot: Snapshot, *, feed: LogFeed | None = None) -> None:
        if feed is not None and feed.chain_id != snapshot.client.chain_id:
            raise InvalidInput(
                f"the log feed of chain {feed.chain_id} cannot serve a snapshot of chain {snapshot.client.chain_id}"
            )
        self.snapshot = snapshot
        self.feed = feed
        self._pending: list[_Pending] = []
        self._flush: asyncio.Task[None] | None = None
        self._pending_logs: list[_PendingLogs] = []
        self._log_flush: asyncio.Task[None] | None = None
        self.flushes = 0  # how many batches went out (for tests and benchmarks)
        self._pending_node_reads: list[_PendingNodeRead] = []
        self._node_flush: asyncio.Task[None] | None = None
        # `at` keeps one batcher per other block on the batcher it was first asked of (the origin), so every
        # reader asking at a block shares its batches; node reads of every block go out in the origin's batch.
        self._origin: Batcher = self
        self._others: dict[BlockRef, Batcher] = {}
        #: The block's short topic0 queries, as asked (before merging): the filters the next block will ask again.
        self.asked: list[LogQuery] = []
        self._preloaded: list[tuple[LogQuery, list[Mapping[str, Any]]]] = []

    @property
    def block(self) -> BlockRef:
        return self.snapshot.block

    def reader(self, scope: str) -> Reader:
        return Reader(self, scope)

    def at(self, block: BlockRef) -> Batcher:
        """The batcher of another block of the same chain: one per block, shared by every reader asking there."""
        origin = self._origin
        if block == origin.block:
            return origin
        other = origin._others.get(block)
        if other is None:
            other = origin._others[block] = Batcher(Snapshot(origin.snapshot.client, block))
            other._origin = origin
        return other

    async def node_read(self, method: str, params: list[Any]) -> RpcResponse:
        """One JSON-RPC read besides calls and logs (a header, code, a state probe), its parameters pinned by the
        caller; those issued in the same turn, at any block, go out as one batch. The answer, or the node's error
        for it; a failure to get any answer raises."""
        origin = self._origin
        future: asyncio.Future[RpcResponse] = asyncio.get_running_loop().create_future()
        origin._pending_node_reads.append(_PendingNodeRead((method, params), future))
        if origin._node_flush is None:
            origin._node_flush = asyncio.create_task(origin._flush_node_reads_soon())
        return await future

    async def _flush_node_reads_soon(self) -> None:
        for _ in range(SETTLE_TURNS):
            await asyncio.sleep(0)
        pending, self._pending_node_reads, self._node_flush = self._pending_node_reads, [], None
        rpc = self.snapshot.client.rpc
        try:
            answers = await rpc.batch([p.request for p in pending])
        except ChainError as exc:
            if len(pending) == 1:
                pending[0].future.set_exception(exc)
                return
            # A transient item error (a state the node lacks) fails the whole batch, retried as one: ask each
            # alone, so that each waiter gets its own answer or error.
            await asyncio.gather(*(self._node_read_alone(p) for p in pending))
            return
        except BaseException as exc:
            for p in pending:
                if not p.future.done():
                    p.future.set_exception(exc)
            raise
        for p, answer in zip(pending, answers, strict=True):
            if not p.future.done():
                p.future.set_result(answer)

    async def _node_read_alone(self, pending: _PendingNodeRead) -> None:
        try:
            (answer,) = await self.snapshot.client.rpc.batch([pending.request])
        except BaseException as exc:
            if not pending.future.done():
                pending.future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        if not pending.future.done():
            pending.future.set_result(answer)

    async def call_many(self, calls: Sequence[Call]) -> list[CallResult]:
        if not calls:
            return []
        future: asyncio.Future[list[CallResult]] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(calls, future))
        if self._flush is None:
            self._flush = asyncio.create_task(self._flush_soon())
        return await future

    async def call_many_with_node_reads(self, calls: Sequence[Call]) -> list[CallResult]:
        """The calls as Multicall3 aggregates inside the turn's node-read batch, so that they share one HTTP request
        with the code, storage and log reads asked beside them (a read that needs all of them at once, round after
        round: `protocols.control.rounds`). Without a Multicall3 they go the usual way."""
        client = self.snapshot.client
        if not calls or client.multicall is None:
            return await self.call_many(calls)
        block = block_param(self.block)
        chunks = chunk_calls(
            calls, max_calls=client.max_calls_per_multicall, max_calldata_bytes=client.max_calldata_bytes
        )
        answers = await asyncio.gather(*(self.node_read(*client.aggregate_request(chunk, block)) for chunk in chunks))
        # An aggregate that failed as a whole is split and asked again (its own requests), as `call_many` does.
        parts = await asyncio.gather(
            *(client.settle_aggregate(chunk, answer, block) for chunk, answer in zip(chunks, answers, strict=True))
        )
        return [result for part in parts for result in part]

    async def logs_with_node_reads(self, query: LogQuery) -> list[Mapping[str, Any]]:
        """The logs of ``query`` asked inside the turn's node-read batch; a query the node refuses there (a range or
        result cap) is asked again alone, where the client splits its range."""
        if query.from_block > query.to_block:
            return []
        answer = await self.node_read("eth_getLogs", [query.params()])
        if answer.error is None and isinstance(answer.result, list):
            return list(answer.result)
        return await self.snapshot.client.get_logs(
            address=query.address if isinstance(query.address, str | None) else list(query.address),
            topics=query.topics,
            from_block=query.from_block,
            to_block=query.to_block,
        )

    def preload(self, query: LogQuery, logs: Sequence[Mapping[str, Any]]) -> None:
        """The node's answer to ``query`` (a topic0 filter ending at the pinned block), read with the block's header
        (`chain.pinning`): every later query it covers is served from it, as the node would have answered."""
        self._preloaded.append((query, list(logs)))

    async def logs(self, query: LogQuery) -> list[Mapping[str, Any]]:
        if query.from_block > query.to_block:
            return []
        if query.to_block == self.block.number and query.span < BATCHED_LOG_SPAN and query.topic0s() is not None:
            self.asked.append(query)
        answer = next((logs for wide, logs in self._preloaded if covers(wide, query)), None)
        if answer is not None:
            return select(query, answer)
        future: asyncio.Future[list[Mapping[str, Any]]] = asyncio.get_running_loop().create_future()
        self._pending_logs.append(_PendingLogs(query, future))
        if self._log_flush is None:
            self._log_flush = asyncio.create_task(self._flush_logs_soon())
        return await future

    async def _flush_logs_soon(self) -> None:
        for _ in range(SETTLE_TURNS):
            await asyncio.sleep(0)
        pending, self._pending_logs, self._log_flush = self._pending_logs, [], None
        queries = [p.query for p in pending]
        groups = [self._through_feed(_group(m, queries, pending)) for m in merge(queries, BATCHED_LOG_SPAN)]
        fed: list[_LogGroup] = []  # served by the feed: kept, or being fetched by another consumer
        sent: list[_LogGroup] = []
        for group in groups:
            (fed if group.claim is not None and group.claim.fetch is None else sent).append(group)
        short = [g for g in sent if g.span < BATCHED_LOG_SPAN]
        long = [g for g in sent if g.span >= BATCHED_LOG_SPAN]
        if len(short) < 2:  # a batch of one is a plain request, which can also be range-split
            short, long = [], long + short
        try:
            await asyncio.gather(
                self._send_logs_together(short),
                *(self._send_logs_alone(g) for g in long),
                *(self._from_feed(g) for g in fed),
            )
        finally:  # cancelled before a send ran: the feed's other waiters must not wait for it forever
            for group in sent:
                if group.claim is not None:
                    group.claim.abandon()

    def _through_feed(self, group: _LogGroup) -> _LogGroup:
        """A block's address-less topic query is claimed in the feed: served by it, or sent for every subscriber
        (first scans are not: too big to keep)."""
        query = group.query
        topics = query.topic0s()
        if (
            self.feed is None
            or query.address is not None
            or topics is None
            or query.to_block != self.block.number
            or group.span >= BATCHED_LOG_SPAN
        ):
            return group
        claim = self.feed.claim(topics, query.from_block, self.block)
        return replace(group, query=claim.fetch or query, exact=False, claim=claim)

    async def _from_feed(self, group: _LogGroup) -> None:
        assert group.claim is not None
        await _settle(group, group.claim.logs(group.query.topic0s() or (), group.query.from_block))

    async def _send_logs_together(self, groups: Sequence[_LogGroup]) -> None:
        if not groups:
            return
        client = self.snapshot.client
        try:
            answers = await client.rpc.batch([("eth_getLogs", [g.query.params()]) for g in groups])
        except BaseException as exc:
            for group in groups:
                group.fail(exc)
            if not isinstance(exc, Exception):
                raise
            return
        # An item the node refused (a result cap, say) is retried alone, where its range can be split.
        refused = []
        for group, answer in zip(groups, answers, strict=True):
            if answer.error is None:
                group.resolve(answer.result)
            else:
                refused.append(group)
        await asyncio.gather(*(self._send_logs_alone(g) for g in refused))

    async def _send_logs_alone(self, group: _LogGroup) -> None:
        query = group.query
        fetch = self.snapshot.client.get_logs(
            address=query.address if isinstance(query.address, str | None) else list(query.address),
            topics=query.topics,
            from_block=query.from_block,
            to_block=query.to_block,
        )
        await _settle(group, fetch)

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


def _group(merged: Merged, queries: Sequence[LogQuery], pending: Sequence[_PendingLogs]) -> _LogGroup:
    return _LogGroup(merged.query, tuple(pending[i] for i in merged.members), merged.alone(queries))


async def _settle(group: _LogGroup, fetch: Awaitable[Sequence[Mapping[str, Any]]]) -> None:
    """Resolve the group with what `fetch` returns, or fail it with why; a cancellation still propagates."""
    try:
        found = await fetch
    except BaseException as exc:
        group.fail(exc)
        if not isinstance(exc, Exception):
            raise
        return
    group.resolve(found)


class CallReader(Protocol):
    """View calls at one block: a `Reader`, or reads that go out with others in rounds (`protocols.control.rounds`,
    where a risk profile reads its governance beside its control surface)."""

    @property
    def block(self) -> BlockRef: ...

    async def call_many(self, calls: Sequence[Call]) -> list[CallResult]: ...

    async def values(self, calls: Sequence[Call]) -> list[Any]: ...


@dataclass(slots=True)
class Reader:
    """One consumer's view of a batcher: same block, same batches, its own record of calls."""

    batcher: Batcher
    scope: str
    records: list[CallResult] = field(default_factory=list)
    log_queries: list[LogQuery] = field(default_factory=list)  # what `logs` asked, for provenance
    node_reads: list[NodeRead] = field(default_factory=list)  # headers, code and state probes, for provenance
    #: The block of the reader `at` made this one from, whose provenance it shares (None: made by a batcher).
    origin: BlockRef | None = None

    @property
    def block(self) -> BlockRef:
        return self.batcher.block

    @property
    def chain_id(self) -> int:
        return self.batcher.block.chain_id

    def at(self, block: BlockRef) -> Reader:
        """This reader at another block of the same chain, not after the one it was pinned to first: same scope,
        same provenance (its calls recorded with `block`), batched with every reader at `block`."""
        origin = self.origin or self.block
        if block.chain_id != origin.chain_id:
            raise InvalidInput(
                f"a reader of chain {origin.chain_id} cannot read block {block.number} of chain {block.chain_id}",
                chain_id=origin.chain_id,
            )
        if block.number > origin.number or (block.number == origin.number and block.hash != origin.hash):
            raise InvalidInput(
                f"block {block.number} ({block.hash}) is not at or before the pinned block {origin.number} "
                f"({origin.hash}): a reader reads its own block or older ones",
                chain_id=origin.chain_id,
            )
        at_origin = block == origin
        return Reader(
            self.batcher.at(block),
            self.scope,
            self.records,
            self.log_queries,
            self.node_reads,
            None if at_origin else origin,
        )

    async def call_many(self, calls: Sequence[Call], *, with_node_reads: bool = False) -> list[CallResult]:
        """Results in the order of ``calls``, coalesced with every reader's calls of the turn into one multicall
        request; ``with_node_reads``: into the turn's node-read batch instead (`Batcher.call_many_with_node_reads`)."""
        batcher = self.batcher
        results = await (batcher.call_many_with_node_reads(calls) if with_node_reads else batcher.call_many(calls))
        if self.origin is not None:  # read at another block than the provenance's own: say which
            results = [replace(result, block=self.block) for result in results]
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
        with_node_reads: bool = False,
    ) -> list[Mapping[str, Any]]:
        """Logs of [from_block, to_block] (default: up to the pinned block), coalesced with other readers';
        ``with_node_reads``: asked in the turn's node-read batch (see `Batcher.logs_with_node_reads`)."""
        pinned = self.block.number
        end = pinned if to_block is None else min(to_block, pinned)
        where = address if isinstance(address, str | None) else tuple(address)
        query = LogQuery(where, None if topics is None else tuple(topics), from_block, end)
        self.log_queries.append(query)
        if with_node_reads:
            return await self.batcher.logs_with_node_reads(query)
        return await self.batcher.logs(query)

    async def values(self, calls: Sequence[Call]) -> list[Any]:
        """Single outputs of calls that must all succeed; the first failure raises naming its call."""
        return [result.one() for result in await self.call_many(calls)]

    async def header(self, number: int) -> BlockRef:
        """Block `number` (not after the reader's block): number, hash and timestamp."""
        (found,) = await self.headers([number])
        return found

    async def headers(self, numbers: Sequence[int]) -> list[BlockRef]:
        """Blocks by number, none after the reader's block (which costs no request), asked in one batch."""
        pinned = self.block
        beyond = [n for n in numbers if not 0 <= n <= pinned.number]
        if beyond:
            raise InvalidInput(
                f"block {beyond[0]} is not in 0..{pinned.number}: a reader reads its own block or older ones",
                chain_id=pinned.chain_id,
            )
        asked = sorted(set(numbers) - {pinned.number})
        answers = await asyncio.gather(
            *(self.batcher.node_read("eth_getBlockByNumber", [hex(n), False]) for n in asked)
        )
        found = {pinned.number: pinned}
        for number, answer in zip(asked, answers, strict=True):
            found[number] = self._header(number, answer)
        return [found[n] for n in numbers]

    def _header(self, number: int, answer: RpcResponse) -> BlockRef:
        read = NodeRead("eth_getBlockByNumber", str(number), number, "")
        if answer.error is not None:
            raise self._failed(read, answer.error)
        if answer.result is None:
            why = f"the node did not return block {number}, below the pinned block {self.block.number}"
            raise self._failed(read, BlockUnavailable(why, chain_id=self.chain_id))
        found = block_ref(self.chain_id, answer.result)
        self.node_reads.append(replace(read, answer=found.hash))
        return found

    async def code(self, address: str) -> bytes:
        """The account's code at the reader's block (empty: no contract there)."""
        read = NodeRead("eth_getCode", address, self.block.number, "")
        answer = await self.batcher.node_read("eth_getCode", [address, block_param(self.block)])
        if answer.error is not None:
            raise self._failed(read, answer.error)
        code = bytes.fromhex(str(answer.result)[2:])  # shape checked by the RPC layer: even-length hex
        self.node_reads.append(replace(read, answer="0x" + keccak(code).hex()))
        return code

    async def storage(self, address: str, slot: int) -> int:
        """The 32-byte word in the account's storage ``slot`` at the reader's block, as an unsigned integer (an
        EIP-1967 proxy keeps its implementation and admin there, out of any function's reach)."""
        read = NodeRead("eth_getStorageAt", f"{address}[{hex(slot)}]", self.block.number, "")
        answer = await self.batcher.node_read("eth_getStorageAt", [address, hex(slot), block_param(self.block)])
        if answer.error is not None:
            raise self._failed(read, answer.error)
        word = str(answer.result)[2:]  # shape checked by the RPC layer: even-length hex
        self.node_reads.append(replace(read, answer="0x" + word))
        return int(word or "0", 16)

    async def has_state(self) -> bool:
        """Whether the node serves state at the reader's block: a pruned node (or an anvil loaded from a state dump)
        keeps none for old blocks and answers with an error, which is its answer, not a failure to reach it."""
        probe = NodeRead("eth_getBalance", ZERO_ADDRESS, self.block.number, "state served")
        try:
            answer = await self.batcher.node_read("eth_getBalance", [ZERO_ADDRESS, block_param(self.block)])
        except (StateUnavailable, AllEndpointsFailed) as exc:
            if isinstance(exc, AllEndpointsFailed) and not all(isinstance(e, StateUnavailable) for e in exc.errors):
                raise
            self._failed(probe, exc)
            return False
        if answer.error is not None:
            self._failed(probe, answer.error)
            return False
        self.node_reads.append(probe)
        return True

    def _failed(self, read: NodeRead, error: ChainError) -> ChainError:
        """Keep `read` as failed with why; the error, for the caller to raise or not."""
        self.node_reads.append(replace(read, answer=str(error), success=False))
        return error
