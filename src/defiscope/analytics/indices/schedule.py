"""When an index rebalances: on a calendar day (weekly, monthly, quarterly), daily, or on drift (pure; no I/O).

A calendar rebalance happens at the first stored block on or after the scheduled UTC day that follows the
previous rebalance; a drift rebalance at the first block where some member's weight has moved more than the
threshold from where the last rebalance set it (weights of the holdings at that block's prices, against the weights
that rebalance reached: its targets, up to the trades' slippage and any member it could not buy).

    >>> import datetime
    >>> monthly = Calendar("monthly", 1)
    >>> monthly.next_day(datetime.date(2026, 1, 1))
    datetime.date(2026, 2, 1)
    >>> Calendar("quarterly", 15).next_day(datetime.date(2026, 2, 20))
    datetime.date(2026, 4, 15)
    >>> Drift(Fraction(5, 100)).due(0, 86_400, {"UNI": Fraction(31, 100)}, {"UNI": Fraction(1, 4)})
    True
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Final, Literal, Protocol

from defiscope.analytics.indices.definition import CalendarRebalance, DriftRebalance

QUARTER_MONTHS: Final = (1, 4, 7, 10)
#: The longest gap between two scheduled days (a quarter), so a search for the next one always ends.
MAX_DAYS_AHEAD: Final = 93


class Schedule(Protocol):
    """Whether a rebalance is due at a block, given the last rebalance's time and the weights now and targeted."""

    def due(
        self, last_timestamp: int, timestamp: int, weights: Mapping[str, Fraction], targets: Mapping[str, Fraction]
    ) -> bool: ...


@dataclass(frozen=True, slots=True)
class Calendar:
    """Every week on ISO weekday `day`, every month on day `day`, or every quarter's first month on day `day`."""

    every: Literal["weekly", "monthly", "quarterly"]
    day: int

    def on_schedule(self, date: datetime.date) -> bool:
        if self.every == "weekly":
            return date.isoweekday() == self.day
        return date.day == self.day and (self.every == "monthly" or date.month in QUARTER_MONTHS)

    def next_day(self, after: datetime.date) -> datetime.date:
        """The first scheduled day strictly after `after`."""
        for ahead in range(1, MAX_DAYS_AHEAD + 1):
            date = after + datetime.timedelta(days=ahead)
            if self.on_schedule(date):
                return date
        raise ValueError(f"no {self.every} day {self.day} within {MAX_DAYS_AHEAD} days of {after}")

    def due(
        self, last_timestamp: int, timestamp: int, weights: Mapping[str, Fraction], targets: Mapping[str, Fraction]
    ) -> bool:
        return _utc_date(timestamp) >= self.next_day(_utc_date(last_timestamp))


@dataclass(frozen=True, slots=True)
class Daily:
    """Once per UTC day: the first block of each day after the last rebalance's."""

    def due(
        self, last_timestamp: int, timestamp: int, weights: Mapping[str, Fraction], targets: Mapping[str, Fraction]
    ) -> bool:
        return _utc_date(timestamp) > _utc_date(last_timestamp)


@dataclass(frozen=True, slots=True)
class Drift:
    """When some member's weight is more than `threshold` (a fraction, 5 points = 1/20) away from its target."""

    threshold: Fraction

    def due(
        self, last_timestamp: int, timestamp: int, weights: Mapping[str, Fraction], targets: Mapping[str, Fraction]
    ) -> bool:
        members = set(weights) | set(targets)
        zero = Fraction(0)
        return any(abs(weights.get(m, zero) - targets.get(m, zero)) > self.threshold for m in members)


def schedule_of(rule: CalendarRebalance | DriftRebalance) -> Schedule:
    """The schedule a definition's `[rebalance]` table describes."""
    if isinstance(rule, DriftRebalance):
        return Drift(Fraction(rule.threshold_pct) / 100)
    return Calendar(rule.every, rule.day)


def _utc_date(timestamp: int) -> datetime.date:
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).date()
