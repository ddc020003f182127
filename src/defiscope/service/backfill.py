"""Backfill: one protocol's history over a block range, computed in parallel, stored block by block.

    result = await backfill(engine, repo, "uniswap-v2", 19_000_000, 19_010_000, step=100)
    result.stored, result.skipped, result.blocks_per_second

The range is `from_block, from_block + step, ...` up to `to_block`. Input is checked before any work
(`BackfillInputError`, one line naming the problem). Blocks already stored are skipped, so a backfill
killed half-way finishes on a rerun with exactly the missing blocks: every snapshot is saved as soon as it
is computed, in one transaction, so a kill leaves no half-written block and no gap in what it reports.
A block at which the protocol cannot be read is never stored as 0: the run ends with `BackfillIncomplete`
listing it, after storing every block that could be read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

import structlog

from defiscope.chain.block import BlockRef
from defiscope.errors import DefiscopeError, InputError
from defiscope.service.snapshots import save_result
from defiscope.store import Repository
from defiscope.tvl.engine import ProtocolFailure, TvlEngine

log = structlog.get_logger(__name__)

#: Blocks computed at once by default: enough to hide RPC latency, few enough to stay polite to a provider.
DEFAULT_CONCURRENCY: Final = 4

#: Called after each block with (blocks done, blocks in the range); skipped blocks count as done.
ProgressCallback = Callable[[int, int], None]


class BackfillInputError(InputError):
    """The backfill cannot start: unknown protocol, bad range or step, a block in the future or too early."""


class BackfillIncomplete(DefiscopeError):
    """Some blocks could not be read; every other block is stored and a rerun retries only the missing."""


@dataclass(frozen=True, slots=True)
class BackfillResult:
    slug: str
    chain_id: int
    from_block: int
    to_block: int
    step: int
    stored: int  # blocks computed and saved by this run
    skipped: int  # blocks found already stored
    seconds: float

    @property
    def blocks_per_second(self) -> float:
        """Blocks computed per second of this run (skipped blocks cost nothing, so they do not count)."""
        return self.stored / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "slug": self.slug,
            "chain_id": self.chain_id,
            "from_block": self.from_block,
            "to_block": self.to_block,
            "step": self.step,
            "stored": self.stored,
            "skipped": self.skipped,
            "seconds": round(self.seconds, 3),
            "blocks_per_second": round(self.blocks_per_second, 2),
        }


async def backfill(
    engine: TvlEngine,
    repo: Repository,
    slug: str,
    from_block: int,
    to_block: int,
    step: int = 1,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_progress: ProgressCallback | None = None,
) -> BackfillResult:
    """Compute and store `slug` at every `step`-th block of [from_block, to_block] not stored yet.

    Raises `BackfillInputError` before doing any work when the input cannot be served, and
    `BackfillIncomplete` at the end when some blocks could not be read (the rest are stored).
    """
    started = time.perf_counter()
    check_arguments(engine, slug, from_block, to_block, step, concurrency)
    await check_head(engine, to_block)
    chain_id = engine.client.chain_id
    wanted = range(from_block, to_block + 1, step)
    stored = await asyncio.to_thread(repo.stored_blocks, slug, chain_id, from_block, to_block)
    skipped = sum(1 for n in stored if n in wanted)
    run = _Run(engine, repo, slug, skipped, len(wanted))
    missing = (n for n in wanted if n not in stored)
    if from_block not in stored:
        # The first block doubles as the "did the protocol exist yet?" check, and is stored if it did.
        await run.first(next(missing))
    # Progress starts once the input is known to be good, so a refused backfill shows no bar.
    run.report = on_progress or _silent
    run.report(run.done, run.total)
    await run.all(missing, concurrency)
    result = BackfillResult(
        slug, chain_id, from_block, to_block, step, run.stored, skipped, time.perf_counter() - started
    )
    log.info("backfill.done", **result.to_json())
    if run.failures:
        first = min(run.failures, key=lambda f: f.block.number)
        raise BackfillIncomplete(
            f"{slug}: {len(run.failures)} of {len(wanted)} blocks could not be read (first: block "
            f"{first.block.number}: {first.reason}); the other {run.stored + skipped} are stored, rerun to retry"
        )
    return result


def check_arguments(engine: TvlEngine, slug: str, from_block: int, to_block: int, step: int, concurrency: int) -> None:
    """Refuse input that cannot work, naming what is wrong (no RPC needed)."""
    if slug not in engine.slugs:
        known = ", ".join(sorted(engine.slugs)) or "none"
        raise BackfillInputError(f"unknown protocol {slug!r} on chain {engine.client.chain_id}; known: {known}")
    if step < 1:
        raise BackfillInputError(f"step must be 1 or more, got {step}")
    if concurrency < 1:
        raise BackfillInputError(f"concurrency must be 1 or more, got {concurrency}")
    if from_block < 0:
        raise BackfillInputError(f"from block must be 0 or more, got {from_block}")
    if from_block > to_block:
        raise BackfillInputError(f"from block {from_block} is after to block {to_block}")


async def check_head(engine: TvlEngine, to_block: int) -> BlockRef:
    """The chain's head; a range reaching beyond it is refused."""
    head = await engine.client.block("latest")
    if to_block > head.number:
        raise BackfillInputError(f"block {to_block} is in the future; head is {head.number}")
    return head


class _Run:
    """The mutable part of one backfill: counters, failures, and the per-block work."""

    def __init__(self, engine: TvlEngine, repo: Repository, slug: str, done: int, total: int) -> None:
        self.engine = engine
        self.repo = repo
        self.slug = slug
        self.done = done
        self.total = total
        self.report: ProgressCallback = _silent
        self.stored = 0
        self.failures: list[ProtocolFailure] = []

    async def first(self, number: int) -> None:
        failure = await self.block(number)
        if failure is not None:
            raise BackfillInputError(
                f"{self.slug} cannot be read at block {number}: {failure.reason} (before its deployment?)"
            )

    async def all(self, numbers: Iterator[int], concurrency: int) -> None:
        """Compute `numbers` with `concurrency` workers sharing one iterator (each number goes to one)."""

        async def worker() -> None:
            for number in numbers:
                failure = await self.block(number)
                if failure is not None:
                    self.failures.append(failure)
                    log.warning("backfill.block_failed", slug=self.slug, block=number, reason=failure.reason)

        workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
        try:
            await asyncio.gather(*workers)
        finally:
            # An RPC or database error in one worker stops the others; what they stored stays stored.
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    async def block(self, number: int) -> ProtocolFailure | None:
        """Compute and store one block; the protocol's failure there, if it could not be read."""
        result = await self.engine.snapshot(number, slugs={self.slug})
        snapshot = next((s for s in result.snapshots if s.slug == self.slug), None)
        failure = None
        if snapshot is not None:
            await asyncio.to_thread(save_result, self.repo, result)
            self.stored += 1
        else:
            failure = next(
                (f for f in result.failures if f.slug == self.slug),
                ProtocolFailure(self.slug, result.block.chain_id, result.block, "the engine returned nothing"),
            )
        self.done += 1
        self.report(self.done, self.total)
        return failure


def _silent(done: int, total: int) -> None:
    """The default progress callback: libraries and tests run quiet."""
