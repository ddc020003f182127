"""Yields per block in the store: write a block's rates (replacing them), read the newest per protocol.

The `Repository` methods `save_yields` / `latest_yields` wrap these in one transaction each:

    repo.save_yields(block, [Yield("aave-v3", pool, weth, "WETH", YieldKind.SUPPLY, apr, apy, "...")])
    [row] = repo.latest_yields(chain_id=1, protocol="aave-v3")
    row.block.number, row.rate.apr
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, delete, func, insert, select
from sqlalchemy.orm import Session

from defiscope.chain.block import BlockRef
from defiscope.protocols.yields import Yield, YieldKind
from defiscope.store.models import YieldRow
from defiscope.store.types import check_decimal

_NO_SYNC = {"synchronize_session": False}


@dataclass(frozen=True, slots=True)
class StoredYield:
    """A stored rate and the block it was read at."""

    block: BlockRef
    rate: Yield


def yield_values(block: BlockRef, rate: Yield) -> dict[str, Any]:
    """Columns of one `yields` row; refuses inexact or non-finite rates before anything is written."""
    return {
        "chain_id": block.chain_id,
        "block_number": block.number,
        "block_hash": block.hash,
        "block_timestamp": block.timestamp,
        "slug": rate.protocol,
        "market": rate.market,
        "asset": rate.asset,
        "symbol": rate.symbol,
        "kind": YieldKind(rate.kind).value,
        "apr": check_decimal(rate.apr),
        "apy": check_decimal(rate.apy),
        "method": rate.method,
    }


def replace_block(session: Session, block: BlockRef, rows: Sequence[dict[str, Any]], slugs: set[str]) -> None:
    """Delete the block's stored yields of `slugs`, then insert `rows` (a shorter list leaves nothing stale)."""
    session.execute(
        delete(YieldRow).where(
            YieldRow.chain_id == block.chain_id, YieldRow.block_number == block.number, YieldRow.slug.in_(slugs)
        ),
        execution_options=_NO_SYNC,
    )
    if rows:
        session.execute(insert(YieldRow), list(rows))


def latest_statement(chain_id: int | None, protocol: str | None) -> Select[Any]:
    """Rows of the newest stored block of every (chain, protocol), ordered for a stable listing."""
    newest = select(YieldRow.chain_id, YieldRow.slug, func.max(YieldRow.block_number).label("number")).group_by(
        YieldRow.chain_id, YieldRow.slug
    )
    if chain_id is not None:
        newest = newest.where(YieldRow.chain_id == chain_id)
    if protocol is not None:
        newest = newest.where(YieldRow.slug == protocol)
    top = newest.subquery()
    joined = and_(
        YieldRow.chain_id == top.c.chain_id, YieldRow.slug == top.c.slug, YieldRow.block_number == top.c.number
    )
    return (
        select(YieldRow)
        .join(top, joined)
        .order_by(YieldRow.slug, YieldRow.chain_id, YieldRow.symbol, YieldRow.market, YieldRow.kind)
    )


def to_stored(row: YieldRow) -> StoredYield:
    block = BlockRef(chain_id=row.chain_id, number=row.block_number, hash=row.block_hash, timestamp=row.block_timestamp)
    rate = Yield(row.slug, row.market, row.asset, row.symbol, YieldKind(row.kind), row.apr, row.apy, row.method)
    return StoredYield(block, rate)
