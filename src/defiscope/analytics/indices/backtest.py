"""A backtest: an index built at the first stored block, rebalanced on its schedule, valued at every block (pure).

The loop sees one stored block at a time, oldest first. At a rebalance it asks the `CandidateSource` for the
candidates' figures as known at that block (point-in-time: `history.StoreHistory` reads nothing later), weights
them (`weights`), and trades there through the `Venue`'s quoter (`rebalance`). Between rebalances the holdings
stay as they are and are valued at each block's prices. Beside the index run two frictionless benchmarks: the
same members at equal weights, re-set at each rebalance, and WETH held throughout.

    result = run_backtest(definition, points, decimals, candidates, venue, BacktestOptions())
    result.series[-1].level, [r.block for r in result.rebalances], metrics_of(result)

The index starts as `capital_usd` of the hub; its level is the holdings' value scaled so that capital is the
definition's base value. A rebalance that cannot be done (the rule leaves no member, a held token unpriced) is
skipped with its reason; at the first block it is the backtest's error, since there is nothing to start from.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Final, Protocol

from defiscope.analytics.indices.definition import IndexDefinition
from defiscope.analytics.indices.errors import EmptyBasket, UnfillableBasket
from defiscope.analytics.indices.rebalance import (
    DEFAULT_DUST_USD,
    Market,
    Quoter,
    RebalanceResult,
    Unvalued,
    holdings_value,
    plan_rebalance,
    weights_of,
)
from defiscope.analytics.indices.schedule import Schedule, schedule_of
from defiscope.analytics.indices.state import RebalanceMark, RunState
from defiscope.analytics.indices.weights import Candidate, Exclusion, capped, screen, weighting_figure
from defiscope.errors import InputError

#: The notional fund a backtest trades: slippage depends on size, so the size is a stated input.
DEFAULT_CAPITAL_USD: Final = Decimal(1_000_000)


class BacktestRefused(InputError):
    """The backtest cannot start: too few stored blocks, no hub price, or no basket at the first block."""


@dataclass(frozen=True, slots=True)
class PricePoint:
    """A stored block and the USD prices (per whole token, by symbol) known at it; a symbol absent has none."""

    block: int
    timestamp: int
    prices: Mapping[str, Decimal]


class CandidateSource(Protocol):
    """The candidates' figures (TVL, market cap, liquidity, age, grade) as known at a block, nothing later."""

    def candidates(self, point: PricePoint) -> Sequence[Candidate]: ...

    def why_unknown(self, point: PricePoint) -> Mapping[str, str]:
        """Why some candidates' figures are unknown at the block (not on the chain, no price yet), by symbol."""
        ...


class Venue(Protocol):
    """Where the trades are priced: the block's base fee, and a quoter on the block's state."""

    @property
    def cost_model(self) -> str:
        """How trades are priced, in a few words (a report names it)."""
        ...

    def base_fee(self, point: PricePoint) -> int: ...

    def quoter(self, market: Market) -> Quoter: ...


@dataclass(frozen=True, slots=True)
class BacktestOptions:
    hub: str = "WETH"
    reference: str = "WETH"  # the single-token benchmark
    native: str = "WETH"  # the wrapped native coin, whose price prices the gas
    capital_usd: Decimal = DEFAULT_CAPITAL_USD
    dust_usd: Decimal = DEFAULT_DUST_USD
    schedule: Schedule | None = None  # None: the definition's own


@dataclass(frozen=True, slots=True)
class Rebalance:
    """A rebalance done at a block: the trades and the candidates left out, with why."""

    timestamp: int
    result: RebalanceResult
    excluded: tuple[Exclusion, ...]
    unknown: Mapping[str, str] = field(default_factory=dict)  # why a candidate's figures were unknown

    @property
    def block(self) -> int:
        return self.result.block


@dataclass(frozen=True, slots=True)
class Skipped:
    block: int
    timestamp: int
    reason: str


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    """Index level and benchmark levels at a block (all start at the base value); None with the reason when
    a held token has no price there."""

    block: int
    timestamp: int
    level: Fraction | None
    equal_weight: Fraction | None
    weth: Fraction | None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Backtest:
    index: str
    cost_model: str
    options: BacktestOptions
    base_value: Decimal
    rebalances: tuple[Rebalance, ...]
    skipped: tuple[Skipped, ...]
    series: tuple[SeriesPoint, ...]

    @property
    def from_block(self) -> int:
        return self.series[0].block

    @property
    def to_block(self) -> int:
        return self.series[-1].block


def run_backtest(
    definition: IndexDefinition,
    points: Sequence[PricePoint],
    decimals: Mapping[str, int],
    source: CandidateSource,
    venue: Venue,
    options: BacktestOptions = BacktestOptions(),
) -> Backtest:
    """Build the index at `points[0]`, rebalance it on schedule, value it at every point."""
    if len(points) < 2:
        raise BacktestRefused(f"a backtest needs at least 2 stored blocks in the range, got {len(points)}")
    schedule = options.schedule or schedule_of(definition.rebalance)
    run = IndexRun(definition, decimals, source, venue, options, schedule)
    run.start(points[0])
    for point in points:
        run.step(point)
    return Backtest(
        definition.id,
        venue.cost_model,
        options,
        definition.base_value,
        tuple(run.rebalances),
        tuple(run.skipped),
        tuple(run.series),
    )


@dataclass(slots=True)
class IndexRun:
    """The index between blocks: its holdings, the benchmarks', and what it did so far (`live` steps it too)."""

    definition: IndexDefinition
    decimals: Mapping[str, int]
    source: CandidateSource
    venue: Venue
    options: BacktestOptions
    schedule: Schedule
    holdings: dict[str, int] = field(default_factory=dict)
    equal_units: dict[str, int] = field(default_factory=dict)  # the equal-weight benchmark's raw holdings
    weth_units: Fraction = Fraction(0)
    scale: Fraction = Fraction(0)  # index level per USD
    rebalances: list[Rebalance] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    series: list[SeriesPoint] = field(default_factory=list)
    last: RebalanceMark | None = None  # the last rebalance done (None: not started)

    def state(self) -> RunState:
        """What the run carries to the next block (after `start`)."""
        if self.last is None:
            raise RuntimeError("the index run has not started: no state to keep")
        return RunState(dict(self.holdings), dict(self.equal_units), self.weth_units, self.scale, self.last)

    def resume(self, state: RunState) -> None:
        """Go on from a kept state instead of `start`: the next `step` is the block after it."""
        self.holdings, self.equal_units = dict(state.holdings), dict(state.equal_units)
        self.weth_units, self.scale, self.last = state.weth_units, state.scale, state.last

    def market(self, point: PricePoint, base_fee: int = 0) -> Market:
        return Market(point.block, point.prices, self.decimals, base_fee, self.options.hub, self.options.native)

    def start(self, first: PricePoint) -> None:
        hub = self.options.hub
        if hub not in first.prices:
            raise BacktestRefused(f"the hub {hub} has no price at the first block {first.block}")
        capital = Fraction(self.options.capital_usd)
        market = self.market(first)
        self.holdings = {hub: math.floor(capital / market.unit_price(hub))}
        reference = self.options.reference
        if reference not in first.prices:
            raise BacktestRefused(f"the benchmark {reference} has no price at the first block {first.block}")
        self.weth_units = capital / Fraction(first.prices[reference])
        self.scale = Fraction(self.definition.base_value) / capital
        try:
            self.rebalance(first)
        except (EmptyBasket, UnfillableBasket, Unvalued) as exc:
            raise BacktestRefused(f"{exc} (at the first block {first.block}, where the index is built)") from exc

    def step(self, point: PricePoint) -> None:
        last = self.last
        if last is None:
            raise RuntimeError("the index run has not started: start or resume it first")
        if point.block > last.block:
            try:
                weights = weights_of(self.holdings, self.market(point))
            except Unvalued:
                weights = {}  # unvalued now: only a calendar day can make a rebalance due (and it will be skipped)
            # Drift is measured from the weights the last rebalance reached: a member it could not buy (no route)
            # would otherwise read as drift at every block, and retry at every block.
            if self.schedule.due(last.timestamp, point.timestamp, weights, last.weights_after):
                try:
                    self.rebalance(point)
                except (EmptyBasket, UnfillableBasket, Unvalued) as exc:
                    self.skipped.append(Skipped(point.block, point.timestamp, str(exc)))
        self.series.append(self.value(point))

    def rebalance(self, point: PricePoint) -> None:
        screening = screen(self.definition, self.source.candidates(point))
        figures = {m.symbol: weighting_figure(self.definition, m) for m in screening.members}
        targets = capped(figures, Fraction(self.definition.weighting.cap))
        market = self.market(point, self.venue.base_fee(point))
        result = plan_rebalance(
            self.holdings, targets, market, self.venue.quoter(market), dust_usd=self.options.dust_usd
        )
        self.reset_equal_weight(point, list(targets))
        self.holdings = dict(result.holdings)
        unknown = self.source.why_unknown(point)
        self.rebalances.append(Rebalance(point.timestamp, result, screening.excluded, unknown))
        self.last = RebalanceMark(point.block, point.timestamp, result.weights_after)

    def reset_equal_weight(self, point: PricePoint, members: list[str]) -> None:
        """The benchmark: the same members (priced ones) at equal weights, frictionless, from its own value; held
        in raw units (rounded down), so its figures stay small fractions over a long daily-rebalanced run."""
        market = self.market(point)
        priced = [m for m in members if m in point.prices]
        value = self.equal_value(point) if self.equal_units else Fraction(self.options.capital_usd)
        if value is None or not priced:
            return  # it keeps its holdings until it can be re-set
        self.equal_units = {m: math.floor(value / len(priced) / market.unit_price(m)) for m in priced}

    def equal_value(self, point: PricePoint) -> Fraction | None:
        if any(m not in point.prices for m in self.equal_units):
            return None
        market = self.market(point)
        return sum((market.value(m, units) for m, units in self.equal_units.items()), Fraction(0))

    def value(self, point: PricePoint) -> SeriesPoint:
        reference = point.prices.get(self.options.reference)
        weth = None if reference is None else self.weth_units * Fraction(reference) * self.scale
        equal = self.equal_value(point)
        equal_level = None if equal is None else equal * self.scale
        try:
            usd = holdings_value(self.holdings, self.market(point))
        except Unvalued as exc:
            return SeriesPoint(point.block, point.timestamp, None, equal_level, weth, str(exc))
        return SeriesPoint(point.block, point.timestamp, usd * self.scale, equal_level, weth)
