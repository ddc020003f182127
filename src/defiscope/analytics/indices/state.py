"""What an index run carries from block to block, exactly, and its JSON form for the store (pure; no I/O).

Between rebalances an index's holdings, its benchmarks' units and its scale do not change; the schedule reads
only the last rebalance's time and the weights it reached. That is all a live tracker needs to go on after a
restart (`live.IndexTracker` stores it with each rebalance's value, revision 0022), so it resumes at the block
after the last stored one instead of replaying the history. Fractions are kept as "numerator/denominator".

    >>> state = RunState({"UNI": 5}, {"UNI": 4}, Fraction(1, 3), Fraction(1, 10_000),
    ...                  RebalanceMark(7, 1_700_000_000, {"UNI": Fraction(1)}))
    >>> RunState.from_json(state.to_json()) == state
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any


@dataclass(frozen=True, slots=True)
class RebalanceMark:
    """What the schedule reads of the last rebalance: its block, its time and the weights it reached."""

    block: int
    timestamp: int
    weights_after: Mapping[str, Fraction]


@dataclass(frozen=True, slots=True)
class RunState:
    """An index run after a block: raw holdings, the equal-weight benchmark's raw units, the WETH benchmark's
    units, the level per USD, and the last rebalance."""

    holdings: Mapping[str, int]
    equal_units: Mapping[str, int]
    weth_units: Fraction
    scale: Fraction
    last: RebalanceMark

    def to_json(self) -> dict[str, Any]:
        return {
            "holdings": {s: str(amount) for s, amount in sorted(self.holdings.items())},
            "equal_units": {s: str(amount) for s, amount in sorted(self.equal_units.items())},
            "weth_units": _text(self.weth_units),
            "scale": _text(self.scale),
            "last_rebalance": {
                "block": self.last.block,
                "timestamp": self.last.timestamp,
                "weights_after": {s: _text(w) for s, w in sorted(self.last.weights_after.items())},
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunState:
        last = data["last_rebalance"]
        return cls(
            {s: int(amount) for s, amount in data["holdings"].items()},
            {s: int(amount) for s, amount in data["equal_units"].items()},
            Fraction(data["weth_units"]),
            Fraction(data["scale"]),
            RebalanceMark(
                int(last["block"]),
                int(last["timestamp"]),
                {s: Fraction(w) for s, w in last["weights_after"].items()},
            ),
        )


def _text(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"
