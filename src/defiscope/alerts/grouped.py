"""The rules that share inputs judged together: one measurement per block, then a pass that looks only at the rules
whose verdict can have moved since the last block, instead of at every rule.

Each rule's params become conditions `(axis, threshold, strict)` — "the reading's axis value is at least (strict:
above) the threshold" — any of which makes the rule hold (`conditions`; `evaluate.judge` in another shape, proven
equal by tests/alerts/test_grouped.py). A group keeps its params' thresholds sorted per (axis, strict); at a block,
each subject's reading cuts each sorted list at one place (a bisect). Only params whose thresholds lie between the
last block's cut and this block's can have changed their verdict: they are judged again (`evaluate.holding`), and
only the rules of params whose held subjects changed, or whose open alerts did not match them at their last look (a
cool-down, an alert on a subject gone), are judged (`evaluate.judge_rule`). A quiet block costs the measurement and a
few bisects per group, whatever the number of rules.

    >>> from defiscope.alerts.evaluate import BlockFigures, Extras, measure
    >>> from defiscope.alerts.rules import parse_rule
    >>> from defiscope.chain.block import BlockRef
    >>> def view(rule_id: str, pct: int) -> RuleView:
    ...     body = {"kind": "tvl_change", "params": {"chain": "1", "protocol": "p", "window_blocks": 1,
    ...             "threshold_pct": pct}}
    ...     return RuleView(rule_id, parse_rule(body), 0)
    >>> (group, rules), = group_rules([view("r5", 5), view("r20", 20)], lambda v: v)
    >>> history = {n: BlockFigures(BlockRef(1, n, f"0x{n:x}", n), tvl={"p": Decimal(tvl)})
    ...            for n, tvl in {1: 100, 2: 110, 3: 140}.items()}
    >>> states: dict[str, dict[str, SubjectState]] = {}
    >>> def run(n: int) -> list[str]:
    ...     measured = measure(group.params, history[n], history.get, Extras())
    ...     moves = group.judge(measured, history[n].block, states, lambda r, b, s: f"{r}@{b.number}")
    ...     return [f"{move.type} {rules[index].rule_id}" for index, move in moves]
    >>> run(2), run(3)  # +10 %: r5 fires; +27 %: r20 fires (r5 still firing, not looked at)
    (['alert.firing r5'], ['alert.firing r20'])
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import accumulate
from typing import Any, Final, TypeVar

from defiscope.alerts.evaluate import (
    NOTHING,
    Measurement,
    NewId,
    Reading,
    RuleView,
    SubjectState,
    Transition,
    Verdicts,
    holding,
    judge_rule,
)
from defiscope.alerts.rules import (
    GradeSignalParams,
    IndexerHealthParams,
    LiquidationExposureParams,
    NewProtocolParams,
    Params,
    PriceMoveParams,
    TvlChangeParams,
    YieldParams,
)
from defiscope.chain.block import BlockRef

T = TypeVar("T")
ONE: Final = Decimal(1)
#: (axis, threshold, strict): the condition holds when the reading's axis value is >= the threshold (> if strict);
#: an axis without a value (no change computed, not new) holds for no threshold.
Condition = tuple[str, Decimal, bool]
Axis = Callable[[Reading], Decimal | None]


def _negated(x: Decimal | None) -> Decimal | None:
    return None if x is None else -x


def _absolute(x: Decimal | None) -> Decimal | None:
    return None if x is None else abs(x)


#: What a condition compares, read off a reading (negation and abs are exact on Decimals).
AXES: Final[dict[str, Axis]] = {
    "change": lambda r: r.change,
    "-change": lambda r: _negated(r.change),
    "|change|": lambda r: _absolute(r.change),
    "usd": lambda r: r.change_usd,
    "-usd": lambda r: _negated(r.change_usd),
    "|usd|": lambda r: _absolute(r.change_usd),
    "value": lambda r: r.value,
    "-value": lambda r: _negated(r.value),
    "new": lambda r: r.value if r.flag else None,
    "flag": lambda r: ONE if r.flag else None,
}
#: A move's direction as the axis it is measured on (`evaluate._moved`).
_DIRECTED: Final = {"up": "{}", "down": "-{}", "any": "|{}|"}


def _directed(axis: str, direction: str) -> str:
    return _DIRECTED[direction].format(axis)


def conditions(p: Params) -> tuple[Condition, ...] | None:
    """The params' verdict as conditions any of which makes the rule hold (`evaluate.judge`'s comparisons, one by
    one); None for params without thresholds (governance rules hold on every reading: judged at every block)."""
    if isinstance(p, PriceMoveParams):
        return ((_directed("change", p.direction), p.threshold_pct, False),)
    if isinstance(p, TvlChangeParams):
        by_pct = () if p.threshold_pct is None else ((_directed("change", p.direction), p.threshold_pct, False),)
        by_usd = () if p.threshold_usd is None else ((_directed("usd", p.direction), p.threshold_usd, False),)
        return by_pct + by_usd
    if isinstance(p, YieldParams):
        moved = () if p.move_pct is None else (("|change|", p.move_pct, False),)
        above = () if p.above is None else (("value", p.above, True),)
        below = () if p.below is None else (("-value", -p.below, True),)  # value < below  <=>  -value > -below
        return moved + above + below
    if isinstance(p, LiquidationExposureParams):
        return (("value", p.threshold_usd, True),)
    if isinstance(p, NewProtocolParams):
        return (("new", p.min_tvl_usd, False),)
    if isinstance(p, GradeSignalParams):  # holds on the state a signal entered
        return (("flag", ONE, False),)
    if isinstance(p, IndexerHealthParams):
        failing = (("flag", ONE, False),) if p.on_failure else ()
        return (("value", Decimal(p.max_lag_blocks), True), *failing)
    return None


def holds(found: Sequence[Condition], reading: Reading) -> bool:
    """Whether any of the conditions holds for the reading (what a group's cuts tell without evaluating it)."""
    for axis, threshold, strict in found:
        x = AXES[axis](reading)
        if x is not None and (x > threshold if strict else x >= threshold):
            return True
    return False


@dataclass(frozen=True, slots=True)
class _Cut:
    """The thresholds of one (axis, strict) of a group, ascending, with the params each belongs to: a reading holds
    for a prefix of them."""

    axis: Axis
    strict: bool
    thresholds: tuple[Decimal, ...]
    owners: tuple[int, ...]  # index of the params (in `RuleGroup.sets`) of each threshold

    def at(self, reading: Reading) -> int:
        """How many of the thresholds the reading meets (they are the first ones)."""
        x = self.axis(reading)
        if x is None:
            return 0
        return bisect_left(self.thresholds, x) if self.strict else bisect_right(self.thresholds, x)


class RuleGroup:
    """The rules of one chain and depth with the same inputs (`RuleView.inputs`), by equal params, with what their
    last judged block left: each subject's cuts, the subjects each params held for, and the rules whose open alerts
    did not match them. Not thread-safe: one evaluator judges it, one block at a time."""

    __slots__ = (
        "_always",
        "_cuts",
        "_holds",
        "_of_rule",
        "_positions",
        "_starts",
        "_subjects",
        "_unsettled",
        "params",
        "rules",
        "sets",
    )

    def __init__(self, sets: Sequence[Sequence[RuleView]]) -> None:
        self.sets = tuple(tuple(same) for same in sets)  # rules by equal params
        self.rules = tuple(rule for same in self.sets for rule in same)  # in order: a rule's index in the group
        self.params: Params = self.sets[0][0].spec.params  # what the group is measured by (its inputs are equal)
        self._of_rule = tuple(j for j, same in enumerate(self.sets) for _ in same)  # a rule's params index
        self._starts = (0, *accumulate(len(same) for same in self.sets))  # params -> the index of its first rule
        by_cut: dict[tuple[str, bool], list[tuple[Decimal, int]]] = {}
        always = []
        for j, same in enumerate(self.sets):
            found = conditions(same[0].spec.params)
            if found is None:
                always.append(j)
            for axis, threshold, strict in found or ():
                by_cut.setdefault((axis, strict), []).append((threshold, j))
        self._cuts = tuple(
            _Cut(AXES[axis], strict, tuple(t for t, _ in ordered), tuple(j for _, j in ordered))
            for (axis, strict), pairs in by_cut.items()
            for ordered in [sorted(pairs)]
        )
        self._always = frozenset(always)
        self.forget()

    def forget(self) -> None:
        """Drop what the last block left (the states were reloaded): the next block is judged in full."""
        self._subjects: tuple[str, ...] | None = None
        self._positions: dict[str, tuple[int, ...]] = {}  # subject -> its cut in each of `_cuts`
        self._holds: list[frozenset[str]] = [NOTHING] * len(self.sets)  # params -> the subjects it holds for
        self._unsettled: set[int] = set()  # rules whose open alerts' subjects differed from their params' holds

    def judge(
        self,
        measured: Measurement,
        block: BlockRef,
        states: MutableMapping[str, dict[str, SubjectState]],
        new_id: NewId,
    ) -> list[tuple[int, Transition]]:
        """The group's moves at `block` (the rule's index in `rules`, the transition), in rule order; `states`:
        per rule id, its subjects' states (moved here). The same moves as `judge_rule` rule by rule."""
        if measured.missing is not None:
            return []
        readings = measured.readings
        subjects = tuple(readings if measured.candidates is None else measured.candidates)
        cuts = self._cuts
        positions = {s: tuple([cut.at(readings[s]) for cut in cuts]) for s in subjects}
        full = subjects != self._subjects
        touched = range(len(self.sets)) if full else self._touched(positions)
        self._subjects, self._positions = subjects, positions
        verdicts: dict[int, Verdicts] = {}
        looked = set(self._unsettled)
        for j in touched:
            held = holding(self.sets[j][0], measured, verdicts.setdefault(j, {}))
            if full or held != self._holds[j]:
                self._holds[j] = held
                looked.update(range(self._starts[j], self._starts[j + 1]))
        moves: list[tuple[int, Transition]] = []
        for index in sorted(looked):
            j = self._of_rule[index]
            rule, held = self.rules[index], self._holds[j]
            subject_states = states.get(rule.rule_id)
            if (_opened(subject_states) if subject_states else NOTHING) == held:
                self._unsettled.discard(index)  # nothing to fire, nothing to resolve: most rules at most blocks
                continue
            if subject_states is None:
                subject_states = states[rule.rule_id] = {}
            found = judge_rule(rule, measured, block, subject_states, new_id, verdicts.setdefault(j, {}))
            moves += [(index, move) for move in found]
            if _opened(subject_states) == held:
                self._unsettled.discard(index)
            else:  # held back by its cool-down, or an alert open on a subject no longer judged: looked at again
                self._unsettled.add(index)
        return moves

    def _touched(self, positions: dict[str, tuple[int, ...]]) -> set[int]:
        """The params whose verdict on some subject may differ from the last block's: those with a threshold
        between a subject's last cut and its cut now (and those judged at every block)."""
        touched = set(self._always)
        for subject, now in positions.items():
            before = self._positions[subject]
            if now == before:
                continue
            for cut, k, was in zip(self._cuts, now, before, strict=True):
                if k != was:
                    touched.update(cut.owners[min(k, was) : max(k, was)])
        return touched


def _opened(subject_states: dict[str, SubjectState]) -> frozenset[str]:
    return frozenset(s for s, state in subject_states.items() if state.open_alert is not None)


def group_rules(items: Sequence[T], view: Callable[[T], RuleView]) -> list[tuple[RuleGroup, tuple[T, ...]]]:
    """Items (rules as their callers hold them) grouped by inputs, then by equal params, in first-seen order; each
    group with its items in the order of `RuleGroup.rules`."""
    grouped: dict[tuple[Any, ...], dict[Any, list[T]]] = {}
    for item in items:
        v = view(item)
        grouped.setdefault(v.inputs, {}).setdefault(v.spec.params, []).append(item)
    built = []
    for by_params in grouped.values():
        sets = [[view(item) for item in same] for same in by_params.values()]
        built.append((RuleGroup(sets), tuple(item for same in by_params.values() for item in same)))
    return built
