"""The /v1 documents, built from the store (sync, run in a worker thread, once per indexed block).

page = protocol_page(ctx, ProtocolQuery(limit=10))      # models.ProtocolPage
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final

from defiscope.analytics.rankings import ProtocolRow, rank
from defiscope.api import models as m
from defiscope.api import reads
from defiscope.api.context import ApiContext
from defiscope.api.errors import ApiError
from defiscope.api.syncing import not_ready
from defiscope.chain.block import BlockRef
from defiscope.chain.registry import CHAINS, ChainInfo
from defiscope.protocols.base import BalanceKind
from defiscope.store import HistoryPoint
from defiscope.tvl.explain import explain
from defiscope.tvl.model import NotCounted, ProtocolSnapshot, TokenValue, exact_sum, not_counted_summary
from defiscope.tvl.totals import aggregate


class SortKey(StrEnum):
    TVL = "tvl"
    NAME = "name"
    CHANGE_1H = "change_1h"
    CHANGE_1D = "change_1d"
    CHANGE_7D = "change_7d"


class Interval(StrEnum):
    BLOCK = "block"
    HOUR = "hour"
    DAY = "day"


SECONDS: Final = {Interval.HOUR: 3600, Interval.DAY: 86_400}


def dec(value: Decimal) -> str:
    """An exact decimal string without exponent ("0E-40" -> "0E-40" would confuse clients: "0.000...")."""
    return format(value, "f")


def opt_dec(value: Decimal | None) -> str | None:
    return None if value is None else dec(value)


def chain_slug(chain_id: int) -> str:
    info = CHAINS.get(chain_id)
    return info.name if info else str(chain_id)


def block_model(block: BlockRef) -> m.Block:
    return m.Block(
        chain=chain_slug(block.chain_id),
        chain_id=block.chain_id,
        number=block.number,
        hash=block.hash,
        timestamp=block.timestamp,
    )


# ------------------------------------------------------------------ protocols


@dataclass(frozen=True, slots=True)
class ProtocolQuery:
    limit: int = 50
    offset: int = 0
    sort: SortKey = SortKey.TVL
    descending: bool = True
    chain: int | None = None
    category: str | None = None


def ranked(ctx: ApiContext) -> tuple[list[ProtocolRow], list[ProtocolSnapshot]]:
    """The ranking and the latest snapshots it is made of, computed once per indexed version for every route
    (shared: do not mutate)."""
    return ctx.ranking.get(ctx.cache.current, lambda: _ranked(ctx))


def _ranked(ctx: ApiContext) -> tuple[list[ProtocolRow], list[ProtocolSnapshot]]:
    snapshots = ctx.repo.latest_snapshots()
    slugs = {s.slug for s in snapshots}
    return rank(snapshots, {s: ctx.info(s) for s in slugs}, ctx.repo.tvl_before), snapshots


def summary(row: ProtocolRow, snapshots: Sequence[ProtocolSnapshot] = ()) -> m.ProtocolSummary:
    """`row`'s figures; `snapshots` (any protocols') say what of it was not counted."""
    uncounted = [u for s in snapshots if s.slug == row.slug for u in s.uncounted]
    return m.ProtocolSummary(
        slug=row.slug,
        name=row.name,
        category=row.category,
        tvl_usd=dec(row.tvl_usd),
        borrowed_usd=dec(row.borrowed_usd),
        staking_usd=dec(row.staking_usd),
        pool2_usd=dec(row.pool2_usd),
        chains={name: dec(v) for name, v in row.chains.items()},
        change_1h=opt_dec(row.change.get("1h")),
        change_1d=opt_dec(row.change.get("1d")),
        change_7d=opt_dec(row.change.get("7d")),
        unpriced_count=len(row.unpriced),
        uncounted_count=len(uncounted),
        not_counted=not_counted_summary(uncounted),
        blocks=[block_model(b) for b in row.blocks.values()],
    )


def _sort_value(row: ProtocolRow, key: SortKey) -> tuple[int, Decimal | str]:
    """Rows without a figure (no earlier snapshot) sort last either way: (missing, value)."""
    if key is SortKey.NAME:
        return (0, row.name.lower())
    if key is SortKey.TVL:
        return (0, row.tvl_usd)
    change = row.change.get(key.value.removeprefix("change_"))
    return (0, change) if change is not None else (1, Decimal(0))


def protocol_page(ctx: ApiContext, query: ProtocolQuery) -> m.ProtocolPage:
    rows, snapshots = ranked(ctx)
    if query.chain is not None:
        name = chain_slug(query.chain)
        rows = [r for r in rows if name in r.chains]
    if query.category is not None:
        rows = [r for r in rows if r.category.lower() == query.category.lower()]
    present = [r for r in rows if _sort_value(r, query.sort)[0] == 0]
    absent = [r for r in rows if _sort_value(r, query.sort)[0] == 1]
    present.sort(key=lambda r: (_sort_value(r, query.sort)[1], r.slug), reverse=query.descending)
    ordered = present + absent
    items = ordered[query.offset : query.offset + query.limit]
    network = ctx.network if ctx.network in ("mainnet", "devnet") else None
    return m.ProtocolPage(
        items=[summary(r, snapshots) for r in items],
        total=len(ordered),
        limit=query.limit,
        offset=query.offset,
        network=network,  # type: ignore[arg-type]
    )


def unknown_protocol(ctx: ApiContext, slug: str) -> ApiError:
    if slug in ctx.infos and (waiting := not_ready(ctx, "slug", f"protocol {slug!r}")) is not None:
        return waiting  # a protocol this server reads, not stored yet: 503 while syncing
    known = ctx.repo.protocol_slugs()
    shown = ", ".join(known[:20]) + (" ..." if len(known) > 20 else "")
    return ApiError(404, "slug", f"no protocol {slug!r} is stored; stored: {shown or 'none yet'}")


def _holding(t: TokenValue, chain_id: int) -> m.TokenHolding:
    q = t.price
    return m.TokenHolding(
        chain=chain_slug(chain_id),
        token=t.token,
        symbol=t.symbol,
        decimals=t.decimals,
        kind=t.kind.value,
        amount=str(t.amount),
        value_usd=opt_dec(t.value_usd),
        price=None
        if q is None
        else m.TokenPrice(
            usd=dec(q.usd),
            source=q.source,
            timestamp=q.timestamp,
            confidence=q.confidence,
            block_number=q.block_number,
            liquidity_usd=opt_dec(q.liquidity_usd),
        ),
        unpriced_reason=t.unpriced_reason,
        receipt_of=t.receipt_of,
    )


def _totals(snaps: Sequence[ProtocolSnapshot]) -> dict[str, str]:
    return {f"{kind.value}_usd": dec(exact_sum(s.total(kind) for s in snaps)) for kind in BalanceKind}


def protocol_detail(ctx: ApiContext, slug: str) -> m.ProtocolDetail:
    rows, snapshots = ranked(ctx)
    row = next((r for r in rows if r.slug == slug), None)
    if row is None:
        raise unknown_protocol(ctx, slug)
    snaps = [s for s in snapshots if s.slug == slug]
    info = ctx.info(slug)
    return m.ProtocolDetail(
        **summary(row, snaps).model_dump(),
        methodology=info.methodology,
        url=info.url,
        by_chain={chain_slug(s.chain_id): m.ChainBreakdown(**_totals([s]), block=block_model(s.block)) for s in snaps},
        by_kind=m.Totals(**_totals(snaps)),
        by_token=[_holding(t, s.chain_id) for s in snaps for t in s.tokens],
        not_counted_positions=[_not_counted(u, s.chain_id) for s in snaps for u in s.uncounted],
    )


def _not_counted(u: NotCounted, chain_id: int) -> m.NotCountedPosition:
    return m.NotCountedPosition(
        chain=chain_slug(chain_id),
        holder=u.holder,
        token=u.token,
        symbol=u.symbol,
        kind=u.kind.value,
        cause=u.cause.value,
        reason=u.reason,
        label=u.label,
        amount=None if u.amount is None else str(u.amount),
        price_usd=None if u.price is None else dec(u.price.usd),
        value_usd=opt_dec(u.value_usd),
    )


def _bucketed(points: Iterable[HistoryPoint], interval: Interval) -> list[m.TvlPoint]:
    """interval=block: every stored point; hour/day: per bucket, each chain's last point, summed."""
    if interval is Interval.BLOCK:
        return [
            m.TvlPoint(
                timestamp=p.block.timestamp,
                **{f"{k.value}_usd": dec(p.total(k)) for k in BalanceKind},
                uncounted_count=p.uncounted_count,
                blocks=[block_model(p.block)],
            )
            for p in points
        ]
    width = SECONDS[interval]
    buckets: dict[int, dict[int, HistoryPoint]] = {}
    for p in points:  # oldest first: a later point of the same chain replaces the earlier one
        buckets.setdefault(p.block.timestamp - p.block.timestamp % width, {})[p.block.chain_id] = p
    return [
        m.TvlPoint(
            timestamp=start,
            **{f"{k.value}_usd": dec(exact_sum(p.total(k) for p in last.values())) for k in BalanceKind},
            uncounted_count=sum(p.uncounted_count for p in last.values()),
            blocks=[block_model(p.block) for _, p in sorted(last.items())],
        )
        for start, last in sorted(buckets.items())
    ]


def capped(ctx: ApiContext, points: Sequence[object], interval: Interval) -> None:
    """interval=block returns every stored block: refuse more than `max_history_points` (400 naming `interval`)
    rather than thin them silently — a client asking for blocks wants the blocks, or a coarser interval.
    `points` was read with `history_limit` (one more than the cap), so the refusal costs a bounded query."""
    cap = ctx.settings.max_history_points
    if interval is Interval.BLOCK and len(points) > cap:
        raise ApiError(
            400,
            "interval",
            f"more than {cap} blocks in the range; interval=block returns at most {cap}: "
            "narrow start/end or use interval=hour or day",
        )


def history_limit(ctx: ApiContext, interval: Interval) -> int:
    """Rows to read: for interval=block one past the cap (to tell "too many"); for hour/day the cap in
    buckets — the newest `max_history_points` hours or days of the range."""
    cap = ctx.settings.max_history_points
    return cap + 1 if interval is Interval.BLOCK else cap


def protocol_history(
    ctx: ApiContext, slug: str, chain: ChainInfo | None, start: int | None, end: int | None, interval: Interval
) -> m.ProtocolHistory:
    points = reads.protocol_points(
        ctx.repo,
        slug,
        None if chain is None else chain.chain_id,
        start,
        end,
        width=SECONDS.get(interval, 0),
        limit=history_limit(ctx, interval),
    )
    capped(ctx, points, interval)
    if not points and slug not in ctx.repo.protocol_slugs():
        raise unknown_protocol(ctx, slug)
    return m.ProtocolHistory(
        slug=slug,
        chain=None if chain is None else chain.name,
        interval=interval.value,
        points=_bucketed(points, interval),
    )


def protocol_explain(ctx: ApiContext, slug: str, chain: ChainInfo | None, block: int | None) -> m.Explanation:
    chains = sorted({s.chain_id for s in ctx.repo.latest_snapshots() if s.slug == slug})
    if not chains:
        raise unknown_protocol(ctx, slug)
    if chain is None:
        if len(chains) > 1:
            names = ", ".join(chain_slug(c) for c in chains)
            raise ApiError(422, "chain", f"{slug!r} is stored on several chains ({names}); name one")
        chain_id = chains[0]
    else:
        chain_id = chain.chain_id
    snap = ctx.repo.latest_snapshot(slug, chain_id) if block is None else ctx.repo.snapshot_at(slug, chain_id, block)
    if snap is None:
        field = "chain" if block is None else "block"
        raise ApiError(
            404,
            field,
            f"no snapshot of {slug!r} on {chain_slug(chain_id)}" + (f" at block {block}" if block is not None else ""),
        )
    return m.Explanation(**explain(snap))


# --------------------------------------------------------------------- chains


def chain_list(ctx: ApiContext) -> list[m.ChainSummary]:
    by_chain: dict[int, list[ProtocolSnapshot]] = {}
    for snap in ctx.repo.latest_snapshots():
        by_chain.setdefault(snap.chain_id, []).append(snap)
    out = []
    for chain_id, snaps in sorted(by_chain.items()):
        total = aggregate(snaps)
        info = CHAINS.get(chain_id)
        blocks = {s.block for s in snaps}
        out.append(
            m.ChainSummary(
                chain=chain_slug(chain_id),
                chain_id=chain_id,
                name=info.display_name if info else str(chain_id),
                tvl_usd=dec(total.tvl_usd),
                sum_of_protocols_usd=dec(total.sum_of_protocols_usd),
                double_counted_usd=dec(total.double_counted_usd),
                protocols=len(snaps),
                uncounted_count=sum(len(s.uncounted) for s in snaps),
                blocks=[block_model(b) for b in sorted(blocks, key=lambda b: b.number)],
            )
        )
    out.sort(key=lambda c: (-Decimal(c.tvl_usd), c.chain_id))
    return out


def chain_history(
    ctx: ApiContext, chain: ChainInfo, start: int | None, end: int | None, interval: Interval
) -> m.ChainHistory:
    width = SECONDS.get(interval, 0)
    points = reads.chain_points(ctx.repo, chain.chain_id, start, end, width=width, limit=history_limit(ctx, interval))
    capped(ctx, points, interval)
    if width:
        last = {p.block.timestamp - p.block.timestamp % width: p for p in points}
        points = list(last.values())
    return m.ChainHistory(
        chain=chain.name,
        chain_id=chain.chain_id,
        interval=interval.value,
        points=[
            m.ChainTvlPoint(
                timestamp=p.block.timestamp
                if interval is Interval.BLOCK
                else p.block.timestamp - p.block.timestamp % SECONDS[interval],
                tvl_usd=dec(p.tvl_usd),
                protocols=p.protocols,
                block=block_model(p.block),
            )
            for p in points
        ],
    )


# --------------------------------------------------------------------- prices


def prices(ctx: ApiContext, tokens: Sequence[tuple[str, int, str]]) -> m.Prices:
    """`tokens`: (as asked, chain id, checksum address)."""
    found, missing = [], []
    for asked, chain_id, address in tokens:
        quote = ctx.repo.latest_price(chain_id, address)
        if quote is None:
            missing.append(asked)
            continue
        entry = ctx.tokens.get(chain_id, address)
        found.append(
            m.Price(
                token=asked,
                chain=chain_slug(chain_id),
                chain_id=chain_id,
                address=address,
                symbol=entry.symbol if entry else None,
                usd=dec(quote.usd),
                source=quote.source,
                timestamp=quote.timestamp,
                confidence=quote.confidence,
                block_number=quote.block_number,
            )
        )
    return m.Prices(prices=found, missing=missing)


def price_history(
    ctx: ApiContext, asked: str, chain_id: int, address: str, start: int | None, end: int | None, limit: int
) -> m.PriceHistory:
    quotes = reads.price_series(ctx.repo, chain_id, address, start=start, end=end, period=0, limit=limit)
    best: dict[int, m.PricePoint] = {}
    for q in quotes:  # one point per timestamp: the most confident source
        kept = best.get(q.timestamp)
        if kept is None or q.confidence > kept.confidence:
            best[q.timestamp] = m.PricePoint(
                timestamp=q.timestamp,
                usd=dec(q.usd),
                source=q.source,
                confidence=q.confidence,
                block_number=q.block_number,
            )
    points = [best[t] for t in sorted(best)][-limit:]
    return m.PriceHistory(token=asked, chain=chain_slug(chain_id), address=address, points=points)
