"""Performance of a value or return series: growth, risk, risk-adjusted ratios, drawdown, turnover.

Return-based ratios take per-period returns and the periods per year (`returns.periods_per_year` of the
series' timestamps); the annualised figure is the per-period one times sqrt(P) (Sharpe 1994, Lo 2002 for
independent returns). Standard deviations are sample ones (ddof = 1).

    >>> values = [100.0, 120.0, 90.0, 130.0]
    >>> max_drawdown(values)
    Drawdown(depth=0.25, peak_index=1, trough_index=2, recovery_index=3)
    >>> weight_turnover([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]).tolist()
    [0.5, 0.5]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from defiscope.analytics.quant.arrays import (
    FloatArray,
    at_least,
    matrix,
    positive_vector,
    require_variation,
    same_shape,
    vector,
)
from defiscope.analytics.quant.errors import InvalidSeries, Undefined
from defiscope.analytics.quant.returns import annualise_log_growth, annualise_std


def cagr(values: npt.ArrayLike, timestamps: npt.ArrayLike) -> float:
    """(V_T / V_0)^(year / (t_T - t_0)) - 1, the compound annual growth rate between first and last value."""
    series = positive_vector(values, "values")
    times = vector(timestamps, "timestamps")
    same_shape(series, times, "values", "timestamps")
    at_least(series, 2, "a growth rate")
    return annualise_log_growth(float(np.log(series[-1]) - np.log(series[0])), float(times[-1] - times[0]))


def volatility(returns: npt.ArrayLike, periods_per_year: float) -> float:
    """sigma(r) * sqrt(P), the annualised sample standard deviation of per-period returns."""
    series = vector(returns, "returns")
    at_least(series, 2, "a volatility")
    return annualise_std(float(np.std(series, ddof=1)), periods_per_year)


def sharpe_ratio(returns: npt.ArrayLike, periods_per_year: float, risk_free_per_period: float = 0.0) -> float:
    """mean(r - r_f) / sigma(r - r_f) * sqrt(P) (Sharpe 1994, "The Sharpe Ratio", annualised as in Lo 2002)."""
    excess = vector(returns, "returns") - risk_free_per_period
    at_least(excess, 2, "a Sharpe ratio")
    spread = float(np.std(excess, ddof=1))
    require_variation(spread, excess, "returns do not vary: the Sharpe ratio has no value")
    return float(np.mean(excess)) / spread * math.sqrt(periods_per_year)


def sortino_ratio(returns: npt.ArrayLike, periods_per_year: float, target_per_period: float = 0.0) -> float:
    """mean(r - tau) / DD * sqrt(P), DD = sqrt(mean(min(r - tau, 0)^2)) over all periods (Sortino & Price 1994)."""
    excess = vector(returns, "returns") - target_per_period
    at_least(excess, 2, "a Sortino ratio")
    downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2)))
    require_variation(downside, excess, "no return fell below the target: the Sortino ratio has no value")
    return float(np.mean(excess)) / downside * math.sqrt(periods_per_year)


@dataclass(frozen=True, slots=True)
class Drawdown:
    """The deepest fall from a running peak: depth = 1 - V_trough / V_peak, as a fraction in [0, 1).

    Indices point into the caller's series (its timestamps give the dates); when the series never falls the
    depth is 0 and both indices are 0. `recovery_index` is the first value back at the peak, None if none."""

    depth: float
    peak_index: int
    trough_index: int
    recovery_index: int | None


def max_drawdown(values: npt.ArrayLike) -> Drawdown:
    """max over t of 1 - V_t / max_{s<=t} V_s, with the peak s and trough t where it happens."""
    series = positive_vector(values, "values")
    at_least(series, 1, "a drawdown")
    falls = 1.0 - series / np.maximum.accumulate(series)
    trough = int(np.argmax(falls))
    peak = int(np.argmax(series[: trough + 1]))
    recovered = np.flatnonzero(series[trough:] >= series[peak])
    recovery = trough + int(recovered[0]) if falls[trough] > 0 and len(recovered) else None
    return Drawdown(float(falls[trough]), peak, trough, recovery)


def calmar_ratio(values: npt.ArrayLike, timestamps: npt.ArrayLike) -> float:
    """CAGR / max drawdown over the whole series given (Young 1991 used the last 36 months)."""
    depth = max_drawdown(values).depth
    if depth == 0:
        raise Undefined("the series never fell: the Calmar ratio has no value")
    return cagr(values, timestamps) / depth


def rebalance_turnover(pre_trade: npt.ArrayLike, post_trade: npt.ArrayLike) -> FloatArray:
    """1/2 * sum_i |w+_i - w-_i| per rebalance (one-way turnover: the fraction of the portfolio traded).

    `pre_trade` are the weights just before each rebalance (drifted with prices), `post_trade` the targets."""
    before = matrix(pre_trade, "pre_trade")
    after = matrix(post_trade, "post_trade")
    same_shape(before, after, "pre_trade", "post_trade")
    if np.any(np.isnan(before)) or np.any(np.isnan(after)):
        raise InvalidSeries("weights must be given for every asset (0 for none)", field="weights")
    return np.asarray(0.5 * np.abs(after - before).sum(axis=1), dtype=np.float64)


def weight_turnover(weights: npt.ArrayLike) -> FloatArray:
    """One-way turnover between consecutive rows of a weight series (periods x assets), ignoring drift."""
    series = matrix(weights, "weights")
    return rebalance_turnover(series[:-1], series[1:])


def tracking_error(returns: npt.ArrayLike, benchmark_returns: npt.ArrayLike, periods_per_year: float) -> float:
    """sigma(r - b) * sqrt(P), the annualised volatility of the active return against a benchmark."""
    portfolio = vector(returns, "returns")
    benchmark = vector(benchmark_returns, "benchmark_returns")
    same_shape(portfolio, benchmark, "returns", "benchmark_returns")
    return volatility(portfolio - benchmark, periods_per_year)
