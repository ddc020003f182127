"""A block's figures from the store, as the evaluator reads them: TVL per protocol, the prices the snapshots valued
their tokens at, the rates, and when each protocol was first stored. Three queries per block, cached (a rule with a
window of 10 blocks reads the figures of 10 blocks ago, loaded when that block was evaluated).

    figures = StoredFigures(repo.engine)
    now = figures.at(1, 1234)              # BlockFigures of a stored block, or None
    then = figures.at_or_before(1, 1224)   # the newest stored block at or before 1224
    figures.forget(1, 1230)                # a reorg from 1230: cached figures there are stale

The evidence of an alert (`snapshot_evidence`) reads the snapshot's priced tokens and provenance calls, only when
an alert fires.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session

from defiscope.alerts.evaluate import HUNDRED, BlockFigures, PricePoint, RatePoint
from defiscope.chain.block import BlockRef
from defiscope.store.models import Block, ProvenanceCall, SnapshotToken, TvlSnapshot, YieldRow

#: Blocks of figures kept per process (windows of up to this many stored blocks stay in memory).
CACHED_BLOCKS: Final = 512
#: Evidence lists at most this many tokens and calls (a big pool's snapshot has thousands; the counts say how many).
EVIDENCE_ITEMS: Final = 20


class StoredFigures:
    """Reads `BlockFigures` from the store, caching the most recent blocks."""

    __slots__ = ("_cache", "_engine", "_first_seen", "_lock", "_nearest")

    def __init__(self, engine: Engine) -> None:
        # Core connections, not ORM sessions: these reads run on every evaluated block and map no objects.
        self._engine = engine
        self._cache: OrderedDict[tuple[int, int], BlockFigures] = OrderedDict()
        self._first_seen: dict[int, dict[str, int]] = {}
        #: (chain, number) -> the newest stored block at or before it (None: none): 1,000 rules with a window ask
        #: the same few numbers each block.
        self._nearest: dict[tuple[int, int], int | None] = {}
        #: The indexer's rollback (`forget`, on its thread) may run while another chain's rules read the cache.
        self._lock = threading.Lock()

    def at(self, chain_id: int, number: int) -> BlockFigures | None:
        key = (chain_id, number)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        with self._engine.connect() as conn:
            figures = self._load(conn, chain_id, number)
        if figures is not None:
            with self._lock:
                self._cache[key] = figures
                if len(self._cache) > CACHED_BLOCKS:
                    self._cache.popitem(last=False)
        return figures

    def at_or_before(self, chain_id: int, number: int) -> BlockFigures | None:
        if (chain_id, number) in self._cache:
            return self.at(chain_id, number)
        key = (chain_id, number)
        if key not in self._nearest:
            stmt = select(func.max(Block.number)).where(Block.chain_id == chain_id, Block.number <= number)
            with self._engine.connect() as conn:
                found = conn.scalar(stmt)
            if len(self._nearest) > CACHED_BLOCKS * 4:
                self._nearest.clear()
            self._nearest[key] = None if found is None else int(found)
        nearest = self._nearest[key]
        return None if nearest is None else self.at(chain_id, nearest)

    def stored_blocks(self, chain_id: int, after: int | None, upto: int, limit: int) -> list[int]:
        """Stored block numbers in (after, upto], oldest first, at most `limit` (the newest `limit` if more)."""
        stmt = select(Block.number).where(Block.chain_id == chain_id, Block.number <= upto)
        if after is not None:
            stmt = stmt.where(Block.number > after)
        with self._engine.connect() as conn:
            numbers = list(conn.scalars(stmt.order_by(Block.number.desc()).limit(limit)))
        return sorted(int(n) for n in numbers)

    def forget(self, chain_id: int, from_block: int) -> None:
        """Drop cached figures of `chain_id` at `from_block` and above (rolled back), and the first-seen times."""
        with self._lock:
            for key in [k for k in self._cache if k[0] == chain_id and k[1] >= from_block]:
                del self._cache[key]
            self._nearest = {k: v for k, v in self._nearest.items() if k[0] != chain_id}
            self._first_seen.pop(chain_id, None)

    def _load(self, conn: Connection, chain_id: int, number: int) -> BlockFigures | None:
        stmt = select(Block.hash, Block.timestamp).where(Block.chain_id == chain_id, Block.number == number)
        block = conn.execute(stmt).one_or_none()
        if block is None:
            return None
        ref = BlockRef(chain_id, number, block.hash, block.timestamp)
        tvl = {
            slug: value
            for slug, value in conn.execute(
                select(TvlSnapshot.slug, TvlSnapshot.tvl_usd).where(
                    TvlSnapshot.chain_id == chain_id, TvlSnapshot.block_number == number
                )
            )
        }
        return BlockFigures(
            ref,
            tvl,
            _prices(conn, chain_id, number),
            _rates(conn, chain_id, number),
            self._seen(conn, chain_id, tvl),
        )

    def _seen(self, conn: Connection, chain_id: int, tvl: dict[str, Decimal]) -> dict[str, int]:
        """First stored block time of each protocol of the block (a protocol new to the cache is looked up once)."""
        known = self._first_seen.setdefault(chain_id, {})
        new = [slug for slug in tvl if slug not in known]
        if new:
            stmt = (
                select(TvlSnapshot.slug, func.min(TvlSnapshot.block_timestamp))
                .where(TvlSnapshot.chain_id == chain_id, TvlSnapshot.slug.in_(new))
                .group_by(TvlSnapshot.slug)
            )
            known.update({slug: int(first) for slug, first in conn.execute(stmt)})
        return {slug: known[slug] for slug in tvl if slug in known}


def _prices(conn: Connection, chain_id: int, number: int) -> dict[str, PricePoint]:
    stmt = (
        select(SnapshotToken.token, SnapshotToken.symbol, SnapshotToken.price_usd, SnapshotToken.price_source)
        .join(TvlSnapshot, TvlSnapshot.id == SnapshotToken.snapshot_id)
        .where(
            TvlSnapshot.chain_id == chain_id,
            TvlSnapshot.block_number == number,
            SnapshotToken.price_usd.is_not(None),
        )
        .distinct()
    )
    prices: dict[str, PricePoint] = {}
    for token, symbol, usd, source in conn.execute(stmt):
        if usd is None:  # excluded by the query; narrows the type
            continue
        point = PricePoint(token, symbol, usd, str(source))
        prices.setdefault(token.lower(), point)
        prices.setdefault(symbol.upper(), point)
    return prices


def _rates(conn: Connection, chain_id: int, number: int) -> tuple[RatePoint, ...]:
    # Columns, not ORM rows: a block's rates are read on every evaluated block.
    stmt = select(YieldRow.slug, YieldRow.market, YieldRow.asset, YieldRow.symbol, YieldRow.kind, YieldRow.apy).where(
        YieldRow.chain_id == chain_id, YieldRow.block_number == number
    )
    return tuple(
        RatePoint(slug, market, asset, symbol, kind, apy * HUNDRED)
        for slug, market, asset, symbol, kind, apy in conn.execute(stmt)
    )


def snapshot_evidence(session: Session, slug: str, chain_id: int, number: int) -> dict[str, Any]:
    """The priced tokens and the provenance calls behind a protocol's stored TVL at a block (first
    `EVIDENCE_ITEMS` of each, with the totals' counts)."""
    snapshot = session.scalars(
        select(TvlSnapshot).where(
            TvlSnapshot.slug == slug, TvlSnapshot.chain_id == chain_id, TvlSnapshot.block_number == number
        )
    ).one_or_none()
    if snapshot is None:
        return {}
    tokens = session.scalars(
        select(SnapshotToken)
        .where(SnapshotToken.snapshot_id == snapshot.id)
        .order_by(SnapshotToken.ordinal)
        .limit(EVIDENCE_ITEMS)
    ).all()
    calls = session.scalars(
        select(ProvenanceCall)
        .where(ProvenanceCall.snapshot_id == snapshot.id)
        .order_by(ProvenanceCall.ordinal)
        .limit(EVIDENCE_ITEMS)
    ).all()
    counts = {
        name: int(session.scalar(select(func.count()).where(column == snapshot.id)) or 0)
        for name, column in (("token_count", SnapshotToken.snapshot_id), ("call_count", ProvenanceCall.snapshot_id))
    }
    return {
        "tvl_usd": str(snapshot.tvl_usd),
        "unpriced_count": snapshot.unpriced_count,
        "tokens": [
            {
                "token": t.token,
                "symbol": t.symbol,
                "kind": t.kind,
                "amount": str(t.amount),
                "decimals": t.decimals,
                "price_usd": None if t.price_usd is None else str(t.price_usd),
                "price_source": t.price_source,
                "value_usd": None if t.value_usd is None else str(t.value_usd),
                "unpriced_reason": t.unpriced_reason,
            }
            for t in tokens
        ],
        "calls": [
            {"target": c.target, "function": c.function, "success": c.success, "block": c.block_number} for c in calls
        ],
        **counts,  # token_count, call_count: all of them, beyond the first EVIDENCE_ITEMS listed
    }
