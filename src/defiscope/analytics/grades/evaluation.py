"""Honest walk-forward evaluation of grades (or any scores) against the forward returns that followed them.

Setup (`WalkForward`): periods are graded blocks in time order; `forward_returns[t, i]` is entity i's return
from t to t + h (h = `horizon` periods). The periods after `min_train` are cut into `n_splits` test blocks
(`quant.evaluation.purged_walk_forward`: expanding training window, labels overlapping a test block purged,
`embargo` more periods kept out) — a calibrated variant is fitted per block on its training periods, and every
variant is scored on the same test periods. Within them, only every h-th period is evaluated, so that no two
evaluated forward returns overlap and the t-statistics count independent periods.

Point in time: each variant may come with the newest input block behind each score; a score whose inputs are
newer than the block it is published at would be look-ahead, and `evaluate` refuses it (`LookAhead`).

Per variant (scores[t, i], higher = better):
- rank IC per evaluated period, its mean, t-statistic and p-value (`quant.evaluation.ic_summary`);
- the same IC with the scores traded one horizon late (`delayed_ic`): skill that vanishes when acted on one
  horizon later was not tradable, which is how look-ahead hidden behind wrong input blocks shows;
- hit rate: the top bucket called up and the bottom bucket down against the cross-sectional mean return;
- top-minus-bottom: the mean return of the long-short portfolio (top `quantiles`-th minus bottom);
- turnover: the share of that portfolio traded between evaluated periods (0: same book, 1: all replaced);
- Sharpe ratio of the long-short returns per evaluated period, and the deflated Sharpe ratio given every
  variant tried (those evaluated here and the Sharpe ratios of earlier discarded ones, `tried_sharpes`).

A figure that has no value for these data is `Unavailable` with the reason, never 0.

    >>> rng = np.random.default_rng(0)
    >>> scores = rng.normal(size=(120, 8))
    >>> skill = {"skill": scores, "luck": rng.normal(size=(120, 8))}
    >>> returns = 0.01 * scores + rng.normal(0, 0.02, (120, 8))
    >>> result = evaluate(returns, skill, WalkForward(horizon=1, n_splits=3, min_train=30))
    >>> [(r.name, r.ic.p_value < 0.01) for r in result.variants if isinstance(r.ic, ICSummary)]
    [('skill', True), ('luck', False)]
    >>> len(result.periods), result.n_trials
    (90, 2)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, ParamSpec, TypeVar

import numpy as np
import numpy.typing as npt

from defiscope.analytics.quant.arrays import FloatArray, IndexArray, matrix, same_shape
from defiscope.analytics.quant.errors import InvalidSeries, Undefined
from defiscope.analytics.quant.evaluation import (
    DeflatedSharpe,
    ICSummary,
    Split,
    deflated_sharpe_ratio,
    hit_rate,
    ic_summary,
    information_coefficients,
    purged_walk_forward,
    quantile_spreads,
)
from defiscope.analytics.quant.performance import weight_turnover

NO_BLOCK: Final = -1
T = TypeVar("T")
P = ParamSpec("P")


class LookAhead(InvalidSeries):
    """A score was published at a block older than one of its inputs."""


@dataclass(frozen=True, slots=True)
class Unavailable:
    reason: str


@dataclass(frozen=True, slots=True)
class WalkForward:
    horizon: int  # periods each forward return spans
    n_splits: int
    min_train: int
    embargo: int = 0
    quantiles: int = 4  # top and bottom quarter: 2 of 8 entities each side

    def __post_init__(self) -> None:
        if self.horizon < 1:
            raise InvalidSeries("the forward horizon must be at least 1 period", field="horizon")
        if self.quantiles < 2:
            raise InvalidSeries("quantiles must be at least 2 (top and bottom)", field="quantiles")

    def splits(self, n_periods: int) -> list[Split]:
        return purged_walk_forward(
            n_periods, self.n_splits, min_train=self.min_train, label_horizon=self.horizon, embargo=self.embargo
        )

    def evaluated_periods(self, splits: Sequence[Split]) -> IndexArray:
        """Every h-th test period from the first: their forward returns do not overlap."""
        tested = np.concatenate([split.test for split in splits])
        return np.asarray(tested[:: self.horizon], dtype=np.int64)


@dataclass(frozen=True, slots=True)
class VariantReport:
    name: str
    ics: FloatArray  # per evaluated period, NaN where the cross-section was too thin
    delayed_ics: FloatArray  # per evaluated period that has a return one horizon later
    spreads: FloatArray  # the long-short return per evaluated period, NaN where no book could be formed
    ic: ICSummary | Unavailable
    delayed_ic: ICSummary | Unavailable
    hit_rate: float | Unavailable
    top_minus_bottom: float | Unavailable  # mean per evaluated period
    turnover: float | Unavailable  # mean per evaluated period
    sharpe: float | Unavailable  # per evaluated period, of the long-short returns
    deflated_sharpe: DeflatedSharpe | Unavailable


@dataclass(frozen=True, slots=True)
class Evaluation:
    setup: WalkForward
    splits: tuple[Split, ...]
    periods: IndexArray
    n_trials: int
    variants: tuple[VariantReport, ...]

    def variant(self, name: str) -> VariantReport:
        return next(report for report in self.variants if report.name == name)


def evaluate(
    forward_returns: npt.ArrayLike,
    variants: Mapping[str, npt.ArrayLike],
    setup: WalkForward,
    *,
    blocks: npt.ArrayLike | None = None,
    inputs_blocks: Mapping[str, npt.ArrayLike] | None = None,
    tried_sharpes: Sequence[float] = (),
) -> Evaluation:
    """Evaluate each variant's scores (periods x entities, NaN: no score) on the walk-forward test periods."""
    realised = matrix(forward_returns, "forward_returns")
    scores = {name: _scores(name, table, realised) for name, table in variants.items()}
    if not scores:
        raise InvalidSeries("give at least one variant to evaluate", field="variants")
    if inputs_blocks:
        _check_point_in_time(scores, inputs_blocks, blocks)
    splits = setup.splits(len(realised))
    periods = setup.evaluated_periods(splits)
    spreads = {
        name: quantile_spreads(table[periods], realised[periods], setup.quantiles) for name, table in scores.items()
    }
    sharpes = {name: _measured(_sharpe, spread) for name, spread in spreads.items()}
    trials = [*(s for s in sharpes.values() if isinstance(s, float)), *tried_sharpes]
    n_trials = len(scores) + len(tried_sharpes)
    reports = tuple(
        _report(name, table, realised, periods, setup, spreads[name], sharpes[name], trials, n_trials)
        for name, table in scores.items()
    )
    return Evaluation(setup, tuple(splits), periods, n_trials, reports)


def _report(
    name: str,
    table: FloatArray,
    realised: FloatArray,
    periods: IndexArray,
    setup: WalkForward,
    spreads: FloatArray,
    sharpe: float | Unavailable,
    trials: Sequence[float],
    n_trials: int,
) -> VariantReport:
    ics = information_coefficients(table[periods], realised[periods])
    late = periods[periods + setup.horizon < len(realised)]
    delayed = information_coefficients(table[late], realised[late + setup.horizon])
    known_spreads = spreads[np.isfinite(spreads)]
    return VariantReport(
        name,
        ics,
        delayed,
        spreads,
        _measured(ic_summary, ics),
        _measured(ic_summary, delayed),
        _measured(_bucket_hit_rate, table[periods], realised[periods], setup.quantiles),
        _measured(_mean, known_spreads, "top-minus-bottom return"),
        _measured(_turnover, table[periods], realised[periods], setup.quantiles),
        sharpe,
        _measured(_deflated, known_spreads, sharpe, trials, n_trials),
    )


def _measured(compute: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | Unavailable:
    """The figure, or why it has none."""
    try:
        return compute(*args, **kwargs)
    except Undefined as undefined:
        return Unavailable(str(undefined))


def _scores(name: str, table: npt.ArrayLike, realised: FloatArray) -> FloatArray:
    scores = matrix(table, f"variants[{name}]")
    same_shape(realised, scores, "forward_returns", f"variants[{name}]")
    return scores


def _check_point_in_time(
    scores: Mapping[str, FloatArray], inputs_blocks: Mapping[str, npt.ArrayLike], blocks: npt.ArrayLike | None
) -> None:
    """Refuse a score whose newest input block is after the block it is published at."""
    if blocks is None:
        raise InvalidSeries("input blocks can only be checked against the graded blocks: give blocks", field="blocks")
    published = np.asarray(blocks, dtype=np.int64)
    for name, table in inputs_blocks.items():
        inputs = np.asarray(table, dtype=np.int64)
        if name not in scores or inputs.shape != scores[name].shape or published.shape != (inputs.shape[0],):
            raise InvalidSeries(f"input blocks of {name!r} must be periods x entities like its scores", field=name)
        late = (inputs > published[:, None]) & np.isfinite(scores[name])
        if late.any():
            t, i = (int(index) for index in np.argwhere(late)[0])
            raise LookAhead(
                f"{name}: the score of entity {i} at block {int(published[t])} uses an input from block "
                f"{int(inputs[t, i])} ({int(late.sum())} such scores): look-ahead",
                field=name,
            )


def _buckets(scores: FloatArray, returns: FloatArray, quantiles: int) -> FloatArray:
    """Long-short weights per period: +1/k on the top k scored, -1/k on the bottom k, k = n // quantiles."""
    weights = np.zeros(scores.shape)
    for t in range(len(scores)):
        known = np.flatnonzero(np.isfinite(scores[t]) & np.isfinite(returns[t]))
        k = len(known) // quantiles
        if k == 0:
            weights[t] = np.nan
            continue
        ranked = known[np.argsort(scores[t, known], kind="stable")]
        weights[t, ranked[-k:]] = 1.0 / k
        weights[t, ranked[:k]] = -1.0 / k
    return weights


def _bucket_hit_rate(scores: FloatArray, returns: FloatArray, quantiles: int) -> float:
    """Calls (top up, bottom down) against each period's return relative to its cross-sectional mean."""
    calls = np.sign(_buckets(scores, returns, quantiles))
    counted = np.isfinite(calls).all(axis=1)
    if not counted.any():
        raise Undefined(f"no evaluated period has {quantiles} entities with a score and a return to call")
    relative = returns[counted] - np.nanmean(returns[counted], axis=1, keepdims=True)
    return hit_rate(calls[counted], relative)


def _turnover(scores: FloatArray, returns: FloatArray, quantiles: int) -> float:
    weights = _buckets(scores, returns, quantiles)
    books = weights[np.isfinite(weights).all(axis=1)]
    if len(books) < 2:
        raise Undefined(f"turnover needs 2 evaluated periods with a long-short book, got {len(books)}")
    return float(np.mean(weight_turnover(books))) / 2  # a long-short book's gross exposure is 2


def _mean(series: FloatArray, what: str) -> float:
    if len(series) == 0:
        raise Undefined(f"no evaluated period has a {what}")
    return float(np.mean(series))


def _sharpe(spreads: FloatArray) -> float:
    known = spreads[np.isfinite(spreads)]
    if len(known) < 3:
        raise Undefined(f"a Sharpe ratio of the long-short returns needs 3 evaluated periods, got {len(known)}")
    spread = float(np.std(known, ddof=1))
    if spread <= 1e-12 * float(np.max(np.abs(known))):
        raise Undefined("the long-short returns do not vary: the Sharpe ratio has no value")
    return float(np.mean(known)) / spread


def _deflated(
    returns: FloatArray, sharpe: float | Unavailable, trials: Sequence[float], n_trials: int
) -> DeflatedSharpe:
    from scipy import stats  # imported when used: scipy costs a second of every CLI start

    if isinstance(sharpe, Unavailable):
        raise Undefined(sharpe.reason)
    if n_trials > 1 and len(trials) < 2:
        raise Undefined(f"{n_trials} variants were tried but fewer than 2 have a Sharpe ratio to deflate against")
    variance = float(np.var(trials, ddof=1)) if n_trials > 1 else 0.0
    skewness = float(stats.skew(returns))
    kurtosis = float(stats.kurtosis(returns, fisher=False))
    if not (math.isfinite(skewness) and math.isfinite(kurtosis)):
        raise Undefined("the long-short returns' moments are not defined")
    return deflated_sharpe_ratio(sharpe, len(returns), n_trials, variance, skewness, kurtosis)
