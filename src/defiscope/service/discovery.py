"""Persistent discovery: every adapter's `LogCursor`s kept in the store, and rolled back with the snapshots.

    attach_discovery(engine, repo)               # the next scans load what is stored and save what they find
    await heal_discovery(engine, repo, depth=64) # at start: a cursor whose block the chain lost is rolled back
    rewind_discovery(engine, fork - 1)           # after repo.rollback_from(chain, fork): the cursors in memory

The indexer (`serve`, `index`) and `backfill` attach their engine's cursors to their store, so a restart
scans only the blocks after the stored cursors, never from a factory's deployment block again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import structlog

from defiscope.protocols.log_cursor import CursorStore, LogCursor, ProgressCallback
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class DiscoveryProgress:
    """How far each discovery source of a chain has scanned towards its target (a `ProgressCallback`): what
    `/v1/health` and the dashboard can show while a first discovery runs; logged at every tenth of the way."""

    chain_id: int
    sources: dict[str, tuple[int, int]] = field(default_factory=dict)  # source -> (scanned_to, target)
    #: Told each chunk too, as it is kept (`serve`'s progress board: `ChainSync.discovered`).
    listeners: list[ProgressCallback] = field(default_factory=list)

    def __call__(self, source: str, scanned_to: int, target: int) -> None:
        before = self.sources.get(source, (target, target))
        self.sources[source] = (scanned_to, target)
        for listener in self.listeners:
            listener(source, scanned_to, target)
        # Only long scans are logged (a block's own scan is done at its first chunk): each tenth, and the end.
        long_scan = scanned_to < target or before[0] < before[1]
        if long_scan and (before[1] != target or _tenths(*before) != _tenths(scanned_to, target)):
            log.info("discovery.progress", chain_id=self.chain_id, source=source, scanned_to=scanned_to, target=target)

    @property
    def syncing(self) -> bool:
        """Whether a source's last scan has not reached its target yet."""
        return any(scanned_to < target for scanned_to, target in self.sources.values())


def _tenths(scanned_to: int, target: int) -> int:
    return 10 * scanned_to // max(1, target)


def engine_cursors(engine: TvlEngine) -> Iterator[LogCursor[Any]]:
    """Every event cursor of every adapter of the engine."""
    for adapter in engine.adapters:
        yield from adapter.log_cursors()


def attach_discovery(engine: TvlEngine, store: CursorStore, on_progress: ProgressCallback | None = None) -> int:
    """Persist every cursor of the engine in `store` (already attached ones are left as they are); returns how
    many cursors the engine has."""
    cursors = list(engine_cursors(engine))
    for cursor in cursors:
        if cursor.store is not store:
            cursor.attach(store, on_progress=on_progress)
    return len(cursors)


def rewind_discovery(engine: TvlEngine, block: int) -> None:
    """Forget, in memory, what every cursor of the engine found after `block` (the store's rollback did the
    same on disk)."""
    for cursor in engine_cursors(engine):
        cursor.rewind(block)


async def heal_discovery(engine: TvlEngine, repo: Repository, depth: int) -> int | None:
    """Roll back discovery where a stored cursor's last block is no longer the chain's (a reorg while the
    process was down, at a block no snapshot was stored at): from `depth` blocks below the lowest such cursor,
    since what is older is final. Returns the block rolled back from, or None."""
    client = engine.client
    stored = await asyncio.to_thread(repo.discovery_cursors, client.chain_id)
    checked = sorted({(n, h) for n, h in stored.values() if h is not None})
    if not checked:
        return None
    answers = await client.rpc.batch([("eth_getBlockByNumber", [hex(n), False]) for n, _ in checked])
    for (number, stored_hash), answer in zip(checked, answers, strict=True):
        raw = answer.unwrap()
        if raw is None or str(raw["hash"]).lower() != stored_hash.lower():
            fork = max(0, number - depth + 1)
            await asyncio.to_thread(repo.rollback_discovery, client.chain_id, fork)
            rewind_discovery(engine, fork - 1)
            log.warning("discovery.rolled_back", chain_id=client.chain_id, from_block=fork, stale_block=number)
            return fork
    return None
