"""Optional learned calibration: a model from factor percentiles to forward returns, fitted walk-forward.

The published grade is the formula's fixed weighting. A calibration instead learns how percentiles map to the
return over the next `label_horizon` periods, and its prediction is a score per entity and period. It is only
honest if each prediction was made by a model that saw nothing from then on: for a test block starting at
period T, the model is fitted on rows (s, i) whose label is fully realised before T, s + h < T (the purged
walk-forward splits of `quant.evaluation.splits` also keep an embargo), and it predicts period t >= T from the
percentiles known at t alone. `calibrate_walk_forward` refuses a split that breaks this rule.

Models (scikit-learn): "linear" is a ridge regression on percentiles (a missing one set to the neutral 50);
"boosting" is histogram gradient boosting with shallow trees, which takes a missing percentile as missing.

    >>> import numpy as np
    >>> from defiscope.analytics.quant.evaluation import purged_walk_forward
    >>> rng = np.random.default_rng(0)
    >>> features = rng.uniform(0, 100, (60, 8, 1))
    >>> labels = (features[:, :, 0] - 50) / 1000
    >>> splits = purged_walk_forward(60, 2, min_train=20, label_horizon=1)
    >>> result = calibrate_walk_forward(features, labels, splits, label_horizon=1)
    >>> [(fit.test_start, fit.last_label) for fit in result.fits]
    [(20, 18), (40, 38)]
    >>> bool(np.isnan(result.predictions[:20]).all()), bool(np.isfinite(result.predictions[20:]).all())
    (True, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, Protocol

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits

from defiscope.analytics.quant.arrays import FloatArray
from defiscope.analytics.quant.errors import InvalidSeries
from defiscope.analytics.quant.evaluation import Split

Model = Literal["linear", "boosting"]
MIN_ROWS: Final = 30  # fewer labelled rows than this fit noise, not a calibration
NEUTRAL_PERCENTILE: Final = 50.0


class Regressor(Protocol):
    def fit(self, features: FloatArray, labels: FloatArray) -> object: ...

    def predict(self, features: FloatArray) -> npt.NDArray[np.float64]: ...


@dataclass(frozen=True, slots=True)
class Fit:
    """One walk-forward fit: the first test period, the newest period whose label it learnt from, the rows, or
    why no model was fitted (its test periods then have no prediction)."""

    test_start: int
    last_label: int
    rows: int
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Calibration:
    predictions: FloatArray  # (periods, entities): predicted forward return, NaN outside test blocks
    fits: tuple[Fit, ...]


def calibrate_walk_forward(
    features: npt.ArrayLike,
    labels: npt.ArrayLike,
    splits: Sequence[Split],
    *,
    label_horizon: int,
    model: Model = "linear",
    min_rows: int = MIN_ROWS,
) -> Calibration:
    """Predictions for every test period of `splits` from a model fitted on that split's training periods.

    `features[t, i, f]` are percentiles known at t (NaN: missing), `labels[t, i]` the forward return from t
    to t + label_horizon (NaN: unknown)."""
    table, targets = _checked(features, labels)
    predictions = np.full(targets.shape, np.nan)
    fits = []
    # One thread: the fits are small, and OpenMP's threads on a loaded two-core machine made boosting 50x slower.
    with threadpool_limits(limits=1):
        for split in splits:
            _refuse_look_ahead(split, label_horizon)
            fits.append(_fit_and_predict(table, targets, split, model, min_rows, predictions))
    return Calibration(predictions, tuple(fits))


def regressor(model: Model) -> Regressor:
    """A fresh, deterministic scikit-learn model of the given kind."""
    # Imported here: scikit-learn costs 1.4 s of every start of a process that imports the API (`serve`, workers).
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import Ridge

    fresh: Regressor
    if model == "linear":
        fresh = Ridge(alpha=1.0)
    else:
        fresh = HistGradientBoostingRegressor(
            max_iter=100, learning_rate=0.05, max_depth=3, min_samples_leaf=20, early_stopping=False, random_state=0
        )
    return fresh


def _fit_and_predict(
    table: FloatArray, targets: FloatArray, split: Split, model: Model, min_rows: int, predictions: FloatArray
) -> Fit:
    start, last = int(split.test.min()), int(split.train.max()) if len(split.train) else -1
    train_x = table[split.train].reshape(-1, table.shape[2])
    train_y = targets[split.train].reshape(-1)
    known = np.isfinite(train_y) & np.isfinite(train_x).any(axis=1)
    if known.sum() < min_rows:
        reason = f"{int(known.sum())} labelled rows before period {start}, {min_rows} needed"
        return Fit(start, last, int(known.sum()), reason)
    # a factor no training row has (a 90-day momentum in the first 90 days) teaches nothing: leave it out
    columns = np.flatnonzero(np.isfinite(train_x[known]).any(axis=0))
    fitted = regressor(model)
    fitted.fit(_prepared(train_x[known][:, columns], model), train_y[known])
    for t in split.test:
        rows = np.isfinite(table[t][:, columns]).any(axis=1)
        if rows.any():
            predictions[t, rows] = fitted.predict(_prepared(table[t][rows][:, columns], model))
    return Fit(start, last, int(known.sum()))


def _prepared(rows: FloatArray, model: Model) -> FloatArray:
    """A linear model cannot take NaN: a missing percentile is the neutral one. Trees split on missing."""
    return np.where(np.isnan(rows), NEUTRAL_PERCENTILE, rows) if model == "linear" else rows


def _refuse_look_ahead(split: Split, label_horizon: int) -> None:
    if len(split.test) == 0:
        raise InvalidSeries("a split has no test period", field="splits")
    newest, start = (int(split.train.max()) if len(split.train) else -1), int(split.test.min())
    if newest + label_horizon >= start:
        raise InvalidSeries(
            f"training period {newest} has a label ending at {newest + label_horizon}, not before the test block"
            f" at {start}: that fit would see the future",
            field="splits",
        )


def _checked(features: npt.ArrayLike, labels: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    table = np.asarray(features, dtype=np.float64)
    targets = np.asarray(labels, dtype=np.float64)
    if table.ndim != 3 or targets.ndim != 2 or table.shape[:2] != targets.shape:
        raise InvalidSeries(
            f"features must be periods x entities x factors and labels periods x entities: {table.shape} vs "
            f"{targets.shape}",
            field="features",
        )
    if np.any(np.isinf(table)) or np.any(np.isinf(targets)):
        raise InvalidSeries("features and labels must be finite (NaN for missing)", field="features")
    return table, targets
