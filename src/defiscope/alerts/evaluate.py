"""Rule evaluation as pure functions: a block's figures give a measurement per rule input (a protocol's TVL change
over a window, a token's price move, ...); a rule judges the measurement against its threshold; the rule's state
turns that into transitions (fire, resolve). The live evaluator and the backtest both call `evaluate_block`, so a
rule fires at the same blocks in both.

A measurement depends on the rule's inputs, not on its threshold or cool-down: the rules of one block share them
(`Memo`; the live engine groups rules by `RuleView.inputs` once, when the rule set changes, calls `measure` once per
group, and judges only the group's rules whose verdict can have moved: `alerts.grouped`). Rules with equal params
share one verdict per subject (`Verdicts`), and a rule whose open alerts are on exactly the subjects its params hold
for (`holding`; none, for most rules) has nothing to do. A reading's evidence (its JSON) is built only when a rule
moves, so a quiet block costs a few measurements and a few bisects per group of rules.

    >>> from defiscope.alerts.rules import parse_rule
    >>> from defiscope.chain.block import BlockRef
    >>> rule = parse_rule({"kind": "tvl_change", "params": {"chain": "1", "protocol": "demo", "window_blocks": 1,
    ...                    "threshold_pct": 10}})
    >>> def figures(n: int, tvl: str) -> BlockFigures:
    ...     return BlockFigures(BlockRef(1, n, "0x%064x" % n, 1_700_000_000 + n), tvl={"demo": Decimal(tvl)})
    >>> history = {100: figures(100, "1000"), 101: figures(101, "1200"), 102: figures(102, "1210")}
    >>> states: dict[str, SubjectState] = {}
    >>> def run(n: int) -> list[str]:
    ...     moves = evaluate_block(RuleView("r1", rule, 0), history[n], history.get, Extras(), states, _ids)
    ...     return [f"{t.type}@{t.block.number}" for t in moves]
    >>> run(101), run(102)  # fires at 101 (+20 %), resolves at 102 (+0.8 %)
    (['alert.firing@101'], ['alert.resolved@102'])

A figure that is missing (no snapshot of the protocol at the block, no price of the token) is an observation
with `missing` set — it changes no state and is reported, never taken as 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Literal

from defiscope.alerts.rules import (
    ANY,
    GovernanceParams,
    GradeSignalParams,
    IndexerHealthParams,
    LiquidationExposureParams,
    NewProtocolParams,
    Params,
    PriceMoveParams,
    RuleSpec,
    TvlChangeParams,
    YieldParams,
)
from defiscope.chain.block import BlockRef
from defiscope.indexing_hooks import IndexerHealth as IndexerHealth  # the indexer's state, as the hooks get it
from defiscope.tvl.model import exact_sum
from defiscope.tvl.valuation import value_usd

if TYPE_CHECKING:
    from defiscope.alerts.pools import YoungPool

HUNDRED: Final = Decimal(100)
NOTHING: Final[frozenset[str]] = frozenset()
DAY: Final = 86_400


@dataclass(frozen=True, slots=True)
class PricePoint:
    """A token's USD price as the block's snapshots valued it."""

    token: str  # checksum address
    symbol: str
    usd: Decimal
    source: str


@dataclass(frozen=True, slots=True)
class RatePoint:
    """One stored rate at a block, APY in percent."""

    slug: str
    market: str
    asset: str
    symbol: str
    kind: str
    apy_pct: Decimal


@dataclass(frozen=True, slots=True)
class BlockFigures:
    """What the store holds for one (chain, block): TVL per protocol, token prices (by upper-case symbol and by
    lower-case address), rates, and the time each protocol was first stored on the chain."""

    block: BlockRef
    tvl: Mapping[str, Decimal] = field(default_factory=dict)
    prices: Mapping[str, PricePoint] = field(default_factory=dict)
    rates: tuple[RatePoint, ...] = ()
    first_seen: Mapping[str, int] = field(default_factory=dict)
    #: (slug, upper-case symbol or lower-case address) -> its rates: a yield rule finds its market in one lookup.
    rate_index: Mapping[tuple[str, str], tuple[RatePoint, ...]] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        index: dict[tuple[str, str], list[RatePoint]] = {}
        for rate in self.rates:
            index.setdefault((rate.slug, rate.symbol.upper()), []).append(rate)
            if rate.asset.lower() != rate.symbol.upper():
                index.setdefault((rate.slug, rate.asset.lower()), []).append(rate)
        object.__setattr__(self, "rate_index", {key: tuple(found) for key, found in index.items()})

    def price(self, token: str) -> PricePoint | None:
        return self.prices.get(token.lower() if token.startswith("0x") else token.upper())


@dataclass(frozen=True, slots=True)
class Exposure:
    """The risk engine's scenario for one (protocol, asset, drop) at the block."""

    debt_usd: Decimal
    collateral_usd: Decimal
    accounts: int
    positions: int


@dataclass(frozen=True, slots=True)
class GovernanceEvent:
    """A proposal reaching a stage at the block (what the governance tables hold)."""

    protocol: str
    proposal_id: str
    event: str  # created | queued | executed
    flags: tuple[str, ...]
    tx_hash: str | None = None
    flag_reasons: tuple[str, ...] = ()  # why a flag is `unknown` (a payload whose actions are not followed)


@dataclass(frozen=True, slots=True)
class SignalEvent:
    """A grade signal published at the block (what `grade_signals` holds): `protocol`'s `horizon` grade turned
    `state`; `document` is the published signal (the grade, the previous state, the factors that moved it)."""

    protocol: str
    horizon: str
    state: str
    grade: Decimal
    document: Mapping[str, Any]


#: The states a grade signal can be in: the subjects of a `grade_signal` rule are (protocol, horizon, state).
SIGNAL_STATES: Final = ("bullish", "neutral", "bearish")


@dataclass(frozen=True, slots=True)
class Extras:
    """Figures that are not in the snapshot tables: read live at the block, or absent (None: with why)."""

    exposure: Mapping[tuple[str, str, Decimal], Exposure | str] = field(default_factory=dict)
    governance: Sequence[GovernanceEvent] | None = None
    governance_missing: str = "no governance source was given to the evaluator"
    signals: Sequence[SignalEvent] | None = None
    signals_missing: str = "no grade signal source was given to the evaluator"
    health: IndexerHealth | None = None
    #: Pools created within the widest pool rule's window, with their holdings at the block (`alerts.pools`: read
    #: from the chain at the block, live and in a backtest), or why they could not be read; None: nobody read them.
    pools: Sequence[YoungPool] | str | None = None


@dataclass(slots=True)
class Reading:
    """One subject's figures at the block: shared by every rule with the same inputs (so never changed once built;
    not frozen: a frozen dataclass costs several times as much to build, and a block builds hundreds)."""

    value: Decimal | None
    previous: Decimal | None = None
    change: Decimal | None = None  # percent (price, TVL); percentage points (yield)
    change_usd: Decimal | None = None
    #: The figures and calls behind the reading, built only when a rule moves (quiet blocks make no JSON).
    explain: Callable[[], Mapping[str, Any]] = dict
    flag: bool = False  # new_protocol: still new; indexer_health: something is failing
    #: The evidence once built (the rules moving on one reading at a block share it: a hundred resolve at once).
    built: list[Mapping[str, Any]] = field(default_factory=list, compare=False, repr=False)

    @property
    def evidence(self) -> Mapping[str, Any]:
        if not self.built:
            self.built.append(MappingProxyType(dict(self.explain())))  # read-only: it is shared
        return self.built[0]


@dataclass(slots=True)
class Measurement:
    """The readings of one rule input at one block, by subject; or why there are none (never changed once built,
    as `Reading`)."""

    readings: Mapping[str, Reading]
    missing: str | None = None
    #: The subjects a rule could fire on, when fewer than all (a protocol no longer new never fires again), in
    #: order (a dict without values: ordered, and a set for differences): the others are judged only when an
    #: alert of theirs is open, to resolve it.
    candidates: Mapping[str, None] | None = None


@dataclass(slots=True)  # not frozen, as `Reading`: a block that moves a thousand rules builds a thousand
class Observation:
    """One subject of one rule at one block: the figure, what it is compared with, and whether the rule holds."""

    subject: str
    value: Decimal | None
    previous: Decimal | None
    threshold: Decimal | None
    triggered: bool
    evidence: Mapping[str, Any]


@dataclass(slots=True)
class SubjectState:
    open_alert: str | None = None  # the firing alert's id
    last_fired: int | None = None  # block number of the latest firing (the cool-down)


@dataclass(frozen=True, slots=True)
class RuleView:
    """A rule as evaluated: its id, its validated spec, its cool-down, and the key of its inputs."""

    rule_id: str
    spec: RuleSpec
    cooldown_blocks: int
    inputs: tuple[Any, ...] = ()
    #: How its kind compares a reading with its thresholds (looked up once, not per block).
    judge: Callable[[Any, Reading], tuple[bool, Decimal | None]] = field(default=lambda _p, _r: (False, None))

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", input_key(self.spec.params))
        object.__setattr__(self, "judge", _JUDGES[type(self.spec.params)])


@dataclass(slots=True)  # not frozen, as `Observation`
class Transition:
    type: Literal["alert.firing", "alert.resolved"]
    rule_id: str
    alert_id: str
    block: BlockRef
    observation: Observation


#: Per subject: whether a rule holds and the threshold it was compared with (the same for rules with equal params).
Verdicts = dict[str, tuple[bool, Decimal | None]]
History = Callable[[int], BlockFigures | None]  # the figures of the newest stored block at or before a number
NewId = Callable[[str, BlockRef, str], str]  # (rule id, block, subject) -> a fresh alert id
Memo = dict[tuple[Any, ...], Measurement]  # one block's measurements by input key


def _ids(rule_id: str, block: BlockRef, subject: str) -> str:
    return f"{rule_id}.{block.number}.{subject}"


def evaluate_block(
    rule: RuleView,
    figures: BlockFigures,
    history: History,
    extras: Extras,
    states: MutableMapping[str, SubjectState],
    new_id: NewId,
    memo: Memo | None = None,
) -> list[Transition]:
    """Judge `rule` at `figures.block` and move its per-subject `states`; returns what fired or resolved.

    `memo` holds the block's measurements (pass one dict per block to share them between rules). A missing figure
    changes no state."""
    memo = {} if memo is None else memo
    measured = memo.get(rule.inputs)
    if measured is None:
        measured = memo[rule.inputs] = measure(rule.spec.params, figures, history, extras)
    return judge_rule(rule, measured, figures.block, states, new_id)


def judge_rule(
    rule: RuleView,
    measured: Measurement,
    block: BlockRef,
    states: MutableMapping[str, SubjectState],
    new_id: NewId,
    verdicts: Verdicts | None = None,
) -> list[Transition]:
    """The second half of `evaluate_block`: judge `rule` on a measurement of its inputs at `block`. A caller that
    groups rules by `RuleView.inputs` measures once per group; rules whose params are equal share `verdicts`."""
    if measured.missing is not None:
        return []
    verdicts = {} if verdicts is None else verdicts
    readings, candidates = measured.readings, measured.candidates
    subjects: Iterable[str] = readings if candidates is None else candidates
    if candidates is not None and states.keys() - candidates:  # a set difference, in C: most states are candidates
        others = sorted(states.keys() - candidates)  # sorted: the same order live and in a backtest
        opened = [s for s in others if states[s].open_alert is not None and s in readings]
        subjects = [*candidates, *opened]
    moves: list[Transition] = []
    params, judged = rule.spec.params, rule.judge
    for subject in subjects:
        reading = readings[subject]
        verdict = verdicts.get(subject)
        if verdict is None:
            verdict = verdicts[subject] = judged(params, reading)
        triggered, threshold = verdict
        state = states.get(subject)
        if state is None:
            if not triggered:
                continue  # nothing open, nothing to fire: most rules at most blocks
            state = states[subject] = SubjectState()
        elif triggered == (state.open_alert is not None):
            continue  # still firing, or still quiet: nothing moves
        move = _advance(rule, state, block, subject, triggered, threshold, reading, new_id)
        if move is not None:
            moves.append(move)
    return moves


def holding(rule: RuleView, measured: Measurement, verdicts: Verdicts) -> frozenset[str]:
    """The candidate subjects the rule holds for (filling `verdicts`). A rule with these params has nothing to do
    at this block when they are exactly the subjects it has an open alert on: none fires, none resolves."""
    if measured.missing is not None:
        return NOTHING
    readings, judged, params = measured.readings, rule.judge, rule.spec.params
    held = []
    for subject in readings if measured.candidates is None else measured.candidates:
        verdict = verdicts.get(subject)
        if verdict is None:
            verdict = verdicts[subject] = judged(params, readings[subject])
        if verdict[0]:
            held.append(subject)
    return frozenset(held) if held else NOTHING


def _advance(
    rule: RuleView,
    state: SubjectState,
    block: BlockRef,
    subject: str,
    triggered: bool,
    threshold: Decimal | None,
    reading: Reading,
    new_id: NewId,
) -> Transition | None:
    if triggered:
        if state.open_alert is not None:
            return None
        if state.last_fired is not None and block.number < state.last_fired + rule.cooldown_blocks:
            return None
        state.open_alert = new_id(rule.rule_id, block, subject)
        state.last_fired = block.number
        seen = Observation(subject, reading.value, reading.previous, threshold, True, reading.evidence)
        return Transition("alert.firing", rule.rule_id, state.open_alert, block, seen)
    if state.open_alert is None:
        return None
    closed, state.open_alert = state.open_alert, None
    seen = Observation(subject, reading.value, reading.previous, threshold, False, reading.evidence)
    return Transition("alert.resolved", rule.rule_id, closed, block, seen)


# ------------------------------------------------------------------ inputs and measurements


def input_key(p: Params) -> tuple[Any, ...]:
    """What a rule's measurement depends on (never its thresholds): rules with equal keys share it."""
    if isinstance(p, PriceMoveParams):
        return ("price_move", p.token, p.window_blocks)
    if isinstance(p, TvlChangeParams):
        return ("tvl_change", p.protocol, p.window_blocks)
    if isinstance(p, YieldParams):
        return ("yield", p.protocol, p.asset, p.side, p.window_blocks if p.move_pct is not None else 0)
    if isinstance(p, LiquidationExposureParams):
        return ("liquidation_exposure", p.protocol, p.asset, p.drop_pct)
    if isinstance(p, NewProtocolParams):
        return ("new_protocol", p.scope, p.within_days)
    if isinstance(p, GovernanceParams):
        return ("governance", p.protocol, p.events, p.flags)
    if isinstance(p, GradeSignalParams):
        return ("grade_signal", p.protocol, p.horizon, p.direction)
    return ("indexer_health",)


def measure(p: Params, figures: BlockFigures, history: History, extras: Extras) -> Measurement:
    """The readings of the rule input `p` at the block (by params type: one dict lookup, hundreds of times a block)."""
    return _MEASURES[type(p)](p, figures, history, extras)


def _new(p: NewProtocolParams, figures: BlockFigures, _history: History, extras: Extras) -> Measurement:
    return _new_pools(p, figures, extras) if p.scope == "pool" else _new_protocols(p, figures)


_MEASURES: Final[dict[type, Callable[[Any, BlockFigures, History, Extras], Measurement]]] = {
    PriceMoveParams: lambda p, figures, history, _extras: _price_move(p, figures, history),
    TvlChangeParams: lambda p, figures, history, _extras: _tvl_change(p, figures, history),
    YieldParams: lambda p, figures, history, _extras: _yield(p, figures, history),
    LiquidationExposureParams: lambda p, _figures, _history, extras: _exposure(p, extras),
    NewProtocolParams: _new,
    GovernanceParams: lambda p, _figures, _history, extras: _governance(p, extras),
    GradeSignalParams: lambda p, _figures, _history, extras: _grade_signal(p, extras),
    IndexerHealthParams: lambda _p, _figures, _history, extras: _health(extras),
}


def _judge_price(p: PriceMoveParams, r: Reading) -> tuple[bool, Decimal | None]:
    return r.change is not None and _moved(r.change, p.threshold_pct, p.direction), p.threshold_pct


def _judge_tvl(p: TvlChangeParams, r: Reading) -> tuple[bool, Decimal | None]:
    by_pct = p.threshold_pct is not None and r.change is not None and _moved(r.change, p.threshold_pct, p.direction)
    by_usd = (
        p.threshold_usd is not None and r.change_usd is not None and _moved(r.change_usd, p.threshold_usd, p.direction)
    )
    return by_pct or by_usd, p.threshold_pct if p.threshold_pct is not None else p.threshold_usd


def _judge_yield(p: YieldParams, r: Reading) -> tuple[bool, Decimal | None]:
    assert r.value is not None
    moved = p.move_pct is not None and r.change is not None and abs(r.change) >= p.move_pct
    crossed = (p.above is not None and r.value > p.above) or (p.below is not None and r.value < p.below)
    return moved or crossed, p.above if p.above is not None else p.below if p.below is not None else p.move_pct


def _judge_exposure(p: LiquidationExposureParams, r: Reading) -> tuple[bool, Decimal | None]:
    return r.value is not None and r.value > p.threshold_usd, p.threshold_usd


def _judge_new(p: NewProtocolParams, r: Reading) -> tuple[bool, Decimal | None]:
    return r.flag and r.value is not None and r.value >= p.min_tvl_usd, p.min_tvl_usd


def _judge_governance(_p: GovernanceParams, _r: Reading) -> tuple[bool, Decimal | None]:
    return True, None


def _judge_flag(_p: Params, r: Reading) -> tuple[bool, Decimal | None]:
    return r.flag, None


def _judge_health(p: IndexerHealthParams, r: Reading) -> tuple[bool, Decimal | None]:
    assert r.value is not None
    return r.value > p.max_lag_blocks or (p.on_failure and r.flag), Decimal(p.max_lag_blocks)


#: How each kind compares a reading with its thresholds (by params type: one dict lookup per rule and block).
_JUDGES: Final[dict[type, Callable[[Any, Reading], tuple[bool, Decimal | None]]]] = {
    PriceMoveParams: _judge_price,
    TvlChangeParams: _judge_tvl,
    YieldParams: _judge_yield,
    LiquidationExposureParams: _judge_exposure,
    NewProtocolParams: _judge_new,
    GovernanceParams: _judge_governance,
    GradeSignalParams: _judge_flag,
    IndexerHealthParams: _judge_health,
}


def judge(p: Params, r: Reading) -> tuple[bool, Decimal | None]:
    """Whether the rule holds for the reading, and the threshold it was compared with."""
    return _JUDGES[type(p)](p, r)


def _missing(why: str) -> Measurement:
    return Measurement({}, missing=why)


def _moved(change: Decimal, threshold: Decimal, direction: str) -> bool:
    if direction == "up":
        return change >= threshold
    if direction == "down":
        return -change >= threshold
    return abs(change) >= threshold


def _pct(now: Decimal, before: Decimal) -> Decimal | None:
    return None if before == 0 else (now - before) * HUNDRED / before


def _back(history: History, block: BlockRef, window: int) -> BlockFigures | None:
    return history(block.number - window) if block.number >= window else None


def _ref(figures: BlockFigures) -> dict[str, Any]:
    return {"number": figures.block.number, "hash": figures.block.hash, "timestamp": figures.block.timestamp}


def _price_move(p: PriceMoveParams, figures: BlockFigures, history: History) -> Measurement:
    now = figures.price(p.token)
    if now is None:
        return _missing(f"no price of {p.token} was stored with the snapshots of block {figures.block.number}")
    earlier = _back(history, figures.block, p.window_blocks)
    before = None if earlier is None else earlier.price(p.token)
    if earlier is None or before is None:
        return _missing(f"no price of {p.token} stored {p.window_blocks} blocks before {figures.block.number}")
    change = _pct(now.usd, before.usd)
    if change is None:
        return _missing(f"the price of {p.token} was 0 at block {earlier.block.number}")

    def explain() -> dict[str, Any]:
        return {
            "token": now.token,
            "symbol": now.symbol,
            "price_usd": str(now.usd),
            "price_source": now.source,
            "previous_price_source": before.source,
            "previous_block": _ref(earlier),
            "change_pct": str(change),
        }

    return Measurement({"": Reading(now.usd, before.usd, change, None, explain)})


def _tvl_change(p: TvlChangeParams, figures: BlockFigures, history: History) -> Measurement:
    now = figures.tvl.get(p.protocol)
    if now is None:
        return _missing(f"no snapshot of {p.protocol} is stored at block {figures.block.number} (failed or not due)")
    earlier = _back(history, figures.block, p.window_blocks)
    before = None if earlier is None else earlier.tvl.get(p.protocol)
    if earlier is None or before is None:
        return _missing(f"no snapshot of {p.protocol} stored {p.window_blocks} blocks before {figures.block.number}")
    change_pct = _pct(now, before)

    def explain() -> dict[str, Any]:
        return {
            "protocol": p.protocol,
            "change_usd": str(now - before),
            "change_pct": None if change_pct is None else str(change_pct),
            "snapshot": {"slug": p.protocol, "chain_id": figures.block.chain_id, **_ref(figures)},
            "previous_snapshot": {"slug": p.protocol, "chain_id": figures.block.chain_id, **_ref(earlier)},
        }

    return Measurement({"": Reading(now, before, change_pct, now - before, explain)})


def _rates(p: YieldParams, figures: BlockFigures) -> list[RatePoint]:
    asset = p.asset.lower() if p.asset.startswith("0x") else p.asset.upper()
    return [r for r in figures.rate_index.get((p.protocol, asset), ()) if p.side == "any" or r.kind == p.side]


def _yield(p: YieldParams, figures: BlockFigures, history: History) -> Measurement:
    rates = _rates(p, figures)
    if not rates:
        return _missing(f"no {p.side} rate of {p.asset} in {p.protocol} is stored at block {figures.block.number}")
    earlier = _back(history, figures.block, p.window_blocks) if p.move_pct is not None else None
    before = {(r.market, r.kind): r.apy_pct for r in (_rates(p, earlier) if earlier is not None else [])}
    readings = {}
    for rate in rates:
        previous = before.get((rate.market, rate.kind))
        change = None if previous is None else rate.apy_pct - previous
        explain = partial(_rate_evidence, rate, figures)
        readings[f"{rate.kind}:{rate.market}"] = Reading(rate.apy_pct, previous, change, None, explain)
    return Measurement(readings)


def _rate_evidence(rate: RatePoint, figures: BlockFigures) -> dict[str, Any]:
    evidence: dict[str, Any] = {"protocol": rate.slug, "market": rate.market, "asset": rate.asset}
    return evidence | {"symbol": rate.symbol, "kind": rate.kind, "apy_pct": str(rate.apy_pct), "block": _ref(figures)}


def _exposure(p: LiquidationExposureParams, extras: Extras) -> Measurement:
    found = extras.exposure.get((p.protocol, p.asset, p.drop_pct))
    if found is None:
        return _missing(f"the liquidation exposure of {p.protocol} to {p.asset} was not read at this block")
    if isinstance(found, str):
        return _missing(found)
    evidence = {
        "protocol": p.protocol,
        "asset": p.asset,
        "drop_pct": str(p.drop_pct),
        "accounts": found.accounts,
        "positions": found.positions,
        "collateral_usd": str(found.collateral_usd),
    }
    return Measurement({"": Reading(found.debt_usd, None, None, None, partial(dict, evidence))})


def _new_protocols(p: NewProtocolParams, figures: BlockFigures) -> Measurement:
    readings = {}
    for slug, tvl in figures.tvl.items():
        first = figures.first_seen.get(slug)
        if first is None:
            continue
        age_s = figures.block.timestamp - first
        explain = partial(_new_evidence, slug, first, age_s, tvl)
        readings[slug] = Reading(tvl, None, None, None, explain, flag=age_s <= p.within_days * DAY)
    return Measurement(readings, candidates=dict.fromkeys(slug for slug, r in readings.items() if r.flag))


def _new_pools(p: NewProtocolParams, figures: BlockFigures, extras: Extras) -> Measurement:
    """Young pools valued at the block's stored prices: a pool none of whose holdings has a price has no reading
    (never 0); one with some priced is valued by those, the others listed as unpriced in its evidence."""
    if extras.pools is None:
        return _missing("young pools were not read from the chain at this block (no chain was given to the evaluator)")
    if isinstance(extras.pools, str):
        return _missing(extras.pools)
    readings = {}
    for pool in extras.pools:
        age_s = figures.block.timestamp - pool.first_timestamp
        valued = [(h, figures.price(h.token)) for h in pool.holdings]
        priced = [(h, v.usd) for h, v in valued if v is not None and h.amount is not None and h.decimals is not None]
        if not priced:
            continue
        tvl = exact_sum(value_usd(h.amount or 0, h.decimals or 0, usd) for h, usd in priced)
        explain = partial(_pool_evidence, pool, age_s, tvl, figures)
        readings[f"{pool.protocol}:{pool.address}"] = Reading(
            tvl, None, None, None, explain, flag=age_s <= p.within_days * DAY
        )
    return Measurement(readings, candidates=dict.fromkeys(subject for subject, r in readings.items() if r.flag))


def _pool_evidence(pool: YoungPool, age_s: int, tvl: Decimal, figures: BlockFigures) -> dict[str, Any]:
    tokens = []
    for h in pool.holdings:
        price = figures.price(h.token)
        value = (
            None
            if price is None or h.amount is None or h.decimals is None
            else value_usd(h.amount, h.decimals, price.usd)
        )
        tokens.append(
            {
                "token": h.token,
                "symbol": h.symbol,
                "amount": None if h.amount is None else str(h.amount),
                "decimals": h.decimals,
                "price_usd": None if price is None else str(price.usd),
                "price_source": None if price is None else price.source,
                "value_usd": None if value is None else str(value),
                "unpriced_reason": h.unread
                or (None if price is not None else "no price stored with the block's snapshots"),
            }
        )
    return {
        "protocol": pool.protocol,
        "pool": pool.address,
        "first_block": pool.first_block,
        "first_block_timestamp": pool.first_timestamp,
        "age_seconds": age_s,
        "tvl_usd": str(tvl),
        "tokens": tokens,
    }


def _new_evidence(slug: str, first: int, age_s: int, tvl: Decimal) -> dict[str, Any]:
    return {"protocol": slug, "first_stored_at": first, "age_seconds": age_s, "tvl_usd": str(tvl)}


def _governance(p: GovernanceParams, extras: Extras) -> Measurement:
    if extras.governance is None:
        return _missing(extras.governance_missing)
    readings = {}
    for event in extras.governance:
        if p.protocol is not None and event.protocol != p.protocol:
            continue
        if event.event not in p.events or (p.flags and not set(p.flags) & set(event.flags)):
            continue
        evidence: dict[str, Any] = {"protocol": event.protocol, "proposal_id": event.proposal_id}
        evidence |= {"event": event.event, "flags": list(event.flags), "tx_hash": event.tx_hash}
        if event.flag_reasons:
            evidence["flag_reasons"] = list(event.flag_reasons)
        readings[f"{event.protocol}:{event.proposal_id}:{event.event}"] = Reading(None, explain=partial(dict, evidence))
    return Measurement(readings)


def _grade_signal(p: GradeSignalParams, extras: Extras) -> Measurement:
    """The signals published at the block: each matching one is a reading on every state the rule watches of its
    protocol and horizon, flagged on the state it entered (fires) and not on the others (an alert open on the state
    it left resolves)."""
    if extras.signals is None:
        return _missing(extras.signals_missing)
    watched = SIGNAL_STATES if p.direction == ANY else (p.direction,)
    readings = {}
    for signal in extras.signals:
        if (p.protocol != ANY and signal.protocol != p.protocol) or (p.horizon != ANY and signal.horizon != p.horizon):
            continue
        explain: Callable[[], Mapping[str, Any]] = partial(dict, signal.document)
        for state in watched:
            reading = Reading(signal.grade, explain=explain, flag=signal.state == state)
            readings[f"{signal.protocol}:{signal.horizon}:{state}"] = reading
    return Measurement(readings)


def _health(extras: Extras) -> Measurement:
    health = extras.health
    if health is None:
        return _missing("indexer health is only known live, while the indexer runs (no stored history)")
    if health.head is None or health.last_indexed is None:
        return _missing("the indexer has not read the head or indexed a block yet")
    lag = health.head - health.last_indexed
    evidence: dict[str, Any] = {"head": health.head, "last_indexed": health.last_indexed}
    evidence |= {"failing": list(health.failing), "last_error": health.last_error}
    failing = bool(health.failing) or health.last_error is not None
    return Measurement({"": Reading(Decimal(lag), None, None, None, partial(dict, evidence), flag=failing)})
