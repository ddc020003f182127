"""Read the market as known at a clock block: every query is bounded by the clock, nothing after it is read.

The clock is a block B of chain 1. The horizon of chain 1 is B; of any other chain, its newest stored block
whose time is at or before B's (PancakeSwap on 56 is taken as it was when B was mined). Every row read is at or
before its chain's horizon block and at or before B's time: snapshots (and their tokens), yields, prices
(off-chain quotes, which have no block, by time alone), governance events and risk scores.

    horizon = horizon_at(repo, clock)                       # {1: clock, 56: BlockRef(...)}
    market = load_market(repo, clock, horizon, tokens, supplies, revenue_shares)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any, Final

from sqlalchemy import ColumnElement, and_, false, func, or_, select, tuple_
from sqlalchemy.orm import Session

from defiscope.analytics.grades.catalog import FACTORS, GRADED
from defiscope.analytics.grades.figures import PRECISION, SAMPLE_MAX_AGE, Figure, Observation, Stamp, daily_grid, sample
from defiscope.analytics.grades.market import Market, MemberKey, MemberSample, Rate, RiskSample, TokenRef
from defiscope.chain.block import BlockRef
from defiscope.governance.concentration import concentration
from defiscope.governance.maker import replay
from defiscope.governance.proposals import voting_power
from defiscope.protocols.events import StoredEvent
from defiscope.protocols.governor_events import DELEGATE_VOTES_KIND
from defiscope.protocols.governors import GOVERNORS, GovernedProtocol
from defiscope.protocols.maker_governance_events import MAKER_KINDS
from defiscope.protocols.revenue import FeeShare
from defiscope.protocols.yields import YieldKind
from defiscope.store import Repository
from defiscope.store.models import Block, Price, RiskScoreRow, SnapshotToken, TvlSnapshot, YieldRow

#: The longest factor window: samples reach this many days back.
WINDOW_DAYS: Final = max(f.window_days for f in FACTORS.values())
#: Samples within this many days of the clock carry their tokens and yields (the fee and yield windows).
DETAIL_DAYS: Final = 30
#: Graded family -> its on-chain governance (`protocols.governors`) whose voting power is followed from events.
#: Aave's current governance (V3) votes on voting machines elsewhere: its power is not followed.
GOVERNANCE: Final[Mapping[str, str]] = {"uniswap": "uniswap", "compound": "compound", "makerdao": "maker"}


def horizon_at(repo: Repository, clock: BlockRef) -> dict[int, BlockRef]:
    """The newest stored block per chain the clock allows reading (the clock itself on its own chain)."""
    allowed = or_(
        and_(Block.chain_id == clock.chain_id, Block.number <= clock.number),
        and_(Block.chain_id != clock.chain_id, Block.timestamp <= clock.timestamp),
    )
    newest = select(Block.chain_id, func.max(Block.number).label("number")).where(allowed).group_by(Block.chain_id)
    top = newest.subquery()
    stmt = select(Block).join(top, and_(Block.chain_id == top.c.chain_id, Block.number == top.c.number))
    with Session(repo.engine) as session:
        found = {b.chain_id: BlockRef(b.chain_id, b.number, b.hash, b.timestamp) for b in session.scalars(stmt)}
    found[clock.chain_id] = clock
    return found


def load_market(
    repo: Repository,
    clock: BlockRef,
    horizon: Mapping[int, BlockRef],
    tokens: Mapping[str, TokenRef],
    supplies: Mapping[str, Figure],
    revenue_shares: Mapping[str, Fraction],
) -> Market:
    grid = tuple(daily_grid(clock.timestamp, WINDOW_DAYS))
    with Session(repo.engine) as session:
        members = _members(session, clock, horizon, grid)
        prices = {
            symbol: samples
            for symbol, token in tokens.items()
            if (samples := _prices(session, clock, horizon, grid, token)) is not None
        }
        voting = _voting(session, repo, clock, horizon)
        risk = _risk(session, clock, horizon)
    return Market(clock, grid, members, tokens, prices, supplies, voting, revenue_shares, risk)


def _within(table: Any, horizon: Mapping[int, BlockRef], number: Any, timestamp: Any, clock: BlockRef) -> Any:
    """Rows of `table` at or before their chain's horizon block and the clock's time."""
    per_chain = [and_(table.chain_id == c, number <= b.number) for c, b in horizon.items()]
    return and_(or_(false(), *per_chain), timestamp <= clock.timestamp)


def _members(
    session: Session, clock: BlockRef, horizon: Mapping[int, BlockRef], grid: Sequence[int]
) -> dict[MemberKey, tuple[MemberSample | None, ...]]:
    slugs = sorted({slug for entity in GRADED.values() for slug in entity.members})
    heads = (
        select(
            TvlSnapshot.id,
            TvlSnapshot.slug,
            TvlSnapshot.chain_id,
            TvlSnapshot.block_number,
            TvlSnapshot.block_timestamp,
            TvlSnapshot.tvl_usd,
            TvlSnapshot.borrowed_usd,
        )
        .where(
            TvlSnapshot.slug.in_(slugs),
            TvlSnapshot.block_timestamp >= grid[-1] - SAMPLE_MAX_AGE,
            _within(TvlSnapshot, horizon, TvlSnapshot.block_number, TvlSnapshot.block_timestamp, clock),
        )
        .order_by(TvlSnapshot.slug, TvlSnapshot.chain_id, TvlSnapshot.block_timestamp, TvlSnapshot.block_number)
    )
    series: dict[MemberKey, list[Observation]] = defaultdict(list)
    rows: dict[tuple[str, Stamp], tuple[int, Decimal, Decimal]] = {}  # (slug, block) -> id, TVL, borrowed
    for row_id, slug, chain_id, number, timestamp, tvl, borrowed in session.execute(heads):
        stamp = Stamp(timestamp, chain_id, number)
        series[(slug, chain_id)].append(Observation(timestamp, tvl, stamp))
        rows[(slug, stamp)] = (row_id, tvl, borrowed)
    picked = {key: [sample(observed, t) for t in grid] for key, observed in series.items()}
    detailed = {
        (key[0], o.stamp)
        for key, samples in picked.items()
        for o in samples[: DETAIL_DAYS + 1]
        if o is not None and o.stamp is not None
    }
    tokens = _tokens(session, [rows[d][0] for d in detailed])
    rates = _rates(session, [(stamp.chain_id, stamp.number, slug) for slug, stamp in detailed])
    found: dict[MemberKey, tuple[MemberSample | None, ...]] = {}
    for key, samples in picked.items():
        built: list[MemberSample | None] = []
        for k, observed in enumerate(samples):
            if observed is None or observed.stamp is None:
                built.append(None)
                continue
            slug = key[0]
            row_id, tvl, borrowed = rows[(slug, observed.stamp)]
            detail = k <= DETAIL_DAYS
            built.append(
                MemberSample(
                    observed.stamp,
                    tvl,
                    borrowed,
                    tokens.get(row_id, ()) if detail else (),
                    rates.get((observed.stamp.chain_id, observed.stamp.number, slug), {}) if detail else {},
                )
            )
        found[key] = tuple(built)
    return found


def _risk(session: Session, clock: BlockRef, horizon: Mapping[int, BlockRef]) -> dict[MemberKey, RiskSample]:
    """Each graded adapter's newest risk score per chain at or before the chain's horizon block."""
    slugs = sorted({slug for entity in GRADED.values() for slug in entity.members})
    on_chain = (Block.chain_id == RiskScoreRow.chain_id) & (Block.number == RiskScoreRow.block_number)
    known = and_(
        RiskScoreRow.slug.in_(slugs),
        _within(RiskScoreRow, horizon, RiskScoreRow.block_number, Block.timestamp, clock),
    )
    newest = (
        select(RiskScoreRow.slug, RiskScoreRow.chain_id, func.max(RiskScoreRow.block_number).label("number"))
        .join(Block, on_chain)
        .where(known)
        .group_by(RiskScoreRow.slug, RiskScoreRow.chain_id)
        .subquery()
    )
    stmt = (
        select(
            RiskScoreRow.slug, RiskScoreRow.chain_id, RiskScoreRow.block_number, Block.timestamp, RiskScoreRow.composite
        )
        .join(Block, on_chain)
        .join(
            newest,
            and_(
                RiskScoreRow.slug == newest.c.slug,
                RiskScoreRow.chain_id == newest.c.chain_id,
                RiskScoreRow.block_number == newest.c.number,
            ),
        )
    )
    return {
        (slug, chain_id): RiskSample(Stamp(timestamp, chain_id, number), composite)
        for slug, chain_id, number, timestamp, composite in session.execute(stmt)
    }


def _tokens(session: Session, snapshot_ids: list[int]) -> dict[int, tuple[tuple[str, str, Decimal | None], ...]]:
    found: dict[int, list[tuple[str, str, Decimal | None]]] = defaultdict(list)
    if snapshot_ids:
        stmt = (
            select(SnapshotToken.snapshot_id, SnapshotToken.token, SnapshotToken.kind, SnapshotToken.value_usd)
            .where(SnapshotToken.snapshot_id.in_(snapshot_ids))
            .order_by(SnapshotToken.snapshot_id, SnapshotToken.ordinal)
        )
        for snapshot_id, token, kind, value in session.connection().execute(stmt):
            found[snapshot_id].append((token.lower(), kind, value))
    return {k: tuple(v) for k, v in found.items()}


def _rates(
    session: Session, blocks: list[tuple[int, int, str]]
) -> dict[tuple[int, int, str], dict[YieldKind, tuple[Rate, ...]]]:
    found: dict[tuple[int, int, str], dict[YieldKind, list[Rate]]] = defaultdict(lambda: defaultdict(list))
    if blocks:
        # Columns, not entities: a month of daily samples of a DEX is many rows, and ORM objects cost 5x.
        stmt = (
            select(
                YieldRow.chain_id,
                YieldRow.block_number,
                YieldRow.slug,
                YieldRow.kind,
                YieldRow.market,
                YieldRow.asset,
                YieldRow.apr,
                YieldRow.apy,
                YieldRow.fee_share,
                YieldRow.fee_share_source,
            )
            .where(tuple_(YieldRow.chain_id, YieldRow.block_number, YieldRow.slug).in_(blocks))
            .order_by(YieldRow.chain_id, YieldRow.block_number, YieldRow.slug, YieldRow.market, YieldRow.asset)
        )
        shares: dict[tuple[str | None, str], FeeShare] = {}  # most rows of a DEX share one knob value
        for chain_id, number, slug, kind, market, asset, apr, apy, share, source in session.connection().execute(stmt):
            fee_share = None if source is None else _fee_share(shares, share, source)
            found[(chain_id, number, slug)][YieldKind(kind)].append(Rate(market, asset, apr, apy, fee_share))
    return {key: {kind: tuple(r) for kind, r in kinds.items()} for key, kinds in found.items()}


def _fee_share(known: dict[tuple[str | None, str], FeeShare], share: str | None, source: str) -> FeeShare:
    found = known.get((share, source))
    if found is None:
        found = known[(share, source)] = FeeShare(None if share is None else Fraction(share), source)
    return found


def _prices(
    session: Session, clock: BlockRef, horizon: Mapping[int, BlockRef], grid: Sequence[int], token: TokenRef
) -> tuple[Observation | None, ...] | None:
    """Daily samples of the token's quotes (the most confident at equal times); None if it has none at all."""
    bound = horizon.get(token.chain_id)
    on_chain: ColumnElement[bool] = Price.block_number.is_(None)
    if bound is not None:
        on_chain = or_(on_chain, Price.block_number <= bound.number)
    stmt = (
        select(Price.timestamp, Price.usd, Price.block_number)
        .where(
            Price.chain_id == token.chain_id,
            Price.token.in_({token.address, token.address.lower()}),
            Price.timestamp >= grid[-1] - SAMPLE_MAX_AGE,
            Price.timestamp <= clock.timestamp,
            on_chain,
        )
        .order_by(Price.timestamp, Price.confidence, Price.source.desc())
    )
    observed = [
        Observation(t, usd, None if n is None else Stamp(t, token.chain_id, n)) for t, usd, n in session.execute(stmt)
    ]
    if not observed:
        return None
    return tuple(sample(observed, t) for t in grid)


def _voting(session: Session, repo: Repository, clock: BlockRef, horizon: Mapping[int, BlockRef]) -> dict[str, Figure]:
    """Top-5 share of voting power per family whose governance is followed, from events up to the horizon."""
    found: dict[str, Figure] = {}
    last = horizon[clock.chain_id].number
    for slug, name in GOVERNANCE.items():
        spec = GOVERNORS[name]
        kinds = MAKER_KINDS if name == "maker" else (DELEGATE_VOTES_KIND,)
        events = [e for kind in kinds for e in repo.events(clock.chain_id, spec.keeper, kind, to_block=last)]
        found[slug] = _top_share(session, clock, spec, events, last)
    return found


def _top_share(
    session: Session, clock: BlockRef, spec: GovernedProtocol, events: list[StoredEvent], last: int
) -> Figure:
    power = replay(events, last).deposits if spec.protocol == "maker" else voting_power(events, last)
    share = concentration(power).top_share
    if not events or share is None:
        return Figure.lacking(f"no voting power of {spec.protocol} is delegated at or before block {last}")
    newest = max(e.block_number for e in events)
    # The event's block may not be stored (events are scanned apart from snapshots): its time is then at most B's.
    timestamp = session.scalar(select(Block.timestamp).where(Block.chain_id == clock.chain_id, Block.number == newest))
    stamp = Stamp(clock.timestamp if timestamp is None else timestamp, clock.chain_id, newest)
    with localcontext() as context:
        context.prec = PRECISION
        return Figure.of(Decimal(share.numerator) / Decimal(share.denominator), stamp)
