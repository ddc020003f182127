"""Store what the engine computed: the protocol snapshots and the prices chosen at that block.

    save_result(repo, result)                          # raises BlockConflictError on a reorged block
    result = await snapshot_and_store(engine, repo)    # one-shot commands: a reorged block is rolled back

Every write is idempotent (re-saving a block replaces it), so a retry never duplicates.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection

import structlog

from defiscope.store import Repository
from defiscope.store.errors import BlockConflictError
from defiscope.tvl.engine import ChainTvl, TvlEngine

log = structlog.get_logger(__name__)


def save_result(repo: Repository, result: ChainTvl) -> None:
    """Save every protocol snapshot of a result, the chosen price of every token it valued, and the yields
    with the rates that could not be read (which replace, for their block, any stored before)."""
    repo.save_snapshots(result.snapshots)  # one transaction: a block is visible whole or not at all
    repo.save_prices(d.quote for d in result.prices.values() if d.quote is not None)
    repo.save_yields(
        result.block,
        result.yields,
        protocols=(s.slug for s in result.snapshots),
        unavailable=result.yields_unavailable,
    )


def save_result_after_reorg(repo: Repository, result: ChainTvl) -> None:
    """`save_result`, rolling back first when the block's stored hash belongs to an abandoned fork."""
    try:
        save_result(repo, result)
    except BlockConflictError as conflict:
        dropped = repo.rollback_from(conflict.chain_id, conflict.number)
        log.warning("reorg.rolled_back", chain_id=conflict.chain_id, block=conflict.number, snapshots=dropped)
        save_result(repo, result)


async def snapshot_and_store(
    engine: TvlEngine, repo: Repository, at: int | str = "latest", *, slugs: Collection[str] | None = None
) -> ChainTvl:
    result = await engine.snapshot(at, slugs=slugs)
    await asyncio.to_thread(save_result_after_reorg, repo, result)
    return result
