"""The grade evaluation end to end on a year of synthetic daily factor readings: formula grades and their
calibrations find a planted factor, find nothing in a market without one, and refuse look-ahead."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from defiscope.analytics.grades.evaluation import LookAhead, VariantReport
from defiscope.analytics.grades.formula import FactorReading, grade_block
from defiscope.analytics.grades.panel import GradePanel, grade_panel
from defiscope.analytics.grades.walkforward import GradeEvaluation, document, evaluate_grade, setup_for
from defiscope.analytics.quant.errors import InvalidSeries
from defiscope.analytics.quant.evaluation import ICSummary
from tests.analytics.grades.synthetic import Market, synthetic_market, synthetic_readings


def graded(market: Market, seed: int) -> GradePanel:
    return grade_panel([(block, grade_block(readings)) for block, readings in synthetic_readings(market, seed)])


@pytest.fixture(scope="module")
def planted() -> tuple[Market, GradePanel]:
    market = synthetic_market(0, beta=0.2)
    return market, graded(market, 0)


@pytest.fixture(scope="module")
def planted_trader(planted: tuple[Market, GradePanel]) -> GradeEvaluation:
    market, panel = planted
    return evaluate_grade(panel, market.prices, "trader", setup_for("trader", 1), calibrations=("linear", "boosting"))


def ic_of(report: VariantReport) -> ICSummary:
    assert isinstance(report.ic, ICSummary), report.ic
    return report.ic


def test_the_trader_grade_and_its_calibrations_find_the_planted_factor(planted_trader: GradeEvaluation) -> None:
    names = [report.name for report in planted_trader.evaluation.variants]
    assert names == ["formula", "calibrated_linear", "calibrated_boosting"]
    assert planted_trader.evaluation.n_trials == 3
    for report in planted_trader.evaluation.variants:
        assert ic_of(report).t_statistic > 3, report.name
    assert isinstance(planted_trader.signal_hit_rate, float)
    assert planted_trader.signal_hit_rate > 0.55


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_grades_of_a_market_without_a_factor_show_nothing_significant(seed: int) -> None:
    market = synthetic_market(seed, beta=0.0)
    panel = graded(market, seed)
    for horizon in ("trader", "investor"):
        result = evaluate_grade(panel, market.prices, horizon, setup_for(horizon, 1), calibrations=("linear",))
        for report in result.evaluation.variants:
            assert ic_of(report).p_value > 0.01, (horizon, report.name)


def test_the_report_document_is_json_with_every_figure_or_its_reason(planted_trader: GradeEvaluation) -> None:
    published = json.loads(json.dumps(document(planted_trader)))
    assert published["horizon"] == "trader"
    assert published["setup"] == {"horizon": 7, "n_splits": 6, "min_train": 60, "embargo": 2, "quantiles": 4}
    assert published["n_trials"] == 3
    formula = published["variants"][0]
    for key in ("ic", "delayed_ic", "hit_rate", "top_minus_bottom", "turnover", "sharpe", "deflated_sharpe"):
        assert formula[key] is not None
    assert formula["ic"]["periods"] + formula["ic"]["skipped"] == published["evaluated_periods"]
    blocks = [point["block"] for point in formula["ic_by_period"]]
    assert blocks == sorted(blocks)
    assert len(blocks) == published["evaluated_periods"]
    path = formula["top_minus_bottom_by_period"]
    assert [point["block"] for point in path] == blocks
    returns = [point["return"] for point in path if point["return"] is not None]
    assert np.mean(returns) == pytest.approx(formula["top_minus_bottom"], rel=1e-12)
    assert path[-1]["cumulative"] == pytest.approx(np.prod(1 + np.array(returns)) - 1, rel=1e-12)


def test_a_grade_published_before_its_inputs_existed_is_refused(planted: tuple[Market, GradePanel]) -> None:
    market, panel = planted
    late = panel.inputs_blocks.copy()
    late[100, 3, panel.factors_of("trader")[0]] = panel.blocks[101]
    with pytest.raises(LookAhead, match="formula: the score of entity 3"):
        evaluate_grade(replace(panel, inputs_blocks=late), market.prices, "trader", setup_for("trader", 1))


def test_too_short_a_history_is_refused_naming_the_field() -> None:
    market = synthetic_market(4, days=40)
    readings = [(block, grade_block(rs)) for block, rs in synthetic_readings(market, 4)]
    with pytest.raises(InvalidSeries, match="40 samples leave 0 after min_train for 6 test blocks") as refused:
        evaluate_grade(grade_panel(readings), market.prices, "trader", setup_for("trader", 1))
    assert refused.value.field == "n_splits"


def test_prices_of_another_shape_are_refused(planted: tuple[Market, GradePanel]) -> None:
    _, panel = planted
    with pytest.raises(InvalidSeries, match="prices must be periods x entities") as refused:
        evaluate_grade(panel, np.ones((10, 8)), "trader", setup_for("trader", 1))
    assert refused.value.field == "prices"


def test_the_readings_are_point_in_time_by_their_input_blocks() -> None:
    for block, readings in synthetic_readings(synthetic_market(5, days=30), 5):
        assert all(r.inputs_block is None or r.inputs_block <= block for r in readings)
        assert all(isinstance(r, FactorReading) for r in readings)
