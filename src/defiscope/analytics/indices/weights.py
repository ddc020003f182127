"""Target weights from member figures: the eligibility screen, the weighting methods and the cap. Exact: `Fraction`s.

The cap follows the DeFi Pulse Index rule: a member above the cap is set to the cap and its excess is shared
among the members below it, pro rata to their weights; sharing may lift another member above the cap, so
this repeats until none is above it. Since every uncapped member is scaled by the same factor, the fixed point
is reached in at most one pass per member: weights of the members left uncapped keep their original ratios.

    >>> from fractions import Fraction
    >>> figures = {"UNI": 50, "AAVE": 30, "MKR": 12, "COMP": 5, "SNX": 3}
    >>> weights = capped({symbol: Fraction(mcap) for symbol, mcap in figures.items()}, Fraction(1, 4))
    >>> ", ".join(f"{symbol} {weight}" for symbol, weight in weights.items())
    'UNI 1/4, AAVE 1/4, MKR 1/4, COMP 5/32, SNX 3/32'

UNI (1/2) and AAVE (3/10) are cut to 1/4; their excess lifts MKR from 3/25 to 3/10, above the cap in turn, so
MKR is capped too and COMP and SNX share the rest, still in the ratio 5 : 3.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from math import isqrt
from typing import Final

from defiscope.analytics.indices.definition import Eligibility, IndexDefinition, RankingFigure, WeightingMethod
from defiscope.analytics.indices.errors import EmptyBasket, UnfillableBasket
from defiscope.errors import InputError

#: `sqrt-mcap` takes the square root of a market cap rounded down to this many decimal places (of USD^½):
#: exact to 10^-18, far below any weight's significance, and still a `Fraction` so the weights sum to 1 exactly.
SQRT_DECIMALS: Final = 18


@dataclass(frozen=True, slots=True)
class Candidate:
    """A token that may enter the basket, with its point-in-time figures; `None` means not known at that time."""

    symbol: str
    category: str
    age_days: int | None = None
    tvl_usd: Decimal | None = None
    liquidity_usd: Decimal | None = None
    mcap_usd: Decimal | None = None
    grade: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Failure:
    """One rule a candidate failed: the definition field that sets the rule, and the reason with the figures."""

    rule: str
    reason: str


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A candidate left out of the basket, and every rule it failed."""

    symbol: str
    failures: tuple[Failure, ...]

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(failure.reason for failure in self.failures)


@dataclass(frozen=True, slots=True)
class Screening:
    """The members admitted (largest first by the ranking figure) and every candidate excluded, with why."""

    members: tuple[Candidate, ...]
    excluded: tuple[Exclusion, ...]


def target_weights(definition: IndexDefinition, candidates: Iterable[Candidate]) -> dict[str, Fraction]:
    """The index's target weights for these candidates: screened, weighted by the method, then capped."""
    screening = screen(definition, candidates)
    figures = {member.symbol: weighting_figure(definition, member) for member in screening.members}
    return capped(figures, Fraction(definition.weighting.cap))


def screen(definition: IndexDefinition, candidates: Iterable[Candidate]) -> Screening:
    """Apply the eligibility rules, then keep the `max_members` largest by `rank_by`; refuse an empty basket
    and a symbol given twice (its figures would be ambiguous)."""
    rule = definition.eligibility
    passed: list[Candidate] = []
    excluded: list[Exclusion] = []
    seen: set[str] = set()
    for candidate in candidates:
        if candidate.symbol in seen:
            raise InputError(f"candidate {candidate.symbol} is given twice", field="candidates")
        seen.add(candidate.symbol)
        failures = ineligibility(definition, candidate)
        if failures:
            excluded.append(Exclusion(candidate.symbol, failures))
        else:
            passed.append(candidate)
    if not passed:
        raise EmptyBasket(_nothing_left(definition.id, excluded), field="eligibility")
    ranked = sorted(passed, key=lambda member: (-_known_figure(rule.rank_by, member), member.symbol))
    for place, candidate in enumerate(ranked[rule.max_members :], start=rule.max_members + 1):
        reason = f"rank {place} by {rule.rank_by}; the index holds at most {rule.max_members} members"
        excluded.append(Exclusion(candidate.symbol, (Failure("eligibility.max_members", reason),)))
    return Screening(tuple(ranked[: rule.max_members]), tuple(excluded))


def ineligibility(definition: IndexDefinition, candidate: Candidate) -> tuple[Failure, ...]:
    """Every rule the candidate fails, in words with its figure and the threshold; empty when it is eligible."""
    rule = definition.eligibility
    failures = [
        *_eligibility_failures(rule, candidate),
        *_figure_failures(definition.weighting.method, "weighting.method", candidate, definition),
    ]
    if rule.rank_by != _figure_of(definition.weighting.method):  # a figure both weighted and ranked by: once
        failures.extend(_figure_failures(rule.rank_by, "eligibility.rank_by", candidate, definition))
    return tuple(failures)


def weighting_figure(definition: IndexDefinition, member: Candidate) -> Fraction:
    """The positive figure a screened member is weighted by (the screen has excluded missing or zero ones)."""
    method = definition.weighting.method
    if method == "equal":
        return Fraction(1)
    if method == "fixed":
        return Fraction((definition.weighting.weights or {})[member.symbol])
    value = _known_figure(_figure_of(method), member)
    return sqrt_floor(Fraction(value)) if method == "sqrt-mcap" else Fraction(value)


def proportional(figures: Mapping[str, Fraction]) -> dict[str, Fraction]:
    """Weights proportional to positive figures, summing to exactly 1."""
    if not figures:
        raise EmptyBasket("no members to weight", field="eligibility")
    bad = {member: figure for member, figure in figures.items() if figure <= 0}
    if bad:
        raise ValueError(f"figures must be positive to weight by: {bad}")
    total = sum(figures.values(), Fraction(0))
    return {member: figure / total for member, figure in figures.items()}


def capped(figures: Mapping[str, Fraction], cap: Fraction) -> dict[str, Fraction]:
    """Weights proportional to `figures`, none above `cap`, the excess redistributed pro rata (the DPI rule).

    Refuses a cap that cannot be met: with n members the weights reach 1 only if cap * n >= 1."""
    if cap * len(figures) < 1:
        raise UnfillableBasket(
            f"cap {cap} * {len(figures)} members = {cap * len(figures)} < 1: the weights cannot sum to 1; "
            "raise the cap or admit more members",
            field="weighting.cap",
        )
    weights = proportional(figures)
    at_cap: set[str] = set()
    while True:
        free = {member: weight for member, weight in weights.items() if member not in at_cap}
        # what the capped members do not take is shared among the others in proportion to their weights
        scale = (1 - cap * len(at_cap)) / sum(free.values(), Fraction(0))
        over = {member for member, weight in free.items() if weight * scale > cap}
        if not over:
            return {member: cap if member in at_cap else weights[member] * scale for member in weights}
        at_cap |= over


def sqrt_floor(value: Fraction) -> Fraction:
    """√value rounded down to `SQRT_DECIMALS` places, exactly: ⌊√⌊v·10^2k⌋⌋ = ⌊√(v·10^2k)⌋ for v >= 0.

    >>> int(sqrt_floor(Fraction(2)) * 10**SQRT_DECIMALS)  # √2 = 1.414213562373095048801...
    1414213562373095048
    """
    if value < 0:
        raise ValueError(f"no real square root of {value}")
    scale = 10**SQRT_DECIMALS
    return Fraction(isqrt(int(value * scale * scale)), scale)


def _eligibility_failures(rule: Eligibility, candidate: Candidate) -> Iterable[Failure]:
    if candidate.category not in rule.categories:
        reason = f"category {candidate.category!r} is not among {', '.join(rule.categories)}"
        yield Failure("eligibility.categories", reason)
    yield from _at_least("min_tvl_usd", "TVL", candidate.tvl_usd, rule.min_tvl_usd, "USD")
    yield from _at_least("min_liquidity_usd", "liquidity", candidate.liquidity_usd, rule.min_liquidity_usd, "USD")
    age = None if candidate.age_days is None else Decimal(candidate.age_days)
    yield from _at_least("min_age_days", "age", age, Decimal(rule.min_age_days), "days")


def _at_least(field: str, label: str, value: Decimal | None, minimum: Decimal, unit: str) -> Iterable[Failure]:
    if minimum == 0:
        return
    if value is None:
        yield Failure(f"eligibility.{field}", f"{label} unknown (the rule asks for at least {minimum} {unit})")
    elif value < minimum:
        yield Failure(f"eligibility.{field}", f"{label} {value} {unit} is below the minimum {minimum} {unit}")


def _figure_failures(
    figure: WeightingMethod | RankingFigure, field: str, candidate: Candidate, definition: IndexDefinition
) -> Iterable[Failure]:
    if figure == "equal":
        return
    if figure == "fixed":
        if candidate.symbol not in (definition.weighting.weights or {}):
            yield Failure("weighting.weights", "fixed weights do not include it")
        return
    name = _figure_of(figure)
    value, label = _FIGURES[name](candidate), _LABELS[name]
    purpose = "weighting" if field == "weighting.method" else "ranking"
    if value is None:
        yield Failure(field, f"{label} unknown, needed for {purpose}")
    elif value <= 0:
        yield Failure(field, f"{label} is {value}: nothing to use for {purpose}")


def _figure_of(method: WeightingMethod | RankingFigure) -> str:
    return "mcap" if method == "sqrt-mcap" else method


_FIGURES: Final[dict[str, Callable[[Candidate], Decimal | None]]] = {
    "mcap": lambda candidate: candidate.mcap_usd,
    "tvl": lambda candidate: candidate.tvl_usd,
    "grade": lambda candidate: candidate.grade,
}
_LABELS: Final = {"mcap": "market cap", "tvl": "TVL", "grade": "grade"}


def _known_figure(name: str, member: Candidate) -> Decimal:
    value = _FIGURES[name](member)
    if value is None:
        raise ValueError(f"{member.symbol} has no {name}: screen the candidates first")
    return value


def _nothing_left(index_id: str, excluded: list[Exclusion]) -> str:
    if not excluded:
        return f"index {index_id}: no candidates were given to screen"
    counts = Counter(failure.rule for exclusion in excluded for failure in exclusion.failures)
    summary = ", ".join(f"{rule} {count}" for rule, count in counts.most_common())
    return f"index {index_id}: the eligibility rules leave none of {len(excluded)} candidates (failed: {summary})"
