"""The block follower: on every configured chain, index new blocks (all, or every N-th) into the store.

    indexer = Indexer(runtime.engines, Repository.open(), IndexerOptions(every=10))
    stop = asyncio.Event()
    await indexer.run(stop)            # one task per chain, until stop.set()
    await indexer.run_once()           # or: the current head of each chain, once (cron, tests)
    indexer.status().failing           # protocols whose latest read failed, and why

Each iteration of a chain: read the head; compare the stored hashes within the finality depth with the
chain's and roll back from the first mismatch (`reorg.find_fork`); then index at most
`max_blocks_per_iteration` scheduled blocks after the last one indexed, oldest first, so nothing is
skipped while catching up. A protocol that cannot be read is logged and kept in `status()`, never stored
as 0. RPC and database errors back off and retry; the loop itself never dies of them.

The first iteration starts at the head: history is `backfill`'s job, not the follower's.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import structlog

from defiscope.chain.block import BlockRef
from defiscope.chain.registry import CHAINS
from defiscope.errors import DefiscopeError
from defiscope.service.reorg import finality_depth, find_fork
from defiscope.service.snapshots import save_result
from defiscope.store import BlockConflictError, Repository
from defiscope.tvl.engine import ChainTvl, ProtocolFailure, TvlEngine

log = structlog.get_logger(__name__)

#: Shortest poll interval: the devnet mines on demand, so it is polled this often.
MIN_POLL_INTERVAL: Final = 0.2


class InvalidSchedule(DefiscopeError):
    """Indexer options that cannot work (every < 1, a non-positive interval)."""


@dataclass(frozen=True, slots=True)
class IndexerOptions:
    """How the follower works; the defaults suit mainnet and the devnet alike."""

    every: int = 1  # index blocks whose number % every == 0
    poll_interval: float | None = None  # seconds; None: the chain's block time (MIN_POLL_INTERVAL on the devnet)
    max_blocks_per_iteration: int = 16  # bounded work: a long catch-up yields to the poll/stop check
    backoff_initial: float = 0.5  # seconds after the first failed iteration, doubling
    backoff_max: float = 30.0

    def __post_init__(self) -> None:
        if self.every < 1:
            raise InvalidSchedule(f"--every must be 1 or more, got {self.every}")
        if self.poll_interval is not None and self.poll_interval <= 0:
            raise InvalidSchedule(f"poll interval must be positive, got {self.poll_interval}")
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


@dataclass(slots=True)
class ChainStatus:
    chain_id: int
    head: int | None = None
    last_indexed: BlockRef | None = None
    blocks_indexed: int = 0
    reorgs: int = 0
    last_error: str | None = None  # the error of the last iteration, None once one succeeds


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
    first = after + 1 + (-(after + 1)) % every
    blocks = range(first, head + 1, every)
    return list(blocks if limit is None else blocks[:limit])


class ChainIndexer:
    """Follows one chain with one engine; `Indexer` runs one of these per chain."""

    def __init__(self, engine: TvlEngine, repo: Repository, options: IndexerOptions) -> None:
        self.engine = engine
        self.repo = repo
        self.options = options
        self.chain_id = engine.client.chain_id
        self.depth = finality_depth(self.chain_id)
        self.poll_interval = options.poll_interval or default_poll_interval(engine)
        self.cursor: int | None = None  # the highest block handled; the next iteration continues after it
        self.chain_status = ChainStatus(self.chain_id)
        self.protocols: dict[tuple[str, int], ProtocolStatus] = {}

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
            delay = self.options.backoff_initial
            # Behind the head: go on at once (after one turn of the loop), else wait for the next block.
            await _wait(stop, 0 if more else self.poll_interval)

    async def step(self, limit: int | None) -> tuple[list[IndexedBlock], bool]:
        """One iteration: heal reorgs, then index up to `limit` due blocks. Returns them, and whether more are due."""
        head = await self.engine.client.block("latest")
        self.chain_status.head = head.number
        fork = await find_fork(self.engine.client, self.repo, head, self.depth)
        if fork is not None:
            await self.roll_back(fork, f"stored hash of block {fork} differs from the chain's")
        # One block past the limit tells whether more are due, without listing a long backlog.
        due = due_blocks(self.cursor, head.number, self.options.every, None if limit is None else limit + 1)
        indexed: list[IndexedBlock] = []
        for number in due[:limit]:
            done = await self.index_block(number)
            if done is None:
                return indexed, True  # the chain moved under us; the next iteration starts from the new state
            indexed.append(done)
        return indexed, limit is not None and len(due) > limit

    async def index_block(self, number: int) -> IndexedBlock | None:
        """Read and store one block; None if it must be redone (a reorg was found on the way)."""
        requests = self.engine.client.rpc.total_requests()
        started = time.perf_counter()
        result = await self.engine.snapshot(number)
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
        return done

    async def roll_back(self, number: int, why: str) -> None:
        """Forget everything stored from `number` on and index those scheduled blocks again."""
        removed = await asyncio.to_thread(self.repo.rollback_from, self.chain_id, number)
        self.cursor = number - 1 if self.cursor is None else min(self.cursor, number - 1)
        self.chain_status.reorgs += 1
        log.warning("indexer.reorg", chain_id=self.chain_id, from_block=number, snapshots_removed=removed, why=why)

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
        if isinstance(exc, DefiscopeError):  # RPC down, database busy: expected, retried
            log.warning("indexer.retry", chain_id=self.chain_id, error=str(exc), retry_in_s=delay)
        else:  # a bug: keep following the other blocks, but with the traceback in the log
            log.error("indexer.crashed", chain_id=self.chain_id, retry_in_s=delay, exc_info=exc)


class Indexer:
    """Follows every chain of `engines`, one asyncio task each, storing into one `Repository`."""

    def __init__(
        self, engines: Mapping[int, TvlEngine], repo: Repository, options: IndexerOptions | None = None
    ) -> None:
        self.options = options or IndexerOptions()
        self.chains = {cid: ChainIndexer(engine, repo, self.options) for cid, engine in sorted(engines.items())}

    async def run(self, stop: asyncio.Event) -> None:
        """Follow all chains until `stop` is set; each finishes the block it is on, then returns."""
        async with asyncio.TaskGroup() as group:
            for chain_id, chain in self.chains.items():
                group.create_task(chain.follow(stop), name=f"indexer-chain-{chain_id}")

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
