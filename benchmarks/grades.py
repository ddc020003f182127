"""Grades: the eight entities graded at one block, and a one-year walk-forward evaluation, each beside a baseline.

Data: a synthetic market of the eight graded entities (`tests/analytics/grades/synthetic.py`: a persistent factor
planted in five of the seventeen factors with daily correlation `--beta` to the next day's return, prices from
it, every catalog factor read per day with a few gaps), `--days` daily blocks.

1. Grading one block (the formula over 8 x 17 readings, breakdown included), median of `--repeat` runs; the
   baseline is the bare sorting of the same values per factor. Target: <= 50 ms.
2. The year's walk-forward evaluation of both grades: the baseline is the formula alone (no calibration); then
   with the linear and the gradient-boosting calibrations fitted per test block. Target: <= 60 s in all.
   Grading every block of the year into the panel is timed apart.

    .venv/bin/python -m benchmarks.grades [--days 365] [--seed 0] [--beta 0.1] [--repeat 200] [--json]

(run from the repository root: the synthetic market lives with the tests.)
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from typing import Final

import numpy as np
from benchmarks.timing import median_ms
from tests.analytics.grades.synthetic import synthetic_market, synthetic_readings

from defiscope.analytics.grades.calibration import Model
from defiscope.analytics.grades.catalog import FACTORS, Horizon
from defiscope.analytics.grades.evaluation import VariantReport
from defiscope.analytics.grades.formula import FactorReading, grade_block
from defiscope.analytics.grades.panel import GradePanel, grade_panel
from defiscope.analytics.grades.walkforward import evaluate_grade, setup_for
from defiscope.analytics.quant.evaluation import DeflatedSharpe, ICSummary

GRADE_TARGET_MS: Final = 50.0
EVALUATION_TARGET_S: Final = 60.0
HORIZONS: Final[tuple[Horizon, ...]] = ("trader", "investor")


def bare_ranking(readings: Sequence[FactorReading]) -> list[list[float]]:
    """The least a grade needs: each factor's present values sorted (no ties, directions, weights or breakdown)."""
    return [sorted(float(r.value) for r in readings if r.name == name and r.value is not None) for name in FACTORS]


def timed_evaluation(
    panel: GradePanel, prices: np.ndarray, calibrations: tuple[Model, ...]
) -> tuple[float, dict[str, VariantReport]]:
    started = time.perf_counter()
    reports = {}
    for horizon in HORIZONS:
        result = evaluate_grade(panel, prices, horizon, setup_for(horizon, 1), calibrations=calibrations)
        reports.update({f"{horizon}/{r.name}": r for r in result.evaluation.variants})
    return time.perf_counter() - started, reports


def figures(report: VariantReport) -> dict[str, object]:
    ic = report.ic
    dsr = report.deflated_sharpe
    return {
        "ic_mean": round(ic.mean, 3) if isinstance(ic, ICSummary) else ic.reason,
        "ic_t": round(ic.t_statistic, 2) if isinstance(ic, ICSummary) else None,
        "dsr": round(dsr.probability, 3) if isinstance(dsr, DeflatedSharpe) else dsr.reason,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--beta", type=float, default=0.1)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    market = synthetic_market(args.seed, days=args.days, beta=args.beta)
    history = synthetic_readings(market, args.seed)
    _, last = history[-1]
    grade_ms = median_ms(lambda: grade_block(last), args.repeat)
    rank_ms = median_ms(lambda: bare_ranking(last), args.repeat)

    started = time.perf_counter()
    panel = grade_panel([(block, grade_block(readings)) for block, readings in history])
    panel_s = time.perf_counter() - started
    baseline_s, baseline = timed_evaluation(panel, market.prices, ())
    calibrated_s, calibrated = timed_evaluation(panel, market.prices, ("linear", "boosting"))

    result = {
        "grade_one_block_ms": round(grade_ms, 3),
        "bare_sorting_ms": round(rank_ms, 3),
        "grade_vs_sorting": round(grade_ms / rank_ms, 2),
        "grade_target_ms": GRADE_TARGET_MS,
        "grade_panel_s": round(panel_s, 2),
        "evaluation_formula_only_s": round(baseline_s, 2),
        "evaluation_with_calibration_s": round(calibrated_s, 2),
        "calibration_vs_formula_only": round(calibrated_s / baseline_s, 2),
        "evaluation_target_s": EVALUATION_TARGET_S,
        "days": args.days,
        "variants": {name: figures(report) for name, report in {**baseline, **calibrated}.items()},
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"grade 8 entities at one block: {grade_ms:.2f} ms (target <= {GRADE_TARGET_MS:.0f} ms)")
    print(f"  baseline, bare sorting of the same values: {rank_ms:.2f} ms (x{grade_ms / rank_ms:.1f})")
    print(f"grade every block of {args.days} days into the panel: {panel_s:.2f} s")
    print(f"walk-forward of both grades over {args.days} days:")
    print(f"  baseline, formula only: {baseline_s:.2f} s")
    print(
        f"  with linear + boosting calibrations: {calibrated_s:.2f} s (x{calibrated_s / baseline_s:.1f}; "
        f"target <= {EVALUATION_TARGET_S:.0f} s)"
    )
    for name, report in calibrated.items():
        print(f"  {name:30} {figures(report)}")


if __name__ == "__main__":
    main()
