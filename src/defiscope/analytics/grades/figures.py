"""Figures that carry their provenance: a value or the reason it is missing, and the newest input behind it.

Factor inputs come from several chains (PancakeSwap on 56, the clock on 1), so "newest" is by block time, then
chain and number. Combining figures keeps the newest input; a missing operand makes the result missing with the
operand's reason (the first one found), never a 0.

    >>> a = Figure.of(Decimal(2), Stamp(100, 1, 10))
    >>> b = Figure.of(Decimal(3), Stamp(90, 56, 500))
    >>> combine(lambda x, y: x * y, a, b)
    Figure(value=Decimal('6'), missing=None, newest=Stamp(timestamp=100, chain_id=1, number=10))
    >>> combine(lambda x, y: x * y, a, Figure.lacking("no price")).missing
    'no price'
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

DAY: Final = 86_400
#: Significant digits of the factors' decimal arithmetic (sums of 18-decimal token values; ratios need room).
PRECISION: Final = 50
#: A sample for time t is the newest observation at or before t, at most this old: an older one is not "at t".
SAMPLE_MAX_AGE: Final = 2 * DAY


@dataclass(frozen=True, slots=True, order=True)
class Stamp:
    """Where an input was read: block time first, so the newest across chains is the max."""

    timestamp: int
    chain_id: int
    number: int


@dataclass(frozen=True, slots=True)
class Figure:
    value: Decimal | None
    missing: str | None
    newest: Stamp | None

    @classmethod
    def of(cls, value: Decimal, newest: Stamp | None) -> Figure:
        return cls(value, None, newest)

    @classmethod
    def lacking(cls, reason: str, newest: Stamp | None = None) -> Figure:
        return cls(None, reason, newest)

    @property
    def known(self) -> Decimal:
        """The value; only for a figure checked to have one."""
        if self.value is None:
            raise ValueError(f"figure is missing: {self.missing}")
        return self.value


def newest_of(stamps: Iterable[Stamp | None]) -> Stamp | None:
    present = [s for s in stamps if s is not None]
    return max(present) if present else None


def combine(operation: Callable[..., Decimal], *figures: Figure) -> Figure:
    """operation(values) with the newest input of all; the first missing operand's reason if any is missing."""
    newest = newest_of(f.newest for f in figures)
    for figure in figures:
        if figure.value is None:
            return Figure.lacking(str(figure.missing), newest)
    return Figure.of(operation(*(f.known for f in figures)), newest)


@dataclass(frozen=True, slots=True)
class Observation:
    """One stored value of a series (a price quote, a snapshot's total) at its time; `stamp` is its block, None
    for an off-chain quote."""

    timestamp: int
    value: Decimal
    stamp: Stamp | None


def sample(observations: Sequence[Observation], at: int, max_age: int = SAMPLE_MAX_AGE) -> Observation | None:
    """The newest observation at or before `at` and no older than `max_age`.

    `observations` are sorted by time; of equal times the last wins (the caller sorts the most trusted last)."""
    times = [o.timestamp for o in observations]
    index = bisect_right(times, at)
    if index == 0:
        return None
    found = observations[index - 1]
    return found if at - found.timestamp <= max_age else None


def daily_grid(now: int, days: int) -> list[int]:
    """now, now - 1 day, ..., now - `days` days: the sample times of a `days`-day window, newest first."""
    return [now - k * DAY for k in range(days + 1)]
