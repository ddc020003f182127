"""Compute a chain's snapshot and store it, idempotently; a reorged block is rolled back first.

result = await snapshot_and_store(engine, repo, "latest")
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection

import structlog

from defiscope.store import Repository
from defiscope.store.errors import BlockConflictError
from defiscope.tvl.engine import ChainTvl, TvlEngine

log = structlog.get_logger(__name__)


def store_result(repo: Repository, result: ChainTvl) -> None:
    """Save every protocol snapshot of a result; a stored block with another hash is rolled back first."""
    for snapshot in result.snapshots:
        try:
            repo.save_snapshot(snapshot)
        except BlockConflictError as conflict:
            dropped = repo.rollback_from(conflict.chain_id, conflict.number)
            log.warning("reorg.rolled_back", chain_id=conflict.chain_id, block=conflict.number, snapshots=dropped)
            repo.save_snapshot(snapshot)


async def snapshot_and_store(
    engine: TvlEngine, repo: Repository, at: int | str = "latest", *, slugs: Collection[str] | None = None
) -> ChainTvl:
    result = await engine.snapshot(at, slugs=slugs)
    await asyncio.to_thread(store_result, repo, result)
    return result
