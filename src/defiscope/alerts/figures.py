"""A block's figures as the evaluator reads them: TVL per protocol, the prices the snapshots valued their tokens at,
the rates, and when each protocol was first stored. The blocks the indexer has just stored are handed over in memory
(`remember`, kept as far back as the rules look: `alerts.recent`); any other block is read from the store (three
queries) and cached: a backtest, a look-back past the kept window, the first blocks after a restart or a reorg.

    figures = StoredFigures(repo.engine)
    figures.keep(1, 11)                    # chain 1's rules look back at most 10 blocks
    figures.remember(result)               # the ChainTvl the indexer just stored
    now = figures.at(1, 1234)              # BlockFigures of a stored block, or None
    then = figures.at_or_before(1, 1224)   # the newest stored block at or before 1224
    figures.forget(1, 1230)                # a reorg from 1230: figures there are stale

The evidence of an alert (`snapshot_evidence`) reads the snapshot's priced tokens and provenance calls, only when
an alert fires.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from contextlib import nullcontext
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session

from defiscope.alerts.evaluate import HUNDRED, BlockFigures, PricePoint, RatePoint
from defiscope.alerts.recent import MISSING, Missing, RecentBlocks, figures_of, ordered_rates, price_index
from defiscope.chain.block import BlockRef
from defiscope.protocols.base import BalanceKind
from defiscope.store.models import Block, ProvenanceCall, SnapshotToken, TvlSnapshot, YieldRow
from defiscope.tvl.engine import ChainTvl
from defiscope.tvl.model import ProtocolSnapshot, TokenValue

#: Blocks of figures kept per process (windows of up to this many stored blocks stay in memory).
CACHED_BLOCKS: Final = 512
#: Evidence lists at most this many tokens and calls (a big pool's snapshot has thousands; the counts say how many).
EVIDENCE_ITEMS: Final = 20


class StoredFigures:
    """`BlockFigures` of stored blocks: the latest ones as the indexer handed them over (`remember`), older ones
    read from the store, the most recently read of those cached."""

    __slots__ = ("_cache", "_engine", "_first_seen", "_lock", "_nearest", "_recent")

    def __init__(self, engine: Engine) -> None:
        # Core connections, not ORM sessions: these reads run on every evaluated block and map no objects.
        self._engine = engine
        self._cache: OrderedDict[tuple[int, int], BlockFigures] = OrderedDict()
        self._first_seen: dict[int, dict[str, int]] = {}
        #: (chain, number) -> the newest stored block at or before it (None: none): 1,000 rules with a window ask
        #: the same few numbers each block.
        self._nearest: dict[tuple[int, int], int | None] = {}
        self._recent: dict[int, RecentBlocks] = {}  # chain -> the blocks its indexer stored last
        #: The indexer's rollback (`forget`, on its thread) may run while another chain's rules read the cache.
        self._lock = threading.Lock()

    def keep(self, chain_id: int, span: int) -> None:
        """Keep `span` block numbers of `chain_id` in memory (the deepest rule's depth plus its window, plus one)."""
        with self._lock:
            self._window(chain_id).span = max(span, 1)

    def remember(self, result: ChainTvl) -> BlockFigures:
        """The figures of a block the indexer has just stored, kept for the rules (no read of what was written,
        except once the first stored time of a protocol new to this process)."""
        chain_id = result.block.chain_id
        figures = figures_of(result, self._first_seen_of(chain_id, [s.slug for s in result.snapshots]))
        with self._lock:
            self._window(chain_id).add(figures)
        return figures

    def at(self, chain_id: int, number: int) -> BlockFigures | None:
        key = (chain_id, number)
        with self._lock:
            recent = self._recent.get(chain_id)
            hit = None if recent is None else recent.get(number)
            if hit is None:
                hit = self._cache.get(key)
                if hit is not None:
                    self._cache.move_to_end(key)
        if hit is not None:
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
        with self._lock:
            recent = self._recent.get(chain_id)
            kept = MISSING if recent is None else recent.nearest(number)
        if not isinstance(kept, Missing):
            return kept
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
        """Drop figures of `chain_id` at `from_block` and above (rolled back), and the first-seen times."""
        with self._lock:
            for key in [k for k in self._cache if k[0] == chain_id and k[1] >= from_block]:
                del self._cache[key]
            if chain_id in self._recent:
                self._recent[chain_id].forget(from_block)
            self._nearest = {k: v for k, v in self._nearest.items() if k[0] != chain_id}
            self._first_seen.pop(chain_id, None)

    def _window(self, chain_id: int) -> RecentBlocks:
        return self._recent.setdefault(chain_id, RecentBlocks(1))

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
        known = self._first_seen_of(chain_id, tvl, conn)
        return BlockFigures(
            ref,
            tvl,
            _prices(conn, chain_id, number),
            _rates(conn, chain_id, number),
            {slug: known[slug] for slug in tvl if slug in known},
        )

    def _first_seen_of(self, chain_id: int, slugs: Iterable[str], conn: Connection | None = None) -> dict[str, int]:
        """First stored block time of the chain's protocols (one looked up once, when it is new to this process)."""
        known = self._first_seen.setdefault(chain_id, {})
        new = [slug for slug in slugs if slug not in known]
        if new:
            with nullcontext(conn) if conn is not None else self._engine.connect() as reading:
                stmt = (
                    select(TvlSnapshot.slug, func.min(TvlSnapshot.block_timestamp))
                    .where(TvlSnapshot.chain_id == chain_id, TvlSnapshot.slug.in_(new))
                    .group_by(TvlSnapshot.slug)
                )
                known.update({slug: int(first) for slug, first in reading.execute(stmt)})
        return known


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
    return price_index(
        PricePoint(token, symbol, usd, str(source))
        for token, symbol, usd, source in conn.execute(stmt)
        if usd is not None  # excluded by the query; narrows the type
    )


def _rates(conn: Connection, chain_id: int, number: int) -> tuple[RatePoint, ...]:
    # Columns, not ORM rows: a block's rates are read on every evaluated block.
    stmt = select(YieldRow.slug, YieldRow.market, YieldRow.asset, YieldRow.symbol, YieldRow.kind, YieldRow.apy).where(
        YieldRow.chain_id == chain_id, YieldRow.block_number == number
    )
    return ordered_rates(
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
    counts = [
        int(session.scalar(select(func.count()).where(column == snapshot.id)) or 0)
        for column in (SnapshotToken.snapshot_id, ProvenanceCall.snapshot_id)
    ]
    return _detail(
        snapshot.tvl_usd,
        snapshot.unpriced_count,
        [
            _token(t.token, t.symbol, t.kind, t.amount, t.decimals, t.price_usd, t.price_source, t.value_usd)
            | {"unpriced_reason": t.unpriced_reason}
            for t in tokens
        ],
        [_call(c.target, c.function, c.success, c.block_number) for c in calls],
        *counts,
    )


def snapshot_detail(snapshot: ProtocolSnapshot) -> dict[str, Any]:
    """`snapshot_evidence` of a snapshot still in memory (the block the indexer just stored): the same dict, with
    nothing read back."""
    number = snapshot.block.number
    calls = [
        _call(c.target, c.function, c.success, number if c.block is None else c.block)
        for c in snapshot.calls[:EVIDENCE_ITEMS]
    ]
    tokens = [_token_value(t) for t in snapshot.tokens[:EVIDENCE_ITEMS]]
    total = snapshot.total(BalanceKind.TVL)
    return _detail(total, len(snapshot.unpriced), tokens, calls, len(snapshot.tokens), len(snapshot.calls))


def _detail(
    tvl_usd: Decimal,
    unpriced_count: int,
    tokens: list[dict[str, Any]],
    calls: list[dict[str, Any]],
    token_count: int,
    call_count: int,
) -> dict[str, Any]:
    return {
        "tvl_usd": str(tvl_usd),
        "unpriced_count": unpriced_count,
        "tokens": tokens,
        "calls": calls,
        # All of them, beyond the first EVIDENCE_ITEMS listed.
        "token_count": token_count,
        "call_count": call_count,
    }


def _token(
    token: str,
    symbol: str,
    kind: str,
    amount: int,
    decimals: int,
    price_usd: Decimal | None,
    price_source: str | None,
    value_usd: Decimal | None,
) -> dict[str, Any]:
    return {
        "token": token,
        "symbol": symbol,
        "kind": kind,
        "amount": str(amount),
        "decimals": decimals,
        "price_usd": None if price_usd is None else str(price_usd),
        "price_source": price_source,
        "value_usd": None if value_usd is None else str(value_usd),
    }


def _token_value(t: TokenValue) -> dict[str, Any]:
    quote = t.price
    usd, source = (None, None) if quote is None else (quote.usd, quote.source)
    kind = BalanceKind(t.kind).value
    return _token(t.token, t.symbol, kind, t.amount, t.decimals, usd, source, t.value_usd) | {
        "unpriced_reason": t.unpriced_reason
    }


def _call(target: str, function: str, success: bool, block: int) -> dict[str, Any]:
    return {"target": target, "function": function, "success": success, "block": block}
