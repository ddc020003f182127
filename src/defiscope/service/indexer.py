"""The block follower: on every configured chain, index new blocks (all, or every N-th) into the store.

    indexer = Indexer(runtime.engines, Repository.open(), IndexerOptions(every=10))
    stop = asyncio.Event()
    await indexer.run(stop)            # one task per chain, until stop.set()
    await indexer.run_once()           # or: the current head of each chain, once (cron, tests)
    indexer.status().failing           # protocols whose latest read failed, and why

Each iteration of a chain: read the head; compare the stored hashes within the finality depth with the
chain's and roll back from the first mismatch (`reorg.find_fork`), both in one request with the next due
block's header and logs (`poll`: a followed block costs that request and the snapshot's multicall); then index at most
`max_blocks_per_iteration` scheduled blocks after the last one indexed, oldest first, so nothing is
skipped while catching up. A protocol that cannot be read is logged and kept in `status()`, never stored
as 0. RPC and database errors back off and retry; the loop itself never dies of them.

The first iteration starts at the head: history is `backfill`'s job, not the follower's. After
`Indexer.resume()` (what `serve` does) each chain continues after its highest stored block instead: the
blocks due since then are indexed first (`ChainStatus.catch_up` counts them), except those the node no
longer serves (a pruned node): they are skipped, logged and kept in `ChainStatus.gaps`, never silently.
`Indexer.drain()` indexes up to the head once the chain stopped moving (before a devnet is saved).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import structlog

from defiscope.chain.block import BlockRef
from defiscope.chain.registry import CHAINS
from defiscope.errors import DefiscopeError, InputError
from defiscope.indexing_hooks import BlockHook, IndexerHealth
from defiscope.service.discovery import DiscoveryProgress, attach_discovery, heal_discovery, rewind_discovery
from defiscope.service.events import EventCollector
from defiscope.service.poll import Poll, poll_chain
from defiscope.service.reorg import finality_depth
from defiscope.service.snapshots import save_result
from defiscope.store import BlockConflictError, Repository
from defiscope.tvl.engine import ChainTvl, ProtocolFailure, TvlEngine

log = structlog.get_logger(__name__)

#: Shortest poll interval: the devnet mines on demand, so it is polled this often.
MIN_POLL_INTERVAL: Final = 0.2
#: Whose balance probes whether a node still serves a block's state (any address would do).
_PROBE_ADDRESS: Final = "0x" + "00" * 20


class InvalidSchedule(InputError):
    """Indexer options that cannot work (every < 1, a non-positive interval)."""


@dataclass(frozen=True, slots=True)
class IndexerOptions:
    """How the follower works; the defaults suit mainnet and the devnet alike."""

    every: int = 1  # index blocks whose number % every == 0
    poll_interval: float | None = None  # seconds; None: the chain's block time (MIN_POLL_INTERVAL on the devnet)
    max_blocks_per_iteration: int = 16  # bounded work: a long catch-up yields to the poll/stop check
    backoff_initial: float = 0.5  # seconds after the first failed iteration, doubling
    backoff_max: float = 30.0
    reconcile_every: int = 1_000  # blocks between full re-reads checking the state tracked from events; 0: off

    def __post_init__(self) -> None:
        if self.every < 1:
            raise InvalidSchedule(f"--every must be 1 or more, got {self.every}")
        if self.poll_interval is not None and self.poll_interval <= 0:
            raise InvalidSchedule(f"poll interval must be positive, got {self.poll_interval}")
        if self.reconcile_every < 0:
            raise InvalidSchedule(f"reconcile every must be 0 (off) or more, got {self.reconcile_every}")
        if self.max_blocks_per_iteration < 1:
            raise InvalidSchedule(f"max blocks per iteration must be 1 or more, got {self.max_blocks_per_iteration}")


@dataclass(frozen=True, slots=True)
class IndexedBlock:
    """What indexing one block did: the protocols stored, those that failed, timings and RPC requests."""

    block: BlockRef
    stored: tuple[str, ...]
    failures: tuple[ProtocolFailure, ...]
    read_seconds: float
    store_seconds: float
    requests: int


@dataclass(slots=True)
class ProtocolStatus:
    """A protocol on a chain: the last block stored and the latest failure (None if it never failed)."""

    slug: str
    chain_id: int
    last_stored: BlockRef | None = None
    last_failure: ProtocolFailure | None = None

    @property
    def failing(self) -> bool:
        """Whether the latest attempt failed (a failure newer than the last stored block)."""
        if self.last_failure is None:
            return False
        return self.last_stored is None or self.last_failure.block.number >= self.last_stored.number


@dataclass(frozen=True, slots=True)
class Gap:
    """Scheduled blocks from `from_block` to `to_block` the follower skipped: the node lacks their state."""

    chain_id: int
    from_block: int
    to_block: int
    blocks: int
    reason: str


@dataclass(slots=True)
class CatchUp:
    """After a resume: the scheduled blocks `first`..`last` that were due at the start, `done` of `total`."""

    first: int
    last: int
    total: int
    done: int = 0


@dataclass(slots=True)
class ChainStatus:
    chain_id: int
    head: int | None = None
    head_time: int | None = None  # the head block's timestamp: how far behind the indexer is, in time
    last_indexed: BlockRef | None = None
    blocks_indexed: int = 0
    reorgs: int = 0
    last_error: str | None = None  # the error of the last iteration, None once one succeeds
    failing_since: float | None = None  # unix time of the first failure in the current run of failures
    catch_up: CatchUp | None = None  # set by a resume that found blocks due
    gaps: list[Gap] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class IndexerStatus:
    chains: Mapping[int, ChainStatus]
    protocols: Mapping[tuple[str, int], ProtocolStatus]

    @property
    def failing(self) -> list[ProtocolFailure]:
        """The latest failure of each protocol whose latest attempt failed."""
        return [p.last_failure for p in self.protocols.values() if p.failing and p.last_failure is not None]


def due_blocks(after: int | None, head: int, every: int, limit: int | None) -> list[int]:
    """Scheduled blocks (number % every == 0) in (after, head], oldest first, at most `limit`.

    With `after=None` (nothing indexed yet) only the latest scheduled block at or below the head.

        >>> due_blocks(None, 107, 5, None), due_blocks(96, 107, 5, None), due_blocks(96, 140, 5, 2)
        ([105], [100, 105], [100, 105])
    """
    if after is None:
        return [head - head % every]
    blocks = _due_range(after, head, every)
    return list(blocks if limit is None else blocks[:limit])


def _due_range(after: int, head: int, every: int) -> range:
    """Scheduled blocks in (after, head], as a range (a long backlog costs nothing to describe)."""
    return range(after + 1 + (-(after + 1)) % every, head + 1, every)


class ChainIndexer:
    """Follows one chain with one engine; `Indexer` runs one of these per chain."""

    def __init__(
        self, engine: TvlEngine, repo: Repository, options: IndexerOptions, hooks: Sequence[BlockHook] = ()
    ) -> None:
        self.engine = engine
        self.repo = repo
        self.options = options
        self.hooks = tuple(hooks)
        self.chain_id = engine.client.chain_id
        self.depth = finality_depth(self.chain_id)
        self.poll_interval = options.poll_interval or default_poll_interval(engine)
        self.cursor: int | None = None  # the highest block handled; the next iteration continues after it
        self.resuming = False  # set by `resume_after`: the next iteration checks the backlog first
        self.chain_status = ChainStatus(self.chain_id)
        self.protocols: dict[tuple[str, int], ProtocolStatus] = {}
        self.events = EventCollector.of(engine, repo)  # the events the adapters want kept (oracle reports)
        self.discovery = DiscoveryProgress(self.chain_id)  # how far a first discovery has come
        attach_discovery(engine, repo, self.discovery)  # persisted: a restart continues after the stored cursors
        self.discovery_healed = False  # the stored cursors are checked against the chain once, at the start

    async def follow(self, stop: asyncio.Event) -> None:
        """Index until `stop` is set. Errors are logged and retried with exponential backoff."""
        delay = self.options.backoff_initial
        while not stop.is_set():
            try:
                _, more = await self.step(self.options.max_blocks_per_iteration)
            except Exception as exc:
                self._iteration_failed(exc, delay)
                await _wait(stop, delay)
                delay = min(delay * 2, self.options.backoff_max)
                continue
            self.chain_status.last_error = None
            self.chain_status.failing_since = None
            delay = self.options.backoff_initial
            # Behind the head: go on at once (after one turn of the loop), else wait for the next block.
            await _wait(stop, 0 if more else self.poll_interval)

    async def step(self, limit: int | None) -> tuple[list[IndexedBlock], bool]:
        """One iteration: heal reorgs, then index up to `limit` due blocks. Returns them, and whether more are due.

        The head, the reorg check and the next due block's header and logs go out in one request (`poll`): in
        the steady state a followed block costs that and the snapshot's multicall."""
        await self.heal_discovery()
        poll = await poll_chain(self.engine, self.repo, self.depth, next_due=self._next_due(), events=self.events)
        head = poll.head
        self.chain_status.head = head.number
        self.chain_status.head_time = head.timestamp
        if poll.fork is not None:
            await self.roll_back(poll.fork, f"stored hash of block {poll.fork} differs from the chain's")
        if self.resuming:
            await self._start_catch_up(head.number)
            self.resuming = False
        # One block past the limit tells whether more are due, without listing a long backlog.
        due = due_blocks(self.cursor, head.number, self.options.every, None if limit is None else limit + 1)
        indexed: list[IndexedBlock] = []
        for number in due[:limit]:
            done = await self.index_block(number, poll)
            if done is None:
                return indexed, True  # the chain moved under us; the next iteration starts from the new state
            indexed.append(done)
        return indexed, limit is not None and len(due) > limit

    def _next_due(self) -> int | None:
        """The first scheduled block after the cursor (the head's number when following one block at a time)."""
        if self.cursor is None or self.resuming:
            return None
        return _due_range(self.cursor, self.cursor + self.options.every, self.options.every)[0]

    async def index_block(self, number: int, poll: Poll | None = None) -> IndexedBlock | None:
        """Read and store one block; None if it must be redone (a reorg was found on the way). `poll`: the step's
        poll, which may carry this block's header and logs."""
        requests = self.engine.client.rpc.total_requests()
        started = time.perf_counter()
        pinned = poll.pinned(number) if poll is not None else None
        result = await self.engine.snapshot(number, pin=pinned)
        read_s = time.perf_counter() - started
        if not result.snapshots and result.failures and await self._block_gone(result.block):
            return None  # every read failed because the block was reorged away: retry it
        try:
            await asyncio.to_thread(save_result, self.repo, result)
        except BlockConflictError as exc:
            await self.roll_back(exc.number, str(exc))
            return None
        done = IndexedBlock(
            result.block,
            tuple(s.slug for s in result.snapshots),
            result.failures,
            read_s,
            time.perf_counter() - started - read_s,
            self.engine.client.rpc.total_requests() - requests,
        )
        self._record(result, done)
        self.cursor = number if self.cursor is None else max(self.cursor, number)
        self._advance_catch_up(number)
        if self.options.reconcile_every and number % self.options.reconcile_every == 0:
            try:  # differences are logged as errors and corrected; a failed check waits for the next one
                await self.engine.reconcile(number)
            except DefiscopeError as exc:
                log.warning("indexer.reconcile_failed", chain_id=self.chain_id, block=number, reason=str(exc))
        if self.events is not None:
            await self.events.collect(number, preloaded=poll.event_logs(number) if poll is not None else None)
        await self._tell_hooks(result)
        return done

    def health(self) -> IndexerHealth:
        """`indexing_hooks.IndexedChain`: the head read, the last block stored, what is failing now."""
        status = self.chain_status
        return IndexerHealth(
            status.head,
            None if status.last_indexed is None else status.last_indexed.number,
            tuple(
                f"{p.slug}: {p.last_failure.reason}" for p in self.protocols.values() if p.failing and p.last_failure
            ),
            status.last_error,
        )

    async def _tell_hooks(self, result: ChainTvl) -> None:
        for hook in self.hooks:
            try:
                await hook.block_indexed(self, result)
            except Exception as exc:  # the block is stored; a hook's failure must not have it indexed again
                log.error(
                    "indexer.hook_failed",
                    chain_id=self.chain_id,
                    block=result.block.number,
                    hook=type(hook).__name__,
                    exc_info=exc,
                )

    async def roll_back(self, number: int, why: str) -> None:
        """Forget everything stored from `number` on and index those scheduled blocks again."""
        removed = await asyncio.to_thread(self.repo.rollback_from, self.chain_id, number)
        self.cursor = number - 1 if self.cursor is None else min(self.cursor, number - 1)
        if self.events is not None:
            self.events.rewind(number)
        rewind_discovery(self.engine, number - 1)  # the store's rollback dropped the cursors to number - 1
        self.chain_status.reorgs += 1
        log.warning("indexer.reorg", chain_id=self.chain_id, from_block=number, snapshots_removed=removed, why=why)

    async def heal_discovery(self) -> None:
        """Once, before discovery is used: roll back stored cursors whose last block the chain lost meanwhile."""
        if not self.discovery_healed:
            await heal_discovery(self.engine, self.repo, self.depth)
            self.discovery_healed = True

    def resume_after(self, number: int) -> None:
        """Continue after block `number` (the highest stored) instead of at the head."""
        self.cursor = number
        self.resuming = True

    async def _start_catch_up(self, head: int) -> None:
        """The backlog since the cursor: skip (and record) the blocks the node no longer serves, count the rest."""
        if self.cursor is None:
            return
        every = self.options.every
        due = _due_range(self.cursor, head, every)
        if not due:
            return
        first = await self._first_available(due)
        if first > due[0]:
            self._record_gap(due[0], first - every, resumes_at=first)
            self.cursor = first - 1
        due = _due_range(self.cursor, head, every)
        self.chain_status.catch_up = CatchUp(due[0], due[-1], len(due))
        log.info("indexer.catching_up", chain_id=self.chain_id, from_block=due[0], to_block=due[-1], blocks=len(due))

    async def _first_available(self, due: range) -> int:
        """The oldest block of `due` whose state the node serves. Nodes keep a suffix of history, so a binary
        search finds it in log2(len) probes; the newest due block is taken as served (if not, indexing it
        fails loudly)."""
        if await self._serves_state(due[0]):
            return due[0]
        missing, served = 0, len(due) - 1
        while served - missing > 1:
            middle = (missing + served) // 2
            if await self._serves_state(due[middle]):
                served = middle
            else:
                missing = middle
        return due[served]

    async def _serves_state(self, number: int) -> bool:
        """Whether the node answers a state read at `number` (a node error says no; a transport error raises)."""
        (answer,) = await self.engine.client.rpc.batch([("eth_getBalance", [_PROBE_ADDRESS, hex(number)])])
        return answer.error is None

    def _record_gap(self, first: int, last: int, *, resumes_at: int) -> None:
        blocks = (last - first) // self.options.every + 1
        reason = "the node no longer serves the state of these blocks (pruned, or a devnet resumed after them)"
        self.chain_status.gaps.append(Gap(self.chain_id, first, last, blocks, reason))
        log.warning(
            "indexer.gap",
            chain_id=self.chain_id,
            from_block=first,
            to_block=last,
            blocks=blocks,
            resumes_at=resumes_at,
            reason=reason,
            fill_with="`defiscope backfill` against an archive node",
        )

    def _advance_catch_up(self, number: int) -> None:
        catch_up = self.chain_status.catch_up
        if catch_up is not None and number >= catch_up.first:
            catch_up.done = min(catch_up.total, (min(number, catch_up.last) - catch_up.first) // self.options.every + 1)

    async def _block_gone(self, block: BlockRef) -> bool:
        current = await self.engine.client.block(block.number)
        return current.hash != block.hash

    def _record(self, result: ChainTvl, done: IndexedBlock) -> None:
        for snapshot in result.snapshots:
            self._protocol(snapshot.slug).last_stored = snapshot.block
        for failure in result.failures:
            self._protocol(failure.slug).last_failure = failure
            log.warning(
                "indexer.protocol_failed",
                chain_id=self.chain_id,
                block=failure.block.number,
                slug=failure.slug,
                reason=failure.reason,
            )
        self.chain_status.last_indexed = done.block
        self.chain_status.blocks_indexed += 1
        log.info(
            "indexer.block_stored",
            chain_id=self.chain_id,
            block=done.block.number,
            hash=done.block.hash,
            stored=len(done.stored),
            failed=len(done.failures),
            read_s=round(done.read_seconds, 4),
            store_s=round(done.store_seconds, 4),
            requests=done.requests,
        )

    def _protocol(self, slug: str) -> ProtocolStatus:
        return self.protocols.setdefault((slug, self.chain_id), ProtocolStatus(slug, self.chain_id))

    def _iteration_failed(self, exc: Exception, delay: float) -> None:
        self.chain_status.last_error = f"{type(exc).__name__}: {exc}"
        if self.chain_status.failing_since is None:
            self.chain_status.failing_since = time.time()
        if isinstance(exc, DefiscopeError):  # RPC down, database busy: expected, retried
            log.warning("indexer.retry", chain_id=self.chain_id, error=str(exc), retry_in_s=delay)
        else:  # a bug: keep following the other blocks, but with the traceback in the log
            log.error("indexer.crashed", chain_id=self.chain_id, retry_in_s=delay, exc_info=exc)


class Indexer:
    """Follows every chain of `engines`, one asyncio task each, storing into one `Repository`."""

    def __init__(
        self,
        engines: Mapping[int, TvlEngine],
        repo: Repository,
        options: IndexerOptions | None = None,
        *,
        hooks: Sequence[BlockHook] = (),
    ) -> None:
        self.options = options or IndexerOptions()
        self.repo = repo
        self.chains = {cid: ChainIndexer(engine, repo, self.options, hooks) for cid, engine in sorted(engines.items())}

    async def run(self, stop: asyncio.Event) -> None:
        """Follow all chains until `stop` is set; each finishes the block it is on, then returns."""
        async with asyncio.TaskGroup() as group:
            for chain_id, chain in self.chains.items():
                group.create_task(chain.follow(stop), name=f"indexer-chain-{chain_id}")

    async def resume(self) -> dict[int, BlockRef]:
        """Continue each chain after its highest stored block, not at the head; returns those blocks.

        Call before anything else stores a block (`serve` stores the head for its first table).
        """
        latest = await asyncio.to_thread(self.repo.latest_blocks)
        resumed = {cid: latest[cid] for cid in self.chains if cid in latest}
        for chain_id, block in resumed.items():
            self.chains[chain_id].resume_after(block.number)
        # Before `serve`'s first table reads discovery; a chain that cannot be reached heals at its first step.
        await asyncio.gather(*(c.heal_discovery() for c in self.chains.values()), return_exceptions=True)
        return resumed

    async def drain(self, within: float) -> bool:
        """Index every chain up to its head once the chains stopped moving; False if `within` seconds or an error
        cut it short (what was indexed stays stored; the rest is a gap the next resume reports)."""

        async def one(chain: ChainIndexer) -> None:
            more = True
            while more:
                _, more = await chain.step(self.options.max_blocks_per_iteration)

        try:
            await asyncio.wait_for(asyncio.gather(*(one(c) for c in self.chains.values())), within)
        except TimeoutError:
            log.warning("indexer.drain_timeout", seconds=within)
            return False
        except Exception as exc:
            log.warning("indexer.drain_failed", error=str(exc))
            return False
        return True

    async def run_once(self) -> list[IndexedBlock]:
        """Index each chain's current head (the latest scheduled block), after healing any reorg.

        Errors are raised, not retried: this is for cron and tests, where the caller decides.
        """
        steps = await asyncio.gather(*(chain.step(None) for chain in self.chains.values()))
        return [block for indexed, _ in steps for block in indexed]

    def status(self) -> IndexerStatus:
        return IndexerStatus(
            chains={cid: c.chain_status for cid, c in self.chains.items()},
            protocols={k: v for c in self.chains.values() for k, v in c.protocols.items()},
        )


def default_poll_interval(engine: TvlEngine) -> float:
    """The chain's block time (the devnet mines on demand: MIN_POLL_INTERVAL)."""
    if engine.deployment.network == "devnet":
        return MIN_POLL_INTERVAL
    info = CHAINS.get(engine.client.chain_id)
    return max(MIN_POLL_INTERVAL, info.block_time if info is not None else 2.0)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, returning early when `stop` is set; 0 only yields to the other chains' tasks."""
    if seconds <= 0:
        await asyncio.sleep(0)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
