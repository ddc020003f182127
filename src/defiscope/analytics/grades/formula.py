"""The grade formula: trader and investor grades 0-100 from the cross-section of factor values at one block.

For each factor f and each graded entity i that has a value at block B, the percentile is the entity's rank
among the n entities that have one, scaled to 0-100 so that the best is 100 and the worst 0 ("better" in the
catalog says whether higher or lower values are better; ties share their average rank):

    p_i,f = 100 * (r_i,f - 1) / (n - 1),   r = 1 for the worst value, n for the best

A grade g (trader or investor) has published weights w_f in percent over the factors of its horizon, summing
to 100. Missing factors do not count as zero: the weights are renormalised over the factors entity i has,

    G_i = sum_f w_f p_i,f / sum_f w_f     (f over the factors of g present for i)

so each present factor contributes c_i,f = w_f / sum w * p_i,f points, and the contributions add up to G_i.
An entity gets no grade, with the reason, when the factors it has carry less than `min_coverage` percent of
the published weight; a factor fewer than `min_ranked` entities have is not ranked at all (a rank among two
is all or nothing), and is missing for every entity with that reason. docs/grades.md has the weights table
and the versioning rule: any change of weights or rules is a new FORMULA_VERSION.

    >>> readings = [FactorReading(slug, "momentum_7d", value, inputs_block=99) for slug, value in
    ...             [("aave", 0.10), ("uniswap", 0.00), ("curve", -0.05), ("lido", 0.00)]]
    >>> grades = {g.slug: g for g in grade_block(readings, entities=("aave", "uniswap", "curve", "lido"))}
    >>> [grades[slug].factor("momentum_7d").percentile for slug in ("aave", "uniswap", "curve")]
    [100.0, 50.0, 0.0]
    >>> grades["aave"].trader.score is None, grades["aave"].trader.reason  # doctest: +ELLIPSIS
    (True, 'its factors carry 20 % of the trader weights, below the 50 % needed: missing momentum_30d, ...')
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Final, TypeAlias

from defiscope.analytics.grades.catalog import FACTORS, GRADED, Better, Horizon
from defiscope.errors import InputError

FactorValue: TypeAlias = Decimal | float | int
HORIZONS: Final[tuple[Horizon, ...]] = ("trader", "investor")


@dataclass(frozen=True, slots=True)
class Formula:
    """A published formula: its version, the weights of each grade (percent per factor name, summing to 100),
    the entities a factor needs to be ranked, and the percent of a grade's weight an entity needs to be graded."""

    version: str
    weights: Mapping[Horizon, Mapping[str, int]]
    min_ranked: int = 3
    min_coverage: int = 50

    def weight(self, factor: str) -> int:
        """The published weight of a factor in the grade of its horizon (0 for a factor the formula leaves out)."""
        spec = FACTORS[factor]
        return self.weights[spec.horizon].get(factor, 0)


FORMULA_VERSION: Final = "1.1.0"

# Trader: what moves a token over weeks (momentum over 1-4 weeks per Liu, Tsyvinski & Wu 2022, liquidity, flows).
# Investor: what a protocol is worth over months (fees and revenue against its value, share, resilience); the
# risk composite (1.1.0) is resilience read from the contracts, so it takes half the price-history weight.
FORMULA: Final = Formula(
    FORMULA_VERSION,
    MappingProxyType(
        {
            "trader": MappingProxyType(
                {
                    "momentum_7d": 20,
                    "momentum_30d": 20,
                    "volatility_30d": 10,
                    "liquidity_usd": 15,
                    "volume_7d_usd": 15,
                    "tvl_trend_30d": 15,
                    "yield_level": 5,
                }
            ),
            "investor": MappingProxyType(
                {
                    "momentum_90d": 5,
                    "max_drawdown_90d": 5,
                    "tvl_share": 10,
                    "fees_30d_usd": 10,
                    "revenue_30d_usd": 15,
                    "price_to_fees": 15,
                    "price_to_revenue": 15,
                    "yield_stability": 5,
                    "voting_concentration": 10,
                    "risk_composite": 10,
                }
            ),
        }
    ),
)


@dataclass(frozen=True, slots=True)
class FactorReading:
    """One factor of one entity at one block, as the factor step computed it: a value, or why there is none.

    `inputs_block` is the newest block the value's inputs came from, on the grading clock's chain (never after
    the graded block; an input read on another chain counts at the clock block of its timestamp)."""

    entity: str
    name: str
    value: FactorValue | None
    inputs_block: int | None = None
    missing_reason: str | None = None

    def __post_init__(self) -> None:
        if self.name not in FACTORS:
            raise InputError(f"unknown factor {self.name!r} (known: {', '.join(sorted(FACTORS))})", field="name")
        if (self.value is None) == (self.missing_reason is None):
            raise InputError(f"{self.entity}/{self.name}: a value or a missing reason, one of them", field="value")
        finite = self.value.is_finite() if isinstance(self.value, Decimal) else math.isfinite(self.value or 0)
        if not finite:
            raise InputError(f"{self.entity}/{self.name}: value {self.value} is not finite", field="value")


@dataclass(frozen=True, slots=True)
class FactorScore:
    """A factor in an entity's breakdown: its value, percentile and weights, or why it is missing."""

    name: str
    horizon: Horizon
    value: FactorValue | None
    percentile: float | None
    weight: int  # published, percent of its grade
    effective_weight: float | None  # share of the grade at this block after renormalising (None if not counted)
    inputs_block: int | None
    missing_reason: str | None

    @property
    def contribution(self) -> float:
        """Grade points this factor adds: effective weight x percentile (0 when it is not counted)."""
        if self.effective_weight is None or self.percentile is None:
            return 0.0
        return self.effective_weight * self.percentile


@dataclass(frozen=True, slots=True)
class Grade:
    """A grade 0-100, or why there is none; `coverage` is the percent of published weight that was present."""

    score: float | None
    reason: str | None
    coverage: int


@dataclass(frozen=True, slots=True)
class EntityGrades:
    slug: str
    token: str
    trader: Grade
    investor: Grade
    factors: tuple[FactorScore, ...]

    def grade(self, horizon: Horizon) -> Grade:
        return self.trader if horizon == "trader" else self.investor

    def factor(self, name: str) -> FactorScore:
        return next(score for score in self.factors if score.name == name)

    def contributions(self, horizon: Horizon) -> dict[str, float]:
        """Grade points per counted factor of one grade (they add up to the grade)."""
        return {s.name: s.contribution for s in self.factors if s.horizon == horizon and s.effective_weight}

    def as_dict(self) -> dict[str, object]:
        """The entry of the published grades document (the issue's JSON shape, plus why anything is missing)."""
        return {
            "slug": self.slug,
            "token": self.token,
            "trader_grade": _rounded(self.trader.score),
            "investor_grade": _rounded(self.investor.score),
            "trader_grade_missing": self.trader.reason,
            "investor_grade_missing": self.investor.reason,
            "factors": [
                {
                    "name": s.name,
                    "value": None if s.value is None else float(s.value),
                    "percentile": _rounded(s.percentile),
                    "weight": s.weight / 100,
                    "effective_weight": None if s.effective_weight is None else round(s.effective_weight, 6),
                    "horizon": s.horizon,
                    "inputs_block": s.inputs_block,
                    "missing_reason": s.missing_reason,
                }
                for s in self.factors
            ],
        }


def grade_block(
    readings: Iterable[FactorReading], formula: Formula = FORMULA, entities: Sequence[str] = tuple(GRADED)
) -> list[EntityGrades]:
    """Grade every entity at one block from the factor readings of that block (one per entity and factor)."""
    table = _table(readings, entities)
    ranked = {name: _rank_factor(name, table, entities, formula.min_ranked) for name in FACTORS}
    graded = []
    for slug in entities:
        scores = [_score(name, table.get((slug, name)), ranked[name], slug, formula) for name in FACTORS]
        weighted = {h: _grade(h, scores, formula) for h in HORIZONS}
        counted = _with_effective_weights(scores, weighted)
        token = GRADED[slug].token if slug in GRADED else slug
        graded.append(EntityGrades(slug, token, weighted["trader"][0], weighted["investor"][0], counted))
    return graded


def published_document(
    number: int, block_hash: str, timestamp: int, grades: Sequence[EntityGrades], formula: Formula = FORMULA
) -> dict[str, object]:
    """The grades of one block as published (`defiscope grades --json`, `/v1/grades`): the block, the formula's
    version and one entry per graded entity."""
    return {
        "block": {"number": number, "hash": block_hash, "timestamp": timestamp},
        "formula_version": formula.version,
        "grades": [graded.as_dict() for graded in grades],
    }


def percentiles(values: Mapping[str, FactorValue], better: Better) -> dict[str, float]:
    """p = 100 (r - 1) / (n - 1) per key, r the average rank with 1 for the worst value (n >= 2 values)."""
    if len(values) < 2:
        raise InputError("a percentile needs at least 2 values to rank", field="values")
    ordered = sorted(values, key=lambda key: values[key])
    ranks: dict[str, float] = {}
    start = 0
    while start < len(ordered):
        end = start
        while end + 1 < len(ordered) and values[ordered[end + 1]] == values[ordered[start]]:
            end += 1
        for key in ordered[start : end + 1]:
            ranks[key] = (start + end) / 2  # 0-based average rank of the tied run, ascending values
        start = end + 1
    top = len(ordered) - 1
    return {key: 100 * (rank if better == "higher" else top - rank) / top for key, rank in ranks.items()}


def _table(readings: Iterable[FactorReading], entities: Sequence[str]) -> dict[tuple[str, str], FactorReading]:
    table: dict[tuple[str, str], FactorReading] = {}
    known = set(entities)
    for reading in readings:
        if reading.entity not in known:
            raise InputError(f"a reading for {reading.entity!r}, which is not graded", field="entity")
        if (reading.entity, reading.name) in table:
            raise InputError(f"two readings of {reading.name} for {reading.entity}", field="name")
        table[(reading.entity, reading.name)] = reading
    return table


@dataclass(frozen=True, slots=True)
class _Ranked:
    percentiles: dict[str, float]
    reason: str | None  # why the factor is not ranked for anyone


def _rank_factor(
    name: str, table: Mapping[tuple[str, str], FactorReading], entities: Sequence[str], min_ranked: int
) -> _Ranked:
    present: dict[str, FactorValue] = {}
    for slug in entities:
        reading = table.get((slug, name))
        if reading is not None and reading.value is not None:
            present[slug] = reading.value
    if len(present) < max(min_ranked, 2):
        return _Ranked({}, f"only {len(present)} of {len(entities)} entities have {name}: too few to rank")
    return _Ranked(percentiles(present, FACTORS[name].better), None)


def _score(name: str, reading: FactorReading | None, ranked: _Ranked, slug: str, formula: Formula) -> FactorScore:
    spec = FACTORS[name]
    weight = formula.weight(name)
    if reading is None:
        return FactorScore(name, spec.horizon, None, None, weight, None, None, "not computed at this block")
    reason = reading.missing_reason or ranked.reason
    percentile = ranked.percentiles.get(slug) if reason is None else None
    return FactorScore(name, spec.horizon, reading.value, percentile, weight, None, reading.inputs_block, reason)


def _grade(horizon: Horizon, scores: Sequence[FactorScore], formula: Formula) -> tuple[Grade, float]:
    """The grade of one horizon and the weight sum it was renormalised over."""
    mine = [s for s in scores if s.horizon == horizon and s.weight > 0]
    present = [s for s in mine if s.percentile is not None]
    coverage = sum(s.weight for s in present)
    if coverage < formula.min_coverage or not present:
        missing = ", ".join(s.name for s in mine if s.percentile is None)
        reason = (
            f"its factors carry {coverage} % of the {horizon} weights, below the {formula.min_coverage} % needed: "
            f"missing {missing}"
        )
        return Grade(None, reason, coverage), float(coverage)
    score = sum(s.weight * (s.percentile or 0.0) for s in present) / coverage
    return Grade(score, None, coverage), float(coverage)


def _with_effective_weights(
    scores: Sequence[FactorScore], weighted: Mapping[Horizon, tuple[Grade, float]]
) -> tuple[FactorScore, ...]:
    """Each counted factor's share of its grade at this block (w_f / sum of present weights)."""
    result = []
    for s in scores:
        grade, total = weighted[s.horizon]
        counted = grade.score is not None and s.percentile is not None and s.weight > 0
        share = s.weight / total if counted else None
        result.append(
            FactorScore(s.name, s.horizon, s.value, s.percentile, s.weight, share, s.inputs_block, s.missing_reason)
        )
    return tuple(result)


def _rounded(figure: float | None) -> float | None:
    return None if figure is None else round(figure, 2)
