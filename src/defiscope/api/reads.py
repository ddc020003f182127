"""Store reads bounded in SQL: a point cap (LIMIT) and time buckets (GROUP BY) in the query itself, so the
work of a request does not grow with the history stored.

    series = price_series(repo, 1, weth, start=None, end=None, period=3600, limit=500)   # newest 500 hours
    first = first_price(repo, 1, weth)
    before, after = blocks_around(repo, 1, 1_700_000_000)
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from defiscope.chain.block import BlockRef
from defiscope.prices.quote import PriceQuote
from defiscope.store import Repository, convert
from defiscope.store.models import Block, Price


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
    bucket = Price.timestamp - Price.timestamp % period if period else Price.timestamp
    newest = func.max(Price.timestamp)
    chosen = select(newest.label("ts")).where(*where).group_by(bucket).order_by(newest.desc()).limit(limit).subquery()
    stmt = (
        select(Price)
        .join(chosen, Price.timestamp == chosen.c.ts)
        .where(Price.chain_id == chain_id, Price.token == token)
        .order_by(Price.timestamp, Price.confidence.desc(), Price.source)
    )
    with Session(repo.engine) as session:
        best: dict[int, PriceQuote] = {}
        for row in session.scalars(stmt):
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
