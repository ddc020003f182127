"""Bullish, bearish and neutral signals from an entity's grade over blocks, with hysteresis.

A grade near a threshold would flip a signal back and forth on noise, so entering a state takes more than
staying in it (the thresholds of `HYSTERESIS`, on the 0-100 grade):

    neutral -> bullish  when G >= 70        bullish -> neutral  when G < 60
    neutral -> bearish  when G <= 30        bearish -> neutral  when G > 40
    bullish -> bearish  when G <= 30        bearish -> bullish  when G >= 70

Every entity starts neutral. A signal is a change of state, at the block of the grade that caused it, with
the factors that moved the grade most: the largest changes of their contributions (grade points, which add up
to the grade) since the entity's previous grade, or since a neutral start (every factor at the 50th
percentile) for its first grade. A block without a grade changes nothing: the state is held until a grade says
otherwise.

    >>> points = [GradePoint(block, grade, {"momentum_7d": grade}, {"momentum_7d": 1.0})
    ...           for block, grade in [(1, 50.0), (2, 72.0), (3, 65.0), (4, 71.0), (5, 59.0)]]
    >>> [(s.block, s.state, s.grade) for s in signals("uniswap", points)]
    [(2, 'bullish', 72.0), (5, 'neutral', 59.0)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Final, Literal

from defiscope.analytics.grades.catalog import Horizon
from defiscope.analytics.grades.formula import EntityGrades
from defiscope.errors import InputError

SignalState = Literal["bullish", "neutral", "bearish"]
DIRECTION: Final[Mapping[SignalState, int]] = {"bullish": 1, "neutral": 0, "bearish": -1}
NEUTRAL_PERCENTILE: Final = 50.0


@dataclass(frozen=True, slots=True)
class Hysteresis:
    """Grade thresholds: a state is entered at its `enter_` level and left past its `leave_` level."""

    enter_bullish: float = 70.0
    leave_bullish: float = 60.0
    enter_bearish: float = 30.0
    leave_bearish: float = 40.0

    def __post_init__(self) -> None:
        if not self.enter_bearish <= self.leave_bearish < self.leave_bullish <= self.enter_bullish:
            raise InputError(
                "thresholds must satisfy enter_bearish <= leave_bearish < leave_bullish <= enter_bullish",
                field="hysteresis",
            )

    def next_state(self, state: SignalState, grade: float) -> SignalState:
        """The state after seeing `grade` in `state`."""
        if grade >= self.enter_bullish:
            return "bullish"
        if grade <= self.enter_bearish:
            return "bearish"
        if state == "bullish" and grade < self.leave_bullish:
            return "neutral"
        if state == "bearish" and grade > self.leave_bearish:
            return "neutral"
        return state


HYSTERESIS: Final = Hysteresis()


@dataclass(frozen=True, slots=True)
class GradePoint:
    """An entity's grade at a block (None: no grade), its factors' contributions and effective weights."""

    block: int
    grade: float | None
    contributions: Mapping[str, float]
    weights: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class Mover:
    """A factor's contribution to the grade (points) before and after the transition."""

    name: str
    before: float
    after: float

    @property
    def change(self) -> float:
        return self.after - self.before


@dataclass(frozen=True, slots=True)
class Signal:
    entity: str
    block: int
    state: SignalState
    previous: SignalState
    grade: float
    movers: tuple[Mover, ...]

    def as_dict(self) -> dict[str, object]:
        """The published signal (`/v1/signals`): grade and contributions in grade points."""
        return {
            "entity": self.entity,
            "block": self.block,
            "state": self.state,
            "previous": self.previous,
            "grade": round(self.grade, 2),
            "movers": [
                {"name": m.name, "before": round(m.before, 4), "after": round(m.after, 4), "change": round(m.change, 4)}
                for m in self.movers
            ],
        }


def grade_points(history: Sequence[tuple[int, EntityGrades]], horizon: Horizon) -> list[GradePoint]:
    """One entity's grades of one horizon over blocks, from the formula's output at each block."""
    points = []
    for block, graded in history:
        weights = {s.name: s.effective_weight for s in graded.factors if s.horizon == horizon and s.effective_weight}
        points.append(GradePoint(block, graded.grade(horizon).score, graded.contributions(horizon), weights))
    return points


def signals_of_history(
    history: Sequence[tuple[int, Sequence[EntityGrades]]],
    horizon: Horizon,
    hysteresis: Hysteresis = HYSTERESIS,
    movers: int = 3,
) -> list[Signal]:
    """Every entity's signals from the formula's output at successive blocks, in block order (then entity)."""
    per_entity: dict[str, list[tuple[int, EntityGrades]]] = {}
    for block, graded_block in history:
        for graded in graded_block:
            per_entity.setdefault(graded.slug, []).append((block, graded))
    found = [
        signal
        for slug, entity_history in per_entity.items()
        for signal in signals(slug, grade_points(entity_history, horizon), hysteresis, movers)
    ]
    return sorted(found, key=lambda signal: (signal.block, signal.entity))


def states(points: Sequence[GradePoint], hysteresis: Hysteresis = HYSTERESIS) -> list[SignalState]:
    """The state after each point (held through points without a grade)."""
    _check_blocks(points)
    state: SignalState = "neutral"
    after = []
    for point in points:
        if point.grade is not None:
            state = hysteresis.next_state(state, point.grade)
        after.append(state)
    return after


def signals(
    entity: str, points: Sequence[GradePoint], hysteresis: Hysteresis = HYSTERESIS, movers: int = 3
) -> list[Signal]:
    """Every change of state along the points, with the `movers` factors whose contributions changed most."""
    _check_blocks(points)
    found = []
    state: SignalState = "neutral"
    before: GradePoint | None = None
    for point in points:
        if point.grade is None:
            continue
        signal = transition(entity, state, before, point, hysteresis, movers)
        if signal is not None:
            found.append(signal)
            state = signal.state
        before = point
    return found


def transition(
    entity: str,
    state: SignalState,
    before: GradePoint | None,
    point: GradePoint,
    hysteresis: Hysteresis = HYSTERESIS,
    movers: int = 3,
) -> Signal | None:
    """The signal `point` raises for an entity in `state` whose previous grade was `before` (None: a neutral start),
    or None when the state holds: one step of `signals`, for a publisher that keeps the state between blocks."""
    if point.grade is None:
        return None
    new_state = hysteresis.next_state(state, point.grade)
    if new_state == state:
        return None
    moved = _movers(_baseline(point) if before is None else before.contributions, point.contributions)
    return Signal(entity, point.block, new_state, state, point.grade, moved[:movers])


def _baseline(point: GradePoint) -> dict[str, float]:
    """Contributions of a neutral start: the same factors and weights, each at the 50th percentile."""
    return {name: weight * NEUTRAL_PERCENTILE for name, weight in point.weights.items()}


def _movers(before: Mapping[str, float], after: Mapping[str, float]) -> tuple[Mover, ...]:
    """Every factor's move, largest change first (ties by name, so the order is deterministic)."""
    moves = [Mover(name, before.get(name, 0.0), after.get(name, 0.0)) for name in {*before, *after}]
    return tuple(sorted(moves, key=lambda move: (-abs(move.change), move.name)))


def _check_blocks(points: Sequence[GradePoint]) -> None:
    for earlier, later in pairwise(points):
        if later.block <= earlier.block:
            raise InputError(
                f"grade points must be in increasing block order: {later.block} after {earlier.block}", field="block"
            )
