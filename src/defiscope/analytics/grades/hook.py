"""Grades published by the indexer: a `BlockHook` that publishes at a block of chain 1 once `every_seconds` of
block time have passed since the newest publication (factor computation takes a second or two: not every block).

    hook = grades_hook(repo, runtime.engines, every_seconds=settings.grades_every_seconds)
    Indexer(runtime.engines, repo, options, hooks=alert_hooks(repo, (hook,)))  # its signals judged at the block

The interval is measured against the store (the newest published block's time), so it holds across restarts and
after a reorg removed a publication. Totals supplies are read through the engines' own clients, pinned to the
block (`engine_readers`). `revenue_shares` is passed to every publication (the documented constants by default: see
`grades.publish`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from fractions import Fraction
from typing import Final

import structlog

from defiscope.analytics.grades.catalog import CLOCK_CHAIN
from defiscope.analytics.grades.compute import DOCUMENTED_SHARES, ReaderFactory, graded_tokens
from defiscope.analytics.grades.market import TokenRef
from defiscope.analytics.grades.publish import Published, publish_grades
from defiscope.chain.block import BlockRef
from defiscope.chain.client import Snapshot
from defiscope.chain.reader import Batcher, Reader
from defiscope.indexing_hooks import IndexedChain
from defiscope.store import Repository
from defiscope.store.grades import GradeStore
from defiscope.tvl.engine import ChainTvl, TvlEngine

#: Publish every 6 hours of block time by default (`[grades] every_hours`).
DEFAULT_EVERY_SECONDS: Final = 6 * 3600
log = structlog.get_logger(__name__)


def engine_readers(engines: Mapping[int, TvlEngine]) -> ReaderFactory:
    """Readers pinned to a block through the engine of its chain (None for a chain not indexed here)."""

    def pinned(block: BlockRef) -> Reader | None:
        engine = engines.get(block.chain_id)
        return None if engine is None else Batcher(Snapshot(engine.client, block)).reader("grades")

    return pinned


class GradesHook:
    """Publishes grades at a block of chain 1 when `every_seconds` of block time passed since the newest one."""

    __slots__ = ("every_seconds", "reader_for", "repo", "revenue_shares", "tokens")

    def __init__(
        self,
        repo: Repository,
        reader_for: ReaderFactory,
        tokens: Mapping[str, TokenRef],
        every_seconds: int = DEFAULT_EVERY_SECONDS,
        revenue_shares: Mapping[str, Fraction] = DOCUMENTED_SHARES,
    ) -> None:
        self.repo = repo
        self.reader_for = reader_for
        self.tokens = tokens
        self.every_seconds = every_seconds
        self.revenue_shares = revenue_shares

    async def block_indexed(self, chain: IndexedChain, result: ChainTvl) -> None:
        del chain
        if result.block.chain_id == CLOCK_CHAIN:
            await self.publish_if_due(result.block)

    async def publish_if_due(self, block: BlockRef) -> Published | None:
        """Publish at `block` (of chain 1) if it is due (`due`); what was published, or None."""
        if not await asyncio.to_thread(self.due, block):
            return None
        published = await publish_grades(
            self.repo, self.reader_for, block.number, tokens=self.tokens, revenue_shares=self.revenue_shares
        )
        log.info("grades.published", block=block.number, signals=len(published.signals))
        return published

    def due(self, block: BlockRef) -> bool:
        """Whether `block` comes `every_seconds` or more after the publication before it (or there is none): the
        newest one while the indexer tells blocks in order; the one before it when a job judges an earlier block."""
        previous = GradeStore(self.repo.engine).time_before(block.chain_id, block.number)
        return due_after(previous, block.timestamp, self.every_seconds)


def due_after(previous: int | None, timestamp: int, every_seconds: int) -> bool:
    """The publication rule: a block is due `every_seconds` of block time after the previous publication's block
    time, or when nothing is published before it.

    >>> due_after(None, 100, 3600), due_after(100, 3699, 3600), due_after(100, 3700, 3600)
    (True, False, True)
    """
    return previous is None or timestamp - previous >= every_seconds


def grades_hook(
    repo: Repository,
    engines: Mapping[int, TvlEngine],
    every_seconds: int = DEFAULT_EVERY_SECONDS,
    revenue_shares: Mapping[str, Fraction] = DOCUMENTED_SHARES,
) -> GradesHook:
    """The hook `serve` and `index` run: graded tokens from the engines' registries, supplies read through them."""
    tokens = graded_tokens(engine.deployment for engine in engines.values())
    return GradesHook(repo, engine_readers(engines), tokens, every_seconds, revenue_shares)
