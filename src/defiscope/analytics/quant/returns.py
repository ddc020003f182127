"""Returns of a value series, and their annualisation from block timestamps.

Blocks do not come at a fixed pace, so annualisation takes the series' own timestamps: the mean spacing of
the observations gives the periods per year. Crypto trades every day, so a year is a Julian year of seconds.

    >>> simple_returns([100.0, 110.0, 99.0]).round(6).tolist()
    [0.1, -0.1]
    >>> round(float(log_returns([100.0, 110.0, 99.0]).sum()), 6) == round(float(np.log(99 / 100)), 6)
    True
    >>> periods_per_year([0, 86_400, 172_800])
    365.25
    >>> round(annualise_growth(0.21, 2 * SECONDS_PER_YEAR), 6)
    0.1
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

from defiscope.analytics.quant.arrays import FloatArray, at_least, positive_vector, vector
from defiscope.analytics.quant.errors import InvalidSeries, Undefined

SECONDS_PER_YEAR: Final = 365.25 * 86_400  # a Julian year: markets on chain never close
MAX_EXPONENT: Final = math.log(np.finfo(np.float64).max)  # exp() of more overflows a float


def simple_returns(values: npt.ArrayLike) -> FloatArray:
    """r_t = V_t / V_{t-1} - 1, the arithmetic return of each period (one fewer than the values)."""
    series = positive_vector(values, "values")
    return series[1:] / series[:-1] - 1.0


def log_returns(values: npt.ArrayLike) -> FloatArray:
    """l_t = ln(V_t / V_{t-1}); they add over periods: sum of l_t = ln(V_T / V_0)."""
    series = positive_vector(values, "values")
    return np.log(series[1:] / series[:-1])


def seconds_per_period(timestamps: npt.ArrayLike) -> float:
    """Mean spacing (t_n - t_0) / n of n + 1 strictly increasing timestamps (seconds)."""
    times = vector(timestamps, "timestamps")
    at_least(times, 2, "a period length")
    if np.any(np.diff(times) <= 0):
        raise InvalidSeries("timestamps must be strictly increasing", field="timestamps")
    return float(times[-1] - times[0]) / (len(times) - 1)


def periods_per_year(timestamps: npt.ArrayLike) -> float:
    """P = year / mean period, the factor that annualises per-period statistics of these observations."""
    return SECONDS_PER_YEAR / seconds_per_period(timestamps)


def annualise_growth(growth: float, elapsed_seconds: float) -> float:
    """(1 + g)^(year / elapsed) - 1: the yearly rate compounding to total growth g over `elapsed_seconds`."""
    if growth <= -1:
        raise InvalidSeries("growth must be above -100 %", field="growth")
    return annualise_log_growth(math.log1p(growth), elapsed_seconds)


def annualise_log_growth(log_growth: float, elapsed_seconds: float) -> float:
    """exp(ln(V_T / V_0) * year / elapsed) - 1, the same rate from the log of total growth (exact for tiny or
    huge ratios, where 1 + g rounds)."""
    if elapsed_seconds <= 0:
        raise InvalidSeries("elapsed time must be positive", field="elapsed_seconds")
    exponent = log_growth * SECONDS_PER_YEAR / elapsed_seconds
    if exponent > MAX_EXPONENT:
        raise Undefined(f"growth over {elapsed_seconds:g} s compounds past any number when annualised")
    return math.expm1(exponent)


def annualise_std(per_period_std: float, periods: float) -> float:
    """sigma * sqrt(P): the square-root-of-time rule for independent returns, P periods per year."""
    return per_period_std * math.sqrt(periods)
