"""Factors of one asset's value series, point in time by construction.

Each factor takes `history`, the values up to and including the point in time (sliced by the caller), and
looks at its last `window` periods only: it cannot see a later value because it is never given one.
`point_in_time_series` computes a factor at every index from that index's slice, so a series built
this way is what would have been published at each point.

    >>> history = [100.0, 90.0, 120.0, 108.0]
    >>> round(momentum(history, 2), 6)
    0.2
    >>> round(drawdown(history, 3), 6)
    0.1
    >>> point_in_time_series(momentum, history, 2).round(6).tolist()
    [nan, nan, 0.2, 0.2]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from defiscope.analytics.quant.arrays import FloatArray, positive_vector
from defiscope.analytics.quant.errors import InvalidSeries, Undefined
from defiscope.analytics.quant.performance import max_drawdown
from defiscope.analytics.quant.returns import simple_returns

Factor: TypeAlias = Callable[[npt.ArrayLike, int], float]


def momentum(history: npt.ArrayLike, window: int) -> float:
    """V_t / V_{t-w} - 1, the return over the last w periods (Jegadeesh & Titman 1993; for crypto,
    Liu, Tsyvinski & Wu 2022, "Common Risk Factors in Cryptocurrency", use 1- to 4-week windows)."""
    series = _last_periods(history, window)
    return float(series[-1] / series[0]) - 1.0


def volatility(history: npt.ArrayLike, window: int) -> float:
    """Sample standard deviation (ddof = 1) of the last w simple returns, per period (annualise with
    `returns.annualise_std`)."""
    if window < 2:
        raise InvalidSeries("a volatility needs a window of at least 2 returns", field="window")
    return float(np.std(simple_returns(_last_periods(history, window)), ddof=1))


def drawdown(history: npt.ArrayLike, window: int) -> float:
    """Depth of the maximum drawdown of the last w + 1 values (see `performance.max_drawdown`)."""
    return max_drawdown(_last_periods(history, window)).depth


def point_in_time_series(factor: Factor, values: npt.ArrayLike, window: int) -> FloatArray:
    """f_t = factor(values[: t + 1], window) for every t; NaN while fewer than w periods are known."""
    series = positive_vector(values, "values")
    known = np.full(len(series), np.nan)
    for index in range(window, len(series)):
        known[index] = factor(series[: index + 1], window)
    return known


def _last_periods(history: npt.ArrayLike, window: int) -> FloatArray:
    """The last w + 1 values of the history (w periods), refusing a window the history cannot fill."""
    if window < 1:
        raise InvalidSeries("a factor window must be at least 1 period", field="window")
    series = positive_vector(history, "history")
    if len(series) <= window:
        raise Undefined(f"a {window}-period factor needs {window + 1} values, the history has {len(series)}")
    return series[-window - 1 :]
