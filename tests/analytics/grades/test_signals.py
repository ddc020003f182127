"""Signals: hysteresis on grade sequences (hypothesis), the movers explaining each transition, refusals."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from defiscope.analytics.grades.catalog import FACTORS, GRADED
from defiscope.analytics.grades.formula import FactorReading, grade_block
from defiscope.analytics.grades.signals import (
    HYSTERESIS,
    GradePoint,
    Hysteresis,
    grade_points,
    signals,
    signals_of_history,
    states,
)
from defiscope.errors import InputError

FACTOR_NAMES = ("momentum_7d", "momentum_30d", "liquidity_usd")
grade_or_gap = st.one_of(st.none(), st.floats(0, 100))


@st.composite
def grade_histories(draw: st.DrawFn) -> list[GradePoint]:
    """Grades over increasing blocks (some blocks without a grade), each split into three contributions."""
    grades = draw(st.lists(grade_or_gap, min_size=1, max_size=60))
    blocks = draw(st.lists(st.integers(1, 50), min_size=len(grades), max_size=len(grades)))
    points, block = [], 0
    for grade, gap in zip(grades, blocks, strict=True):
        block += gap
        shares = draw(st.lists(st.floats(0, 1), min_size=3, max_size=3).filter(lambda s: sum(s) > 0.01))
        weights = {name: share / sum(shares) for name, share in zip(FACTOR_NAMES, shares, strict=True)}
        contributions = {} if grade is None else {name: weight * grade for name, weight in weights.items()}
        points.append(GradePoint(block, grade, contributions, weights))
    return points


@given(grade_histories())
def test_every_state_respects_its_thresholds(points: list[GradePoint]) -> None:
    held = "neutral"
    for point, state in zip(points, states(points), strict=True):
        if point.grade is None:
            assert state == held
            continue
        if state == "bullish":
            assert point.grade >= HYSTERESIS.leave_bullish
            if held != "bullish":
                assert point.grade >= HYSTERESIS.enter_bullish
        if state == "bearish":
            assert point.grade <= HYSTERESIS.leave_bearish
            if held != "bearish":
                assert point.grade <= HYSTERESIS.enter_bearish
        if state == "neutral":
            assert HYSTERESIS.enter_bearish < point.grade < HYSTERESIS.enter_bullish
        held = state


@given(grade_histories())
def test_signals_are_exactly_the_changes_of_state_and_deterministic(points: list[GradePoint]) -> None:
    found = signals("aave", points)
    assert found == signals("aave", points)
    after = states(points)
    changes = [
        (point.block, state)
        for point, state, before in zip(points, after, ["neutral", *after[:-1]], strict=True)
        if state != before
    ]
    assert [(s.block, s.state) for s in found] == changes
    for earlier, later in pairwise(found):
        assert later.previous == earlier.state != later.state


@given(grade_histories())
def test_the_movers_explain_the_grade_change_since_the_previous_grade(points: list[GradePoint]) -> None:
    graded = [p for p in points if p.grade is not None]
    for signal in signals("aave", points, movers=len(FACTOR_NAMES)):
        index = next(k for k, p in enumerate(graded) if p.block == signal.block)
        before = 50.0 if index == 0 else graded[index - 1].grade
        assert sum(m.change for m in signal.movers) == pytest.approx(signal.grade - (before or 0.0), abs=1e-9)
        changes = [abs(m.change) for m in signal.movers]
        assert changes == sorted(changes, reverse=True)


@given(st.lists(st.floats(HYSTERESIS.leave_bullish, 100), min_size=1, max_size=40))
def test_a_grade_wavering_above_the_exit_level_gives_one_bullish_signal(wavering: list[float]) -> None:
    grades = [75.0, *wavering]
    points = [GradePoint(block, grade, {}, {}) for block, grade in enumerate(grades, start=1)]
    found = signals("curve", points)
    assert [(s.block, s.state) for s in found] == [(1, "bullish")]


def test_hysteresis_crossing_in_steps() -> None:
    grades = [50, 69, 70, 61, 60, 59.9, 40, 30.5, 30, 39, 40, 40.1, 69.9, 70, 30]
    points = [GradePoint(block, float(grade), {}, {}) for block, grade in enumerate(grades, start=1)]
    assert [(s.block, s.state, s.previous) for s in signals("lido", points)] == [
        (3, "bullish", "neutral"),
        (6, "neutral", "bullish"),
        (9, "bearish", "neutral"),
        (12, "neutral", "bearish"),
        (14, "bullish", "neutral"),
        (15, "bearish", "bullish"),
    ]


def test_signals_from_the_formula_name_the_factors_that_moved_the_grade() -> None:
    entities = tuple(GRADED)

    def block_readings(aave_momentum: float) -> list[FactorReading]:
        readings = []
        for index, slug in enumerate(entities):
            for name in FACTORS:
                value = float(index) if not (slug == "aave" and name.startswith("momentum_")) else aave_momentum
                readings.append(FactorReading(slug, name, value, inputs_block=1))
        return readings

    aave = entities.index("aave")
    history = [
        (block, next(g for g in grade_block(block_readings(momentum)) if g.slug == "aave"))
        for block, momentum in ((10, float(aave)), (11, 100.0), (12, 100.0), (13, -100.0))
    ]
    found = signals("aave", grade_points(history, "trader"), movers=2)
    assert found
    assert all({m.name for m in s.movers} == {"momentum_7d", "momentum_30d"} for s in found)
    assert found[-1].block == 13
    assert found[-1].movers[0].change < 0
    published = found[-1].as_dict()
    assert (published["entity"], published["block"], published["state"]) == ("aave", 13, "bearish")
    movers = published["movers"]
    assert isinstance(movers, list)
    assert [m["name"] for m in movers] == [m.name for m in found[-1].movers]


def test_signals_of_a_history_are_every_entitys_own_signals_in_block_order() -> None:
    entities = tuple(GRADED)
    sign = {name: 1.0 if spec.better == "higher" else -1.0 for name, spec in FACTORS.items()}

    def block_readings(rotation: int) -> list[FactorReading]:
        # every factor ranks the entities the same way, rotated each block: grades move through the thresholds
        return [
            FactorReading(slug, name, sign[name] * float((index + rotation) % len(entities)), inputs_block=1)
            for index, slug in enumerate(entities)
            for name in FACTORS
        ]

    history = [(100 + rotation, grade_block(block_readings(rotation))) for rotation in range(12)]
    found = signals_of_history(history, "investor")
    assert found
    assert [(s.block, s.entity) for s in found] == sorted((s.block, s.entity) for s in found)
    for slug in entities:
        own = [(block, next(g for g in graded if g.slug == slug)) for block, graded in history]
        assert [s for s in found if s.entity == slug] == signals(slug, grade_points(own, "investor"))


def test_bad_thresholds_and_unordered_blocks_are_refused() -> None:
    with pytest.raises(InputError) as refused:
        Hysteresis(enter_bullish=55, leave_bullish=60)
    assert refused.value.field == "hysteresis"
    with pytest.raises(InputError) as unordered:
        states([GradePoint(5, 50.0, {}, {}), GradePoint(5, 80.0, {}, {})])
    assert unordered.value.field == "block"
