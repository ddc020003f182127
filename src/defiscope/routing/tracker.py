"""`PoolTracker`: routing pools kept in memory at a block and moved forward by their own events.

``follow`` moves it to a block-pinned `Reader`'s block, in that reader's batches: it asks for the logs of
the pools' events since its block in one ``eth_getLogs`` — by topic alone through the chain's `LogFeed` (shared
with the indexer's snapshots) or when the pools are too many for an address list (providers refuse more than
about 1,000 addresses), else with the pools' addresses — keeps the tracked pools' logs, applies them in
(block, logIndex) order with the pure appliers (`protocols.uniswap.events`, `protocols.curve.events`), and
re-reads only the pools an event could not be applied to exactly. Its reorg check (Multicall3's hash of the
block it stands on) goes in the reader's multicall; if that block is no longer the chain's, it reloads every
pool. So inside a snapshot's `Batcher` it adds no request of its own: it is the routing part of the chain's
`routing.dex_state.DexState`, which the TVL engine and /v1/quote share. ``advance`` does the same on a
batcher of its own and reports the cost.

    tracker = await PoolTracker.start(client, refs)        # `load_pools` at the head, plus Curve A ramps
    tracker = await PoolTracker.start(client, refs, feed=feed)   # or reading logs through the chain's feed
    report = await tracker.advance(client)                 # to the new head
    tracker.pools, report.logs, report.requests, report.reloaded
    await tracker.follow(batcher.reader("routing"))        # inside someone else's snapshot

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
from defiscope.protocols.tracked import BLOCKHASH_WINDOW, block_hash_call
from defiscope.protocols.uniswap.events import V2_TOPICS, V3_TOPICS, apply_v2, apply_v3
from defiscope.routing.load import PoolRef, load_pools
from defiscope.routing.pools import CurvePool, Pool, V2Pool, V3Pool

#: Above this many pools, logs are asked by topic alone and matched to the pools here.
MAX_ADDRESS_FILTER: Final = 1_000
RAMP: Final = ("initial_A()(uint256)", "future_A()(uint256)", "initial_A_time()(uint256)", "future_A_time()(uint256)")


@dataclass(frozen=True, slots=True)
class Followed:
    """What one ``follow`` did (its requests are the batcher's, shared with whoever else read the block)."""

    from_block: int
    to_block: int
    logs: int
    reloaded: tuple[str, ...]  # pools read again (an event that did not apply, or untrackable)
    reorg: bool  # the tracked block was no longer on the chain: everything was reloaded


@dataclass(frozen=True, slots=True)
class AdvanceReport(Followed):
    """What one ``advance`` did and cost (on a batcher of its own)."""

    requests: int  # HTTP requests sent
    bytes: int  # sent and received


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
        self._prefetched: tuple[tuple[int, str], asyncio.Future[list[PoolLog]]] | None = None
        if feed is not None:
            feed.subscribe(self.topics())  # whoever reads a block first fetches our events with theirs

    @classmethod
    async def start(
        cls, client: ChainClient, refs: Sequence[PoolRef], at: int | str = "latest", *, feed: LogFeed | None = None
    ) -> PoolTracker:
        block = await client.block(at)
        return await cls.load(Batcher(Snapshot(client, block), feed=feed).reader("tracker"), refs, feed=feed)

    @classmethod
    async def load(cls, reader: Reader, refs: Sequence[PoolRef], *, feed: LogFeed | None = None) -> PoolTracker:
        """The pools read at the reader's block, in its batches (a snapshot's: one follower for TVL and routing)."""
        return cls(refs, reader.block, await _load(reader, refs), feed=feed)

    @property
    def pools(self) -> list[Pool]:
        """The routing pools at ``self.block``, in `load_pools` order."""
        return list(self._pools.values())

    def topics(self) -> list[str]:
        coins = sorted({len(p.coins) for p in self._pools.values() if isinstance(p, CurvePool)})
        found = [*V2_TOPICS, *V3_TOPICS, *(t for n in coins for t in curve_topics(n))]
        return list(dict.fromkeys(found))

    async def advance(self, client: ChainClient, to: int | str = "latest") -> AdvanceReport:
        """Follow the chain to block ``to`` on a batcher of its own: `follow`, and what it cost."""
        requests, sent = _cost(client)
        head = await client.block(to)
        followed = await self.follow(Batcher(Snapshot(client, head), feed=self.feed).reader("tracker"))
        after_requests, after_sent = _cost(client)
        return AdvanceReport(
            followed.from_block,
            followed.to_block,
            followed.logs,
            followed.reloaded,
            followed.reorg,
            requests=after_requests - requests,
            bytes=after_sent - sent,
        )

    async def prefetch(self, reader: Reader) -> None:
        """Ask for the logs the next `follow` to the reader's block needs, so that a snapshot sends them with
        every other consumer's logs before any reads."""
        if reader.block.number > self.block.number:
            await self._logs_since(reader, self.block.number + 1)

    async def follow(self, reader: Reader) -> Followed:
        """Follow the chain to the reader's block: apply the pools' logs since ``self.block``, or reload on a
        reorg. The reorg check (Multicall3's hash of our block) and any re-read go in the reader's batches."""
        head, start = reader.block, self.block
        logs: list[PoolLog] = []
        if head.number < start.number:  # a shorter branch replaced ours, or a caller asked to go back
            reorg = await _header_hash(reader, start.number) != start.hash.lower()
            if not reorg:
                raise InvalidInput(
                    f"cannot advance back from block {start.number} to {head.number}", chain_id=head.chain_id
                )
        elif head.number == start.number:
            reorg = head.hash != start.hash
        else:
            # The logs first (prefetched with a snapshot's others, or asked now): the reorg check then goes in
            # the multicall of the reads that depend on them.
            logs = await self._logs_since(reader, start.number + 1)
            ours = await _hash_of(reader, start.number)
            # Logs of the head block from another fork than the head we read: the chain moved under us.
            reorg = ours != start.hash.lower() or any(
                log.block == head.number and log.block_hash.lower() != head.hash.lower() for log in logs
            )
        if reorg:
            loaded = await _load(reader, list(self.refs.values()))
            self._pools = {p.address: p for p in loaded.pools}
            self.books = dict(loaded.books)
            reloaded = tuple(self._pools)
        else:
            reloaded = await self._apply(reader, logs)
        self.block = head
        return Followed(start.number, head.number, len(logs), reloaded, reorg)

    def _logs_since(self, reader: Reader, from_block: int) -> asyncio.Future[list[PoolLog]]:
        """The tracked pools' logs of [from_block, reader's block] in (block, logIndex) order, asked once per
        (range, pinned block) however often `prefetch` and `follow` want them."""
        key = (from_block, reader.block.hash)
        pending = self._prefetched
        if pending is None or pending[0] != key or _failed(pending[1]):
            pending = (key, asyncio.ensure_future(self._fetch_logs(reader, from_block)))
            self._prefetched = pending
        return pending[1]

    async def _fetch_logs(self, reader: Reader, from_block: int) -> list[PoolLog]:
        canonical = {a.lower(): a for a in self._pools}
        # Through the feed, or past a provider's address cap, by topic alone: every emitter's logs come back.
        by_topic = self.feed is not None or len(self._pools) > MAX_ADDRESS_FILTER
        raw = await reader.logs(
            address=None if by_topic else list(self._pools), topics=[self.topics()], from_block=from_block
        )
        mine = [_tracked(PoolLog.parse(e), canonical) for e in raw if log_hex(e["address"]) in canonical]
        return sorted(mine, key=lambda log: (log.block, log.index))

    async def _apply(self, reader: Reader, logs: Sequence[PoolLog]) -> tuple[str, ...]:
        logs = await _with_timestamps(reader, logs, {a for a, p in self._pools.items() if isinstance(p, CurvePool)})
        head = reader.block
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
            loaded = await _load(reader, [self.refs[a] for a in stale])
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


async def _load(reader: Reader, refs: Sequence[PoolRef]) -> _Loaded:
    """`load_pools` at the reader's block, and the Curve pools' ramps and LP supplies with it."""
    block = reader.block
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


async def _hash_of(reader: Reader, number: int) -> str | None:
    """The chain's hash of block ``number`` as seen from the reader's block: Multicall3's `getBlockHash` in the
    reader's multicall within the EVM's 256-block window, else the header (one request, long gaps only)."""
    if reader.block.number - number <= BLOCKHASH_WINDOW:
        result = await reader.call(block_hash_call(reader.chain_id, number))
        return log_hex(result.one()) if result.success else ""
    return await _header_hash(reader, number)


async def _header_hash(reader: Reader, number: int) -> str | None:
    """The chain's current hash at height ``number`` (None past its head), from the header: one request."""
    (answer,) = await reader.batcher.snapshot.client.rpc.batch([("eth_getBlockByNumber", [hex(number), False])])
    header = answer.unwrap()
    return str(header["hash"]).lower() if header is not None else None


async def _with_timestamps(reader: Reader, logs: Sequence[PoolLog], curve: set[str]) -> list[PoolLog]:
    """Curve logs need their block's time (A may ramp): the pinned block's is known; older blocks' come in one
    batch where the node did not send them."""
    head = reader.block
    stamped = [
        replace(log, timestamp=head.timestamp) if log.timestamp is None and log.block == head.number else log
        for log in logs
    ]
    missing = sorted({log.block for log in stamped if log.timestamp is None and log.address in curve})
    if not missing:
        return stamped
    rpc = reader.batcher.snapshot.client.rpc
    answers = await rpc.batch([("eth_getBlockByNumber", [hex(n), False]) for n in missing])
    times = {n: int(a.unwrap()["timestamp"], 16) for n, a in zip(missing, answers, strict=True)}
    return [replace(log, timestamp=times[log.block]) if log.block in times else log for log in stamped]


def _failed(future: asyncio.Future[Any]) -> bool:
    return future.done() and (future.cancelled() or future.exception() is not None)


def _cost(client: ChainClient) -> tuple[int, int]:
    stats = client.rpc.stats().values()
    return sum(s.requests for s in stats), sum(s.bytes_sent + s.bytes_received for s in stats)


#: Finds the pools to follow at a block (`routing.discovery.discover_at`).
Discover = Callable[[ChainClient, BlockRef], Awaitable[Sequence[PoolRef]]]
