"""`PoolTracker`: a chain's routing pools kept in memory at a block and moved forward by their own events.

``advance`` asks for the logs of the pools' events since the last block in one ``eth_getLogs`` — through the
chain's `LogFeed` when it has one (shared with the indexer's snapshots: a block read by one is free for the
other), else by topic alone when the pools are too many for an address list (providers refuse more than
about 1,000 addresses), else with the pools' addresses — keeps the tracked pools' logs, applies them in
(block, logIndex) order with the pure appliers
(`protocols.uniswap.events`, `protocols.curve.events`), and re-reads only the pools an event could not be
applied to exactly. Before that it checks that the block it stands on is still the chain's block at that
height; if not (a reorg), it reloads every pool at the new head.

    tracker = await PoolTracker.start(client, refs)        # `load_pools` at the head, plus Curve A ramps
    tracker = await PoolTracker.start(client, refs, feed=feed)   # or reading logs through the chain's feed
    report = await tracker.advance(client)                 # to the new head
    tracker.pools, report.logs, report.requests, report.reloaded

Curve pools carry what their events move beyond the routing pool (`CurveBook`: the A ramp and the LP
supply); a pool whose ramp cannot be read, or does not reproduce ``A_precise``, is re-read every advance.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from defiscope.chain.block import BlockRef
from defiscope.chain.client import ChainClient, Snapshot
from defiscope.chain.errors import InvalidInput, MalformedResponse
from defiscope.chain.feed import LogFeed
from defiscope.chain.logs import log_hex
from defiscope.chain.multicall import Call
from defiscope.chain.reader import Batcher, Reader
from defiscope.protocols.curve.events import CurveBook, apply_curve, curve_topics
from defiscope.protocols.curve.math import AmpRamp, PoolState
from defiscope.protocols.pool_events import CannotApply, PoolLog
from defiscope.protocols.uniswap.events import V2_TOPICS, V3_TOPICS, apply_v2, apply_v3
from defiscope.routing.load import PoolRef, load_pools
from defiscope.routing.pools import CurvePool, Pool, V2Pool, V3Pool

#: Above this many pools, logs are asked by topic alone and matched to the pools here.
MAX_ADDRESS_FILTER: Final = 1_000
RAMP: Final = ("initial_A()(uint256)", "future_A()(uint256)", "initial_A_time()(uint256)", "future_A_time()(uint256)")


@dataclass(frozen=True, slots=True)
class AdvanceReport:
    """What one ``advance`` did and cost."""

    from_block: int
    to_block: int
    logs: int
    requests: int  # HTTP requests sent
    bytes: int  # sent and received
    reloaded: tuple[str, ...]  # pools read again (an event that did not apply, or untrackable)
    reorg: bool  # the tracked block was no longer on the chain: everything was reloaded


@dataclass(frozen=True, slots=True)
class _Loaded:
    pools: list[Pool]
    books: dict[str, CurveBook | None]  # Curve pools only; None: ramp unreadable, re-read every advance


class PoolTracker:
    def __init__(
        self, refs: Sequence[PoolRef], block: BlockRef, loaded: _Loaded, *, feed: LogFeed | None = None
    ) -> None:
        self.refs: Mapping[str, PoolRef] = {r.address: r for r in refs}
        self.block = block
        self._pools: dict[str, Pool] = {p.address: p for p in loaded.pools}
        self.books: dict[str, CurveBook | None] = dict(loaded.books)
        self.feed = feed
        if feed is not None:
            feed.subscribe(self.topics())  # whoever reads a block first fetches our events with theirs

    @classmethod
    async def start(
        cls, client: ChainClient, refs: Sequence[PoolRef], at: int | str = "latest", *, feed: LogFeed | None = None
    ) -> PoolTracker:
        block = await client.block(at)
        return cls(refs, block, await _load(client, refs, block), feed=feed)

    @property
    def pools(self) -> list[Pool]:
        """The routing pools at ``self.block``, in `load_pools` order."""
        return list(self._pools.values())

    def topics(self) -> list[str]:
        coins = sorted({len(p.coins) for p in self._pools.values() if isinstance(p, CurvePool)})
        found = [*V2_TOPICS, *V3_TOPICS, *(t for n in coins for t in curve_topics(n))]
        return list(dict.fromkeys(found))

    async def advance(self, client: ChainClient, to: int | str = "latest") -> AdvanceReport:
        """Follow the chain to block ``to``: apply the pools' logs since ``self.block``, or reload on a reorg."""
        requests, sent = _cost(client)
        start = self.block.number
        ours, head = await _blocks(client, self.block.number, to)
        reorg = ours is None or ours.hash != self.block.hash
        if not reorg and head.number < start:
            raise InvalidInput(f"cannot advance back from block {start} to {head.number}", chain_id=client.chain_id)
        logs: list[PoolLog] = []
        reloaded: tuple[str, ...] = ()
        if not reorg and head.number > start:
            logs = sorted(await self._logs(client, start + 1, head), key=lambda log: (log.block, log.index))
            # Logs of the head block from another fork than the head we read: the chain moved under us.
            reorg = any(log.block == head.number and log.block_hash != head.hash for log in logs)
        if reorg:
            loaded = await _load(client, list(self.refs.values()), head)
            self._pools = {p.address: p for p in loaded.pools}
            self.books = dict(loaded.books)
            reloaded = tuple(self._pools)
        else:
            reloaded = await self._apply(client, logs, head)
        self.block = head
        after_requests, after_sent = _cost(client)
        return AdvanceReport(
            start, head.number, len(logs), after_requests - requests, after_sent - sent, reloaded, reorg
        )

    async def _logs(self, client: ChainClient, from_block: int, head: BlockRef) -> list[PoolLog]:
        """The tracked pools' logs of [from_block, head], emitters spelled as tracked."""
        canonical = {a.lower(): a for a in self._pools}
        if self.feed is not None:
            raw = await self.feed.logs(client, self.topics(), from_block, head)
        elif len(self._pools) > MAX_ADDRESS_FILTER:
            raw = await client.get_logs(topics=[self.topics()], from_block=from_block, to_block=head.number)
        else:
            raw = await client.get_logs(
                address=list(self._pools), topics=[self.topics()], from_block=from_block, to_block=head.number
            )
            return [_tracked(PoolLog.parse(entry), canonical) for entry in raw]
        # Asked by topic alone: every emitter's logs came back; keep the tracked pools'.
        mine = [entry for entry in raw if log_hex(entry["address"]) in canonical]
        return [_tracked(PoolLog.parse(entry), canonical) for entry in mine]

    async def _apply(self, client: ChainClient, logs: Sequence[PoolLog], head: BlockRef) -> tuple[str, ...]:
        logs = await _with_timestamps(client, logs, {a for a, p in self._pools.items() if isinstance(p, CurvePool)})
        stale = {a for a, book in self.books.items() if book is None}
        for log in logs:
            address = log.address
            if address in stale:
                continue
            try:
                self._pools[address], book = _apply_log(self._pools[address], self.books.get(address), log)
            except CannotApply:
                stale.add(address)
                continue
            if book is not None:
                self.books[address] = book
        for address, book in self.books.items():
            pool = self._pools[address]
            if book is not None and address not in stale and isinstance(pool, CurvePool):
                # A moves with time while it ramps: the routing pool holds A at the head, as load_pools reads it.
                state = PoolState(book.balances, book.ramp.at(head.timestamp), 0)
                self._pools[address] = replace(pool, params=book.params, state=state)
        if stale:
            loaded = await _load(client, [self.refs[a] for a in stale], head)
            self._pools.update({p.address: p for p in loaded.pools})
            self.books.update(loaded.books)
        return tuple(a for a in self._pools if a in stale)


def _tracked(log: PoolLog, canonical: Mapping[str, str]) -> PoolLog:
    """The log with its emitter spelled as tracked (nodes return addresses lowercase)."""
    address = canonical.get(log.address.lower())
    if address is None:
        raise MalformedResponse(f"eth_getLogs returned a log of {log.address}, which was not asked for")
    return replace(log, address=address)


def _apply_log(pool: Pool, book: CurveBook | None, log: PoolLog) -> tuple[Pool, CurveBook | None]:
    if isinstance(pool, V2Pool):
        reserve0, reserve1 = apply_v2((pool.reserve0, pool.reserve1), log)
        return replace(pool, reserve0=reserve0, reserve1=reserve1), None
    if isinstance(pool, V3Pool):
        return replace(pool, state=apply_v3(pool.state, log)), None
    if isinstance(pool, CurvePool) and book is not None:
        return pool, apply_curve(book, log)
    raise CannotApply(f"no event applier for pool {pool.address} ({pool.dex})")


async def _load(client: ChainClient, refs: Sequence[PoolRef], block: BlockRef) -> _Loaded:
    """`load_pools` at ``block`` (pinned by hash), and the Curve pools' ramps and LP supplies with it."""
    reader = Batcher(Snapshot(client, block)).reader("tracker")
    curve = [r.address for r in refs if r.dex == "curve"]
    pools, extras = await asyncio.gather(load_pools(reader, refs), _curve_extras(reader, curve))
    books: dict[str, CurveBook | None] = {}
    for pool in pools:
        if isinstance(pool, CurvePool):
            ramp, supply = extras[pool.address]
            ok = ramp is not None and ramp.at(block.timestamp) == pool.state.amp
            books[pool.address] = CurveBook(pool.params, pool.state.balances, ramp, supply) if ok and ramp else None
    return _Loaded(pools, books)


async def _curve_extras(reader: Reader, pools: Sequence[str]) -> dict[str, tuple[AmpRamp | None, int | None]]:
    """Each pool's A ramp (None if a getter is missing) and LP supply (None if the pool is not its LP token)."""
    calls = [Call.of(p, signature) for p in pools for signature in (*RAMP, "totalSupply()(uint256)")]
    results = await reader.call_many(calls)
    extras: dict[str, tuple[AmpRamp | None, int | None]] = {}
    width = len(RAMP) + 1
    for k, pool in enumerate(pools):
        ramp_results, supply = results[k * width : k * width + len(RAMP)], results[k * width + len(RAMP)]
        ramp = AmpRamp(*(r.value[0] for r in ramp_results)) if all(r.success for r in ramp_results) else None
        extras[pool] = (ramp, supply.value[0] if supply.success else None)
    return extras


async def _blocks(client: ChainClient, ours: int, to: int | str) -> tuple[BlockRef | None, BlockRef]:
    """The chain's block at our height (None if gone) and the target block, in one batch."""
    target = hex(to) if isinstance(to, int) else to
    answers = await client.rpc.batch(
        [("eth_getBlockByNumber", [hex(ours), False]), ("eth_getBlockByNumber", [target, False])]
    )
    ours_raw, head_raw = (answer.unwrap() for answer in answers)
    if head_raw is None:
        return None, await client.block(to)  # not served yet: the client's lookup retries and explains
    return (_ref(client, ours_raw) if ours_raw is not None else None), _ref(client, head_raw)


def _ref(client: ChainClient, raw: Mapping[str, Any]) -> BlockRef:
    return BlockRef(client.chain_id, int(raw["number"], 16), str(raw["hash"]), int(raw["timestamp"], 16))


async def _with_timestamps(client: ChainClient, logs: Sequence[PoolLog], curve: set[str]) -> list[PoolLog]:
    """Curve logs need their block's time (A may ramp); fetch it in one batch where the node did not send it."""
    missing = sorted({log.block for log in logs if log.timestamp is None and log.address in curve})
    if not missing:
        return list(logs)
    answers = await client.rpc.batch([("eth_getBlockByNumber", [hex(n), False]) for n in missing])
    times = {n: int(a.unwrap()["timestamp"], 16) for n, a in zip(missing, answers, strict=True)}
    return [replace(log, timestamp=times[log.block]) if log.block in times else log for log in logs]


def _cost(client: ChainClient) -> tuple[int, int]:
    stats = client.rpc.stats().values()
    return sum(s.requests for s in stats), sum(s.bytes_sent + s.bytes_received for s in stats)


#: Finds the pools to follow at a block (`routing.discovery.discover_at`).
Discover = Callable[[ChainClient, BlockRef], Awaitable[Sequence[PoolRef]]]


class SharedTracker:
    """One `PoolTracker` for concurrent readers (the API's quotes): loaded on first use, then advanced
    under a lock to each block asked for, so concurrent requests never read the pools twice."""

    def __init__(
        self, refs: Sequence[PoolRef], discover: Discover | None = None, *, feed: LogFeed | None = None
    ) -> None:
        """``refs``: the pools to follow; if empty, ``discover`` finds them at the first block asked for.
        ``feed``: the chain's log feed, shared with the indexer, so a block's logs are read once."""
        self.refs = tuple(refs)
        self._discover = discover
        self.feed = feed
        self._tracker: PoolTracker | None = None
        self._lock = asyncio.Lock()

    async def pools_at(self, client: ChainClient, block: BlockRef) -> tuple[list[Pool], BlockRef]:
        """The pools at ``block``, or at the tracker's block if it is already past it (it never goes back)."""
        async with self._lock:
            if self._tracker is None:
                if not self.refs and self._discover is not None:
                    self.refs = tuple(await self._discover(client, block))
                self._tracker = await PoolTracker.start(client, self.refs, block.number, feed=self.feed)
            elif self._tracker.block.number < block.number:
                await self._tracker.advance(client, block.number)
            return self._tracker.pools, self._tracker.block
