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

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from math import isqrt
from typing import Final

from defiscope.indices.definition import Eligibility, IndexDefinition, RankingFigure, WeightingMethod
from defiscope.indices.errors import EmptyBasket, UnfillableBasket

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
class Exclusion:
    """A candidate left out of the basket, and why (one reason per rule it failed)."""

    symbol: str
    reasons: tuple[str, ...]


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
    """Apply the eligibility rules, then keep the `max_members` largest by `rank_by`; refuse an empty basket."""
    rule = definition.eligibility
    passed: list[Candidate] = []
    excluded: list[Exclusion] = []
    for candidate in candidates:
        reasons = ineligibility(definition, candidate)
        if reasons:
            excluded.append(Exclusion(candidate.symbol, reasons))
        else:
            passed.append(candidate)
    if not passed:
        raise EmptyBasket(_nothing_left(definition.id, excluded), field="eligibility")
    ranked = sorted(passed, key=lambda member: (-_known_figure(rule.rank_by, member), member.symbol))
    for place, candidate in enumerate(ranked[rule.max_members :], start=rule.max_members + 1):
        reason = f"rank {place} by {rule.rank_by}; the index holds at most {rule.max_members} members"
        excluded.append(Exclusion(candidate.symbol, (reason,)))
    return Screening(tuple(ranked[: rule.max_members]), tuple(excluded))


def ineligibility(definition: IndexDefinition, candidate: Candidate) -> tuple[str, ...]:
    """Every rule the candidate fails, in words with its figure and the threshold; empty when it is eligible."""
    rule = definition.eligibility
    reasons = [
        *_eligibility_reasons(rule, candidate),
        *_figure_reasons(definition.weighting.method, "weighting", candidate, definition),
    ]
    if rule.rank_by != _figure_of(definition.weighting.method):
        reasons.extend(_figure_reasons(rule.rank_by, "ranking", candidate, definition))
    return tuple(dict.fromkeys(reasons))  # a figure both weighted and ranked by is reported once


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


def _eligibility_reasons(rule: Eligibility, candidate: Candidate) -> Iterable[str]:
    if candidate.category not in rule.categories:
        yield f"category {candidate.category!r} is not among {', '.join(rule.categories)}"
    yield from _at_least("TVL", candidate.tvl_usd, rule.min_tvl_usd, "USD")
    yield from _at_least("liquidity", candidate.liquidity_usd, rule.min_liquidity_usd, "USD")
    age = None if candidate.age_days is None else Decimal(candidate.age_days)
    yield from _at_least("age", age, Decimal(rule.min_age_days), "days")


def _at_least(label: str, value: Decimal | None, minimum: Decimal, unit: str) -> Iterable[str]:
    if minimum == 0:
        return
    if value is None:
        yield f"{label} unknown (the rule asks for at least {minimum} {unit})"
    elif value < minimum:
        yield f"{label} {value} {unit} is below the minimum {minimum} {unit}"


def _figure_reasons(
    figure: WeightingMethod | RankingFigure, purpose: str, candidate: Candidate, definition: IndexDefinition
) -> Iterable[str]:
    if figure == "equal":
        return
    if figure == "fixed":
        if candidate.symbol not in (definition.weighting.weights or {}):
            yield "fixed weights do not include it"
        return
    name = _figure_of(figure)
    value, label = _FIGURES[name](candidate), _LABELS[name]
    if value is None:
        yield f"{label} unknown, needed for {purpose}"
    elif value <= 0:
        yield f"{label} is {value}: nothing to weight by" if purpose == "weighting" else f"{label} is {value}"


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
    counts: dict[str, int] = {}
    for exclusion in excluded:
        for reason in exclusion.reasons:
            rule = reason.split(" ")[0]
            counts[rule] = counts.get(rule, 0) + 1
    summary = ", ".join(f"{rule} {count}" for rule, count in sorted(counts.items(), key=lambda item: -item[1]))
    return f"index {index_id}: the eligibility rules leave none of {len(excluded)} candidates (failed: {summary})"
