"""Does a factor rank assets by what they return next? Information coefficient, hit rate, quantile spread.

Inputs are periods x assets matrices lined up by the caller: `scores[t, i]` is the factor known at period t,
`forward_returns[t, i]` the return from t to the next evaluation point. NaN marks an asset without data in a
period; a period without enough assets gives NaN, never 0, and the summaries count it as skipped.

    >>> scores = [[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]]
    >>> forward = [[0.01, 0.02, 0.05], [0.00, 0.01, 0.03]]
    >>> information_coefficients(scores, forward).tolist()
    [1.0, -1.0]
    >>> quantile_spreads(scores, forward, quantiles=3).round(6).tolist()
    [0.04, -0.03]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from defiscope.analytics.quant.arrays import FloatArray, matrix, require_variation, same_shape
from defiscope.analytics.quant.errors import InvalidSeries, Undefined

MIN_ASSETS: Final = 3  # a rank correlation over two assets is always +1 or -1


def information_coefficients(
    scores: npt.ArrayLike, forward_returns: npt.ArrayLike, min_assets: int = MIN_ASSETS
) -> FloatArray:
    """IC_t = Spearman rank correlation of scores and forward returns across assets in period t.

    Spearman's rho is the Pearson correlation of the ranks (ties get their average rank); NaN where fewer than
    `min_assets` assets have both figures or where either side has no spread (Grinold & Kahn, Active Portfolio
    Management, ch. 6, use the IC as the measure of skill)."""
    factor, realised = _aligned(scores, forward_returns)
    return np.array([_rank_correlation(factor[t], realised[t], min_assets) for t in range(len(factor))])


@dataclass(frozen=True, slots=True)
class ICSummary:
    """Mean IC over periods, its standard deviation, t = mean / (std / sqrt(n)) and two-sided p from Student's t
    with n - 1 degrees of freedom. Overlapping forward returns make periods dependent and t too large: space the
    periods by the forward horizon so that their returns do not overlap."""

    mean: float
    std: float
    t_statistic: float
    p_value: float
    periods: int
    skipped: int


def ic_summary(ics: npt.ArrayLike) -> ICSummary:
    """Summarise a series of per-period ICs (NaN periods are skipped and counted)."""
    from scipy import stats  # imported when used: scipy costs a second of every CLI start

    series = np.asarray(ics, dtype=np.float64)
    if series.ndim != 1:
        raise InvalidSeries("ICs must be one value per period", field="ics")
    known = series[np.isfinite(series)]
    if len(known) < 2:
        raise Undefined(f"an IC t-statistic needs at least 2 periods with an IC, got {len(known)}")
    mean, std = float(np.mean(known)), float(np.std(known, ddof=1))
    require_variation(std, known, "the IC is the same in every period: its t-statistic has no value")
    t_statistic = mean / (std / math.sqrt(len(known)))
    p_value = float(2 * stats.t.sf(abs(t_statistic), df=len(known) - 1))
    return ICSummary(mean, std, t_statistic, p_value, len(known), len(series) - len(known))


def hit_rate(signals: npt.ArrayLike, forward_returns: npt.ArrayLike) -> float:
    """Share of directional calls whose sign the next return matched: #(sign(s) = sign(r), s != 0) / #(s != 0).

    Neutral signals (0) and pairs with a missing figure are not calls; a return of exactly 0 is a miss."""
    calls = np.asarray(signals, dtype=np.float64)
    outcomes = np.asarray(forward_returns, dtype=np.float64)
    same_shape(calls, outcomes, "signals", "forward_returns")
    counted = (calls != 0) & np.isfinite(calls) & np.isfinite(outcomes)
    if not counted.any():
        raise Undefined("no bullish or bearish call with a known outcome: the hit rate has no value")
    return float(np.mean(np.sign(calls[counted]) == np.sign(outcomes[counted])))


def quantile_spreads(scores: npt.ArrayLike, forward_returns: npt.ArrayLike, quantiles: int = 5) -> FloatArray:
    """Per period: mean forward return of the top-scored k assets minus that of the bottom k, k = n // quantiles.

    NaN where fewer than `quantiles` assets have both figures. Ties at a bucket edge go by asset order."""
    if quantiles < 2:
        raise InvalidSeries("quantiles must be at least 2 (top and bottom)", field="quantiles")
    factor, realised = _aligned(scores, forward_returns)
    return np.array([_top_minus_bottom(factor[t], realised[t], quantiles) for t in range(len(factor))])


def _aligned(scores: npt.ArrayLike, forward_returns: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    factor = matrix(scores, "scores")
    realised = matrix(forward_returns, "forward_returns")
    same_shape(factor, realised, "scores", "forward_returns")
    return factor, realised


def _rank_correlation(scores: FloatArray, returns: FloatArray, min_assets: int) -> float:
    from scipy import stats  # imported when used: scipy costs a second of every CLI start

    known = np.isfinite(scores) & np.isfinite(returns)
    if known.sum() < max(min_assets, 2):
        return math.nan
    score_ranks = stats.rankdata(scores[known])
    return_ranks = stats.rankdata(returns[known])
    if np.ptp(score_ranks) == 0 or np.ptp(return_ranks) == 0:
        return math.nan
    return float(np.corrcoef(score_ranks, return_ranks)[0, 1])


def _top_minus_bottom(scores: FloatArray, returns: FloatArray, quantiles: int) -> float:
    known = np.isfinite(scores) & np.isfinite(returns)
    bucket = int(known.sum()) // quantiles
    if bucket == 0:
        return math.nan
    ranked = returns[known][np.argsort(scores[known], kind="stable")]
    return float(np.mean(ranked[-bucket:]) - np.mean(ranked[:bucket]))
