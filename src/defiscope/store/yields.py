"""Yields per block in the store: write a block's rates and gaps (replacing them), read the newest per protocol.

The `Repository` methods `save_yields` / `latest_yields` / `latest_yields_and_gaps` wrap these in one
transaction each:

    repo.save_yields(block, [Yield("aave-v3", pool, weth, "WETH", YieldKind.SUPPLY, apr, apy, "...")],
                     unavailable=[YieldGap("aave-v3", pool, usdc, "USDC", YieldKind.SUPPLY, reason="...")])
    [row] = repo.latest_yields(chain_id=1, protocol="aave-v3")
    row.block.number, row.rate.apr
    repo.latest_yields_and_gaps(chain_id=1).gaps[0].gap.reason

A block with only gaps stored for a protocol is its newest block all the same: the rates of an older block
are never served for a market the newest block could not read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from sqlalchemy import Select, and_, delete, func, insert, or_, select, union_all
from sqlalchemy.orm import Session

from defiscope.chain.block import BlockRef
from defiscope.protocols.revenue import FeeShare
from defiscope.protocols.yields import Yield, YieldGap, YieldKind
from defiscope.store.models import YieldGapRow, YieldRow
from defiscope.store.types import check_decimal

_NO_SYNC = {"synchronize_session": False}


@dataclass(frozen=True, slots=True)
class StoredYield:
    """A stored rate and the block it was read at."""

    block: BlockRef
    rate: Yield


@dataclass(frozen=True, slots=True)
class StoredYieldGap:
    """A rate that could not be read, and the block it was missing at."""

    block: BlockRef
    gap: YieldGap


@dataclass(frozen=True, slots=True)
class LatestYields:
    """The newest block's rates and gaps of every (chain, protocol): a gap's market has no rate here."""

    rates: list[StoredYield]
    gaps: list[StoredYieldGap]


@dataclass(frozen=True, slots=True)
class YieldPage:
    """A page of the newest rates (`latest_page`), the gaps of its kind, and how many rates all pages hold."""

    rates: list[StoredYield]
    gaps: list[StoredYieldGap]
    total: int


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
        **_fee_share_values(rate.fee_share),
    }


def _fee_share_values(fee_share: FeeShare | None) -> dict[str, str | None]:
    if fee_share is None:
        return {"fee_share": None, "fee_share_source": None}
    share = fee_share.share
    return {"fee_share": None if share is None else str(share), "fee_share_source": fee_share.source}


def _fee_share(row: YieldRow) -> FeeShare | None:
    if row.fee_share_source is None:
        return None
    return FeeShare(None if row.fee_share is None else Fraction(row.fee_share), row.fee_share_source)


def replace_block(
    session: Session, block: BlockRef, rows: Sequence[dict[str, Any]], gaps: Sequence[dict[str, Any]], slugs: set[str]
) -> None:
    """Delete the block's stored yields and gaps of `slugs`, then insert `rows` and `gaps` (a shorter list
    leaves nothing stale)."""
    for table, values in ((YieldRow, rows), (YieldGapRow, gaps)):
        session.execute(
            delete(table).where(
                table.chain_id == block.chain_id, table.block_number == block.number, table.slug.in_(slugs)
            ),
            execution_options=_NO_SYNC,
        )
        if values:
            session.execute(insert(table), list(values))


def gap_values(block: BlockRef, gap: YieldGap) -> dict[str, Any]:
    """Columns of one `yield_gaps` row."""
    return {
        "chain_id": block.chain_id,
        "block_number": block.number,
        "block_hash": block.hash,
        "block_timestamp": block.timestamp,
        "slug": gap.protocol,
        "market": gap.market,
        "asset": gap.asset,
        "symbol": gap.symbol,
        "kind": None if gap.kind is None else YieldKind(gap.kind).value,
        "reason": gap.reason,
    }


def latest(session: Session, chain_id: int | None, protocol: str | None) -> LatestYields:
    """The rates and gaps of the newest block of every (chain, protocol) that has either stored.

    The newest blocks are fixed first and both tables read at exactly those, so the rates and the gaps
    belong to the same block even if a newer one is written between the reads (PostgreSQL reads committed
    rows per statement).
    """
    page = latest_page(session, chain_id, protocol)
    return LatestYields(page.rates, page.gaps)


def latest_page(
    session: Session,
    chain_id: int | None,
    protocol: str | None,
    kind: YieldKind | None = None,
    *,
    offset: int = 0,
    limit: int | None = None,
) -> YieldPage:
    """`latest`'s rates of one kind (or all), only ``offset .. offset + limit`` of them loaded, and how many there
    are; the gaps of that kind. The store filters, orders, counts and slices: a scale world's tens of thousands of
    rates are never loaded to serve a page of them."""
    newest = [(c, slug, n) for c, slug, n in session.execute(_newest_statement(chain_id, protocol))]
    if not newest:
        return YieldPage([], [], 0)
    where = [_at_blocks(YieldRow, newest)] + ([] if kind is None else [YieldRow.kind == kind.value])
    rates = (
        select(YieldRow)
        .where(*where)
        .order_by(YieldRow.slug, YieldRow.chain_id, YieldRow.symbol, YieldRow.market, YieldRow.kind)
        .offset(offset)
        .limit(limit)
    )
    page = [to_stored(row) for row in session.scalars(rates)]
    whole = offset == 0 and limit is None  # every rate loaded: no count to ask
    total = len(page) if whole else session.scalar(select(func.count()).select_from(YieldRow).where(*where)) or 0
    gaps = select(YieldGapRow).where(_at_blocks(YieldGapRow, newest))
    if kind is not None:  # a gap of no kind (a whole market unread) is one of every kind's
        gaps = gaps.where(or_(YieldGapRow.kind.is_(None), YieldGapRow.kind == kind.value))
    return YieldPage(
        page,
        [
            to_stored_gap(row)
            for row in session.scalars(
                gaps.order_by(
                    YieldGapRow.slug, YieldGapRow.chain_id, YieldGapRow.symbol, YieldGapRow.market, YieldGapRow.kind
                )
            )
        ],
        total,
    )


def _newest_statement(chain_id: int | None, protocol: str | None) -> Select[int, str, int]:
    """(chain, protocol, newest block) over the blocks with yields or gaps stored."""
    parts = []
    for table in (YieldRow, YieldGapRow):
        part = select(table.chain_id, table.slug, table.block_number)
        if chain_id is not None:
            part = part.where(table.chain_id == chain_id)
        if protocol is not None:
            part = part.where(table.slug == protocol)
        parts.append(part)
    both = union_all(*parts).subquery()
    return select(both.c.chain_id, both.c.slug, func.max(both.c.block_number)).group_by(both.c.chain_id, both.c.slug)


def _at_blocks(table: type[YieldRow] | type[YieldGapRow], blocks: Sequence[tuple[int, str, int]]) -> Any:
    """Rows of `table` at one of `blocks` (chain, protocol, block number)."""
    return or_(
        *(
            and_(table.chain_id == chain, table.slug == slug, table.block_number == number)
            for chain, slug, number in blocks
        )
    )


def to_stored_gap(row: YieldGapRow) -> StoredYieldGap:
    block = BlockRef(chain_id=row.chain_id, number=row.block_number, hash=row.block_hash, timestamp=row.block_timestamp)
    kind = None if row.kind is None else YieldKind(row.kind)
    return StoredYieldGap(block, YieldGap(row.slug, row.market, row.asset, row.symbol, kind, row.reason))


def to_stored(row: YieldRow) -> StoredYield:
    block = BlockRef(chain_id=row.chain_id, number=row.block_number, hash=row.block_hash, timestamp=row.block_timestamp)
    rate = Yield(
        row.slug, row.market, row.asset, row.symbol, YieldKind(row.kind), row.apr, row.apy, row.method, _fee_share(row)
    )
    return StoredYield(block, rate)
