"""The grade evaluation end to end: a grade panel and token prices in, the walk-forward report out.

One grade (trader or investor) is evaluated at its horizon: the formula's published grade is one variant, each
learned calibration of that grade's factor percentiles another (fitted per test block on earlier labels only),
all scored on the same purged walk-forward test periods and deflated together. The grades' own input blocks
are checked against the blocks they were published at (look-ahead is refused). The signals the grade gives
(`signals.states`, held bullish +1 / bearish -1) are scored by their hit rate against the sign of the
forward return over the evaluated periods.

    >>> setup_for("trader", periods_per_day=1).horizon, setup_for("investor", periods_per_day=1).horizon
    (7, 30)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from defiscope.analytics.grades.calibration import Model, calibrate_walk_forward
from defiscope.analytics.grades.catalog import Horizon
from defiscope.analytics.grades.evaluation import Evaluation, Unavailable, VariantReport, WalkForward, evaluate
from defiscope.analytics.grades.panel import GradePanel, forward_returns
from defiscope.analytics.grades.signals import DIRECTION, HYSTERESIS, GradePoint, Hysteresis, states
from defiscope.analytics.quant.arrays import FloatArray
from defiscope.analytics.quant.errors import InvalidSeries, Undefined
from defiscope.analytics.quant.evaluation import DeflatedSharpe, ICSummary, hit_rate

HORIZON_DAYS: Final[dict[Horizon, int]] = {"trader": 7, "investor": 30}
FORMULA_VARIANT: Final = "formula"


@dataclass(frozen=True, slots=True)
class GradeEvaluation:
    horizon: Horizon
    blocks: npt.NDArray[np.int64]  # the panel's graded blocks (period t is blocks[t])
    evaluation: Evaluation
    signal_hit_rate: float | Unavailable


def setup_for(horizon: Horizon, periods_per_day: int, n_splits: int = 6, embargo_days: int = 2) -> WalkForward:
    """The walk-forward of one grade on a panel sampled `periods_per_day` times a day: forward returns over the
    grade's horizon, a first training window of twice the horizon (at least 60 days), an embargo of 2 days."""
    days = HORIZON_DAYS[horizon]
    return WalkForward(
        horizon=days * periods_per_day,
        n_splits=n_splits,
        min_train=max(2 * days, 60) * periods_per_day,
        embargo=embargo_days * periods_per_day,
    )


def evaluate_grade(
    panel: GradePanel,
    prices: npt.ArrayLike,
    horizon: Horizon,
    setup: WalkForward,
    *,
    calibrations: Sequence[Model] = (),
    tried_sharpes: Sequence[float] = (),
    hysteresis: Hysteresis = HYSTERESIS,
) -> GradeEvaluation:
    """Evaluate one grade of the panel (and its calibrations) against `prices[t, i]` (NaN: no price)."""
    realised = forward_returns(prices, setup.horizon)
    if realised.shape != panel.grades[horizon].shape:
        raise InvalidSeries(f"prices must be periods x entities like the panel: {realised.shape}", field="prices")
    features = panel.percentiles[:, :, panel.factors_of(horizon)]
    variants = {FORMULA_VARIANT: panel.grades[horizon]}
    inputs = {FORMULA_VARIANT: panel.newest_inputs(horizon)}
    splits = setup.splits(len(realised))
    for model in calibrations:
        calibrated = calibrate_walk_forward(features, realised, splits, label_horizon=setup.horizon, model=model)
        variants[f"calibrated_{model}"] = calibrated.predictions
        inputs[f"calibrated_{model}"] = inputs[FORMULA_VARIANT]
    evaluation = evaluate(
        realised, variants, setup, blocks=panel.blocks, inputs_blocks=inputs, tried_sharpes=tried_sharpes
    )
    signal_hits = _signal_hit_rate(panel, horizon, realised, evaluation, hysteresis)
    return GradeEvaluation(horizon, panel.blocks, evaluation, signal_hits)


def _signal_hit_rate(
    panel: GradePanel, horizon: Horizon, realised: FloatArray, evaluation: Evaluation, hysteresis: Hysteresis
) -> float | Unavailable:
    calls = np.zeros(realised.shape)
    for i in range(len(panel.entities)):
        grades = panel.grades[horizon][:, i]
        points = [
            GradePoint(int(block), None if np.isnan(grade) else float(grade), {}, {})
            for block, grade in zip(panel.blocks, grades, strict=True)
        ]
        calls[:, i] = [DIRECTION[state] for state in states(points, hysteresis)]
    periods = evaluation.periods
    try:
        return hit_rate(calls[periods].reshape(-1), realised[periods].reshape(-1))
    except Undefined as undefined:
        return Unavailable(str(undefined))


def document(result: GradeEvaluation) -> dict[str, object]:
    """The report as JSON-ready data: every figure a number, or {"unavailable": reason}."""
    evaluation = result.evaluation
    periods = evaluation.periods
    return {
        "horizon": result.horizon,
        "setup": asdict(evaluation.setup),
        "evaluated_periods": len(periods),
        "n_trials": evaluation.n_trials,
        "signal_hit_rate": _figure(result.signal_hit_rate),
        "variants": [_variant(report, result.blocks[periods]) for report in evaluation.variants],
    }


def _variant(report: VariantReport, blocks: npt.NDArray[np.int64]) -> dict[str, object]:
    return {
        "name": report.name,
        "ic": _figure(report.ic),
        "delayed_ic": _figure(report.delayed_ic),
        "hit_rate": _figure(report.hit_rate),
        "top_minus_bottom": _figure(report.top_minus_bottom),
        "turnover": _figure(report.turnover),
        "sharpe": _figure(report.sharpe),
        "deflated_sharpe": _figure(report.deflated_sharpe),
        "ic_by_period": [
            {"block": int(block), "ic": None if math.isnan(ic) else float(ic)}
            for block, ic in zip(blocks, report.ics, strict=True)
        ],
        "top_minus_bottom_by_period": _spread_path(blocks, report.spreads),
    }


def _spread_path(blocks: npt.NDArray[np.int64], spreads: FloatArray) -> list[dict[str, object]]:
    """Per evaluated period: the long-short return (None: no book) and the return compounded since the first
    evaluated period (a period without a book holds nothing, so the compounded return carries over unchanged).

    >>> [p["cumulative"] for p in _spread_path(np.array([10, 17, 24]), np.array([0.5, np.nan, -0.5]))]
    [0.5, 0.5, -0.25]
    """
    path: list[dict[str, object]] = []
    growth = 1.0
    for block, spread in zip(blocks, spreads, strict=True):
        known = math.isfinite(spread)
        growth *= 1.0 + float(spread) if known else 1.0
        path.append({"block": int(block), "return": float(spread) if known else None, "cumulative": growth - 1.0})
    return path


def _figure(figure: float | ICSummary | DeflatedSharpe | Unavailable) -> object:
    if isinstance(figure, Unavailable):
        return {"unavailable": figure.reason}
    if isinstance(figure, float):
        return figure
    return asdict(figure)
