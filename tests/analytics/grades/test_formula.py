"""The grade formula: published weights, percentile ranks, renormalisation over missing factors, refusals."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from defiscope.analytics.grades.catalog import FACTORS, GRADED
from defiscope.analytics.grades.formula import (
    FORMULA,
    FORMULA_VERSION,
    EntityGrades,
    FactorReading,
    grade_block,
    percentiles,
    published_document,
)
from defiscope.errors import InputError

ENTITIES = tuple(GRADED)


def full_block(values: dict[str, list[float]], inputs_block: int = 100) -> list[FactorReading]:
    """Readings of every factor for the eight entities, values[factor][entity index]."""
    return [
        FactorReading(slug, name, values[name][index], inputs_block=inputs_block)
        for name in FACTORS
        for index, slug in enumerate(ENTITIES)
    ]


def ramp_values() -> dict[str, list[float]]:
    """Entity k has the k-th smallest value of every factor."""
    return {name: [float(k) for k in range(len(ENTITIES))] for name in FACTORS}


def by_slug(grades: list[EntityGrades]) -> dict[str, EntityGrades]:
    return {g.slug: g for g in grades}


def test_published_weights_sum_to_100_per_grade_over_catalog_factors_of_that_horizon() -> None:
    assert FORMULA.version == FORMULA_VERSION
    for horizon, weights in FORMULA.weights.items():
        assert sum(weights.values()) == 100
        assert all(weight > 0 for weight in weights.values())
        assert {FACTORS[name].horizon for name in weights} == {horizon}


@given(st.lists(st.integers(-1000, 1000), min_size=2, max_size=12, unique=True))
def test_distinct_values_spread_evenly_from_worst_0_to_best_100(values: list[int]) -> None:
    keyed = {f"e{index}": value for index, value in enumerate(values)}
    higher = percentiles(keyed, "higher")
    lower = percentiles(keyed, "lower")
    step = 100 / (len(values) - 1)
    assert sorted(higher.values()) == pytest.approx([k * step for k in range(len(values))])
    best = max(keyed, key=lambda key: keyed[key])
    assert higher[best] == 100
    assert lower[best] == 0
    for key in keyed:
        assert higher[key] + lower[key] == pytest.approx(100)


@given(st.lists(st.integers(-3, 3), min_size=2, max_size=12))
def test_ties_share_their_average_rank_and_order_is_kept(values: list[int]) -> None:
    keyed = {f"e{index}": value for index, value in enumerate(values)}
    ranked = percentiles(keyed, "higher")
    for a in keyed:
        for b in keyed:
            if keyed[a] == keyed[b]:
                assert ranked[a] == ranked[b]
            elif keyed[a] < keyed[b]:
                assert ranked[a] < ranked[b]
    assert sum(ranked.values()) == pytest.approx(50 * len(values))  # average ranks keep the mean at the middle


def test_the_best_entity_in_every_factor_grades_100_and_the_worst_0() -> None:
    values = ramp_values()
    for name, spec in FACTORS.items():
        if spec.better == "lower":
            values[name].reverse()
    grades = by_slug(grade_block(full_block(values)))
    best, worst = grades[ENTITIES[-1]], grades[ENTITIES[0]]
    assert (best.trader.score, best.investor.score) == (100.0, 100.0)
    assert (worst.trader.score, worst.investor.score) == (0.0, 0.0)
    assert best.trader.coverage == best.investor.coverage == 100


@given(st.lists(st.lists(st.floats(-1e6, 1e6), min_size=8, max_size=8), min_size=len(FACTORS), max_size=len(FACTORS)))
def test_a_grade_is_the_sum_of_its_factor_contributions_and_lies_in_0_100(rows: list[list[float]]) -> None:
    grades = grade_block(full_block(dict(zip(FACTORS, rows, strict=True))))
    for graded in grades:
        for horizon in ("trader", "investor"):
            score = graded.grade(horizon).score
            assert score is not None
            assert 0 <= score <= 100
            assert sum(graded.contributions(horizon).values()) == pytest.approx(score)
            weights = [s.effective_weight for s in graded.factors if s.horizon == horizon]
            assert sum(w for w in weights if w is not None) == pytest.approx(1.0)


@given(st.permutations(full_block(ramp_values())))
def test_the_order_of_the_readings_does_not_matter(readings: list[FactorReading]) -> None:
    assert grade_block(readings) == grade_block(full_block(ramp_values()))


def test_a_missing_factor_is_left_out_and_the_weights_renormalised_over_the_rest() -> None:
    readings = [r for r in full_block(ramp_values()) if not (r.entity == "aave" and r.name == "momentum_7d")]
    readings.append(FactorReading("aave", "momentum_7d", None, missing_reason="no price for AAVE at block 100"))
    aave = by_slug(grade_block(readings))["aave"]
    momentum = aave.factor("momentum_7d")
    assert (momentum.value, momentum.percentile, momentum.effective_weight) == (None, None, None)
    assert momentum.missing_reason == "no price for AAVE at block 100"
    assert momentum.weight == 20
    present = [s for s in aave.factors if s.horizon == "trader" and s.percentile is not None]
    expected = sum(s.weight * (s.percentile or 0) for s in present) / 80
    assert aave.trader.score == pytest.approx(expected)
    assert aave.trader.coverage == 80
    assert aave.factor("momentum_30d").effective_weight == pytest.approx(20 / 80)


def test_a_factor_not_given_is_missing_as_not_computed() -> None:
    readings = [r for r in full_block(ramp_values()) if not (r.entity == "curve" and r.name == "yield_level")]
    curve = by_slug(grade_block(readings))["curve"]
    assert curve.factor("yield_level").missing_reason == "not computed at this block"
    assert curve.trader.score is not None


def test_an_entity_with_too_little_weight_present_gets_no_grade_and_says_which_factors_are_missing() -> None:
    trader_dropped = {"momentum_7d", "momentum_30d", "liquidity_usd", "volume_7d_usd"}  # 70 % of the weight
    readings = [r for r in full_block(ramp_values()) if not (r.entity == "lido" and r.name in trader_dropped)]
    lido = by_slug(grade_block(readings))["lido"]
    assert lido.trader.score is None
    assert lido.trader.coverage == 30
    assert lido.trader.reason is not None
    assert "30 % of the trader weights, below the 50 % needed" in lido.trader.reason
    for name in trader_dropped:
        assert name in lido.trader.reason
    assert all(s.effective_weight is None for s in lido.factors if s.horizon == "trader")
    assert lido.investor.score is not None


def test_a_factor_too_few_entities_have_is_not_ranked_for_anyone() -> None:
    readings = [r for r in full_block(ramp_values()) if r.name != "voting_concentration"]
    readings += [FactorReading(slug, "voting_concentration", 0.5, inputs_block=90) for slug in ("aave", "curve")]
    for graded in grade_block(readings):
        score = graded.factor("voting_concentration")
        assert score.percentile is None
        if graded.slug in ("aave", "curve"):
            assert score.value == 0.5
            assert score.missing_reason == "only 2 of 8 entities have voting_concentration: too few to rank"
        else:
            assert score.missing_reason == "not computed at this block"
        assert graded.investor.coverage == 90


def test_decimal_values_rank_exactly() -> None:
    readings = full_block(ramp_values())
    tiny = [Decimal("1e-30"), Decimal("2e-30"), Decimal("1.5e-30")]
    readings = [r for r in readings if not (r.name == "tvl_share" and r.entity in ENTITIES[:3])]
    readings += [FactorReading(slug, "tvl_share", value) for slug, value in zip(ENTITIES[:3], tiny, strict=True)]
    grades = by_slug(grade_block(readings))
    ranks = [grades[slug].factor("tvl_share").percentile for slug in ENTITIES[:3]]
    assert ranks == [0.0, pytest.approx(200 / 7), pytest.approx(100 / 7)]


def test_the_published_entry_has_the_issue_shape() -> None:
    entry = grade_block(full_block(ramp_values()))[0].as_dict()
    assert {"slug", "token", "trader_grade", "investor_grade"} <= entry.keys()
    assert entry["token"] == GRADED[ENTITIES[0]].token
    factors = entry["factors"]
    assert isinstance(factors, list)
    assert len(factors) == len(FACTORS)
    for factor in factors:
        assert {"name", "value", "percentile", "weight", "horizon", "inputs_block"} <= factor.keys()
        assert factor["inputs_block"] == 100
    weights = {f["name"]: f["weight"] for f in factors}
    assert weights["momentum_7d"] == 0.2


def test_the_published_document_names_the_block_and_the_formula_version() -> None:
    grades = grade_block(full_block(ramp_values()))
    document = json.loads(json.dumps(published_document(100, "0xab", 1_700_000_000, grades)))
    assert document["block"] == {"number": 100, "hash": "0xab", "timestamp": 1_700_000_000}
    assert document["formula_version"] == FORMULA_VERSION
    assert [entry["slug"] for entry in document["grades"]] == list(ENTITIES)


def test_the_weights_table_in_the_docs_is_the_published_formula() -> None:
    text = (Path(__file__).parents[3] / "docs" / "grades.md").read_text()
    assert f"## Formula (version {FORMULA_VERSION})" in text
    rows = re.findall(r"^\| (trader|investor) \| (\w+) \| (higher|lower) \| (\d+) % \|$", text, re.MULTILINE)
    documented = {(grade, name): (better, int(weight)) for grade, name, better, weight in rows}
    published = {
        (grade, name): (FACTORS[name].better, weight)
        for grade, weights in FORMULA.weights.items()
        for name, weight in weights.items()
    }
    assert documented == published


@given(st.lists(st.integers(-1000, 1000), min_size=2, max_size=10))
def test_percentiles_depend_on_order_only(values: list[int]) -> None:
    keyed = {f"e{index}": value for index, value in enumerate(values)}
    stretched = {key: value**3 + 7 * value for key, value in keyed.items()}  # strictly increasing
    assert percentiles(stretched, "higher") == pytest.approx(percentiles(keyed, "higher"))


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: FactorReading("aave", "no_such_factor", 1.0), "name"),
        (lambda: FactorReading("aave", "momentum_7d", None), "value"),
        (lambda: FactorReading("aave", "momentum_7d", 1.0, missing_reason="both"), "value"),
        (lambda: FactorReading("aave", "momentum_7d", float("nan")), "value"),
        (lambda: FactorReading("aave", "momentum_7d", Decimal("Infinity")), "value"),
        (lambda: FactorReading("aave", "momentum_7d", Decimal("NaN")), "value"),
        (lambda: grade_block([FactorReading("not-graded", "momentum_7d", 1.0)]), "entity"),
        (lambda: grade_block([FactorReading("aave", "momentum_7d", 1.0)] * 2), "name"),
        (lambda: percentiles({"only": 1.0}, "higher"), "values"),
    ],
)
def test_bad_input_is_refused_naming_the_field(make: object, field: str) -> None:
    with pytest.raises(InputError) as refused:
        make()  # type: ignore[operator]
    assert refused.value.field == field
