"""Store reads bounded in SQL: a point cap (LIMIT) and time buckets (GROUP BY) in the query itself, so the
work of a request does not grow with the history stored.

    series = price_series(repo, 1, weth, start=None, end=None, period=3600, limit=500)   # newest 500 hours
    points = protocol_points(repo, "aave-v3", None, start, end, width=86_400, limit=2000)  # per chain and day
    first = first_price(repo, 1, weth)
    before, after = blocks_around(repo, 1, 1_700_000_000)
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import BigInteger, ColumnElement, Select, Subquery, and_, func, literal, select
from sqlalchemy.orm import Session

from defiscope.chain.block import BlockRef
from defiscope.prices.quote import PriceQuote
from defiscope.store import ChainPoint, HistoryPoint, Repository, convert
from defiscope.store.models import Block, Price, TvlSnapshot


def price_series(
    repo: Repository,
    chain_id: int,
    token: str,
    *,
    start: int | None,
    end: int | None,
    period: int,
    limit: int,
) -> list[PriceQuote]:
    """Per `period` seconds (0: per timestamp) the newest quote, the most confident at that timestamp;
    at most the newest `limit` buckets, oldest first."""
    where = [Price.chain_id == chain_id, Price.token == token]
    if start is not None:
        where.append(Price.timestamp >= start)
    if end is not None:
        where.append(Price.timestamp <= end)
    # Integer buckets without division: timestamp - timestamp % period is integer arithmetic on every backend.
    bucket = Price.timestamp - Price.timestamp % _inline(period) if period else Price.timestamp
    newest = func.max(Price.timestamp)
    chosen = select(newest).where(*where).group_by(bucket).order_by(newest.desc()).limit(limit)
    with Session(repo.engine) as session:
        # Two bounded steps rather than a join: the timestamps, then their rows (a plan that cannot go wrong
        # on a table whose statistics are stale).
        stamps = list(session.scalars(chosen))
        stmt = (
            select(Price)
            .where(Price.chain_id == chain_id, Price.token == token, Price.timestamp.in_(stamps))
            .order_by(Price.timestamp, Price.confidence.desc(), Price.source)
        )
        best: dict[int, PriceQuote] = {}
        for row in session.scalars(stmt) if stamps else ():
            best.setdefault(row.timestamp, convert.to_price(row))
    return [best[t] for t in sorted(best)]


def first_price(repo: Repository, chain_id: int, token: str) -> PriceQuote | None:
    """The earliest stored quote of a token, the most confident at that timestamp."""
    stmt = (
        select(Price)
        .where(Price.chain_id == chain_id, Price.token == token)
        .order_by(Price.timestamp, Price.confidence.desc(), Price.source)
        .limit(1)
    )
    with Session(repo.engine) as session:
        row = session.scalars(stmt).one_or_none()
        return None if row is None else convert.to_price(row)


def blocks_around(repo: Repository, chain_id: int, timestamp: int) -> tuple[BlockRef | None, BlockRef | None]:
    """The last stored block at or before `timestamp` and the first after it (either may be None)."""
    before = select(Block).where(Block.chain_id == chain_id, Block.timestamp <= timestamp).order_by(Block.number.desc())
    after = select(Block).where(Block.chain_id == chain_id, Block.timestamp > timestamp).order_by(Block.number)
    with Session(repo.engine) as session:
        found = [session.scalars(stmt.limit(1)).one_or_none() for stmt in (before, after)]
    refs = [None if b is None else BlockRef(b.chain_id, b.number, b.hash, b.timestamp) for b in found]
    return refs[0], refs[1]


def _bucket(width: int) -> ColumnElement[int]:
    # Integer buckets without division: timestamp - timestamp % width is integer arithmetic on every backend.
    return TvlSnapshot.block_timestamp - TvlSnapshot.block_timestamp % _inline(width)


def _inline(value: int) -> ColumnElement[int]:
    """An integer written into the SQL text: PostgreSQL matches a GROUP BY expression to the selected one
    only if they are identical, and two bound parameters ($1, $2) are not."""
    return literal(int(value), type_=BigInteger, literal_execute=True)


def _snapshot_range(chain_id: int | None, start: int | None, end: int | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if chain_id is not None:
        where.append(TvlSnapshot.chain_id == chain_id)
    if start is not None:
        where.append(TvlSnapshot.block_timestamp >= start)
    if end is not None:
        where.append(TvlSnapshot.block_timestamp <= end)
    return where


def _newest_buckets(
    session: Session, where: list[ColumnElement[bool]], width: int, limit: int
) -> list[ColumnElement[bool]]:
    """`where`, narrowed to the newest `limit` buckets of `width` seconds that hold a snapshot."""
    bucket = _bucket(width)
    top = select(bucket.label("b")).where(*where).group_by(bucket).order_by(bucket.desc()).limit(limit).subquery()
    lowest = session.scalar(select(func.min(top.c.b)))
    return where if lowest is None else [*where, TvlSnapshot.block_timestamp >= lowest]


def protocol_points(
    repo: Repository,
    slug: str,
    chain_id: int | None,
    start: int | None,
    end: int | None,
    *,
    width: int,
    limit: int,
) -> list[HistoryPoint]:
    """A protocol's stored totals, oldest first. `width` 0: every stored snapshot, the newest `limit`;
    otherwise per chain and `width`-second bucket the last snapshot, over the newest `limit` buckets."""
    where = [TvlSnapshot.slug == slug, *_snapshot_range(chain_id, start, end)]
    with Session(repo.engine) as session:
        if width:
            chosen = _last_block_per_bucket(_newest_buckets(session, where, width, limit), width)
        else:
            chosen = (
                select(TvlSnapshot.chain_id, TvlSnapshot.block_number)
                .where(*where)
                .order_by(TvlSnapshot.block_timestamp.desc(), TvlSnapshot.chain_id, TvlSnapshot.block_number.desc())
                .limit(limit)
            )
        stmt = (
            select(TvlSnapshot)
            .join(*_at_chosen(chosen))
            .where(TvlSnapshot.slug == slug)
            .order_by(TvlSnapshot.block_timestamp, TvlSnapshot.chain_id, TvlSnapshot.block_number)
        )
        return [convert.to_history_point(row) for row in session.scalars(stmt)]


def _at_chosen(chosen: Select[int, int]) -> tuple[Subquery, ColumnElement[bool]]:
    """A join onto the (chain, block) rows `chosen` selects, in the database: a list of thousands of row values
    in `IN (...)` costs PostgreSQL seconds to plan and bind (measured: 9 s for 2,001 blocks)."""
    picked = chosen.subquery()
    chain, number = picked.c
    return picked, and_(TvlSnapshot.chain_id == chain, TvlSnapshot.block_number == number)


def _last_block_per_bucket(where: Sequence[ColumnElement[bool]], width: int) -> Select[int, int]:
    """Per chain and `width`-second bucket, the last stored block (of the rows ``where`` selects)."""
    return (
        select(TvlSnapshot.chain_id, func.max(TvlSnapshot.block_number))
        .where(*where)
        .group_by(TvlSnapshot.chain_id, _bucket(width))
    )


def chain_points(
    repo: Repository,
    chain_id: int | None,
    start: int | None,
    end: int | None,
    *,
    width: int,
    limit: int,
) -> list[ChainPoint]:
    """Chain TVL (the sum of the protocols stored at a block), oldest first. `width` 0: every stored block,
    the newest `limit`; otherwise per chain and bucket the last stored block, over the newest `limit` buckets."""
    where = _snapshot_range(chain_id, start, end)
    with Session(repo.engine) as session:
        if width:
            chosen = _last_block_per_bucket(_newest_buckets(session, where, width, limit), width)
        else:
            chosen = (
                select(TvlSnapshot.chain_id, TvlSnapshot.block_number)
                .where(*where)
                .group_by(TvlSnapshot.chain_id, TvlSnapshot.block_number)
                .order_by(func.max(TvlSnapshot.block_timestamp).desc())
                .limit(limit)
            )
        stmt = (
            select(
                TvlSnapshot.chain_id,
                TvlSnapshot.block_number,
                TvlSnapshot.block_hash,
                TvlSnapshot.block_timestamp,
                TvlSnapshot.tvl_usd,
            )
            .join(*_at_chosen(chosen))
            .order_by(TvlSnapshot.block_timestamp, TvlSnapshot.chain_id, TvlSnapshot.block_number)
        )
        return convert.chain_points(session.execute(stmt).all())


def price_span(repo: Repository, chain_id: int, token: str, start: int | None) -> int:
    """Seconds between the first stored quote of a token (from `start`) and its latest: two indexed reads."""
    where = [Price.chain_id == chain_id, Price.token == token]
    if start is not None:
        where.append(Price.timestamp >= start)
    with Session(repo.engine) as session:
        first, last = session.execute(select(func.min(Price.timestamp), func.max(Price.timestamp)).where(*where)).one()
    return 0 if first is None else int(last) - int(first)
