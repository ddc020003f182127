"""Is a Sharpe ratio better than luck? The probabilistic and the deflated Sharpe ratio.

Bailey & Lopez de Prado, "The Sharpe Ratio Efficient Frontier" (J. of Risk, 2012) and "The Deflated Sharpe
Ratio: Correcting for Selection Bias, Backtest Overfitting and Non-Normality" (J. of Portfolio Management
40(5), 2014, SSRN 2460551). All Sharpe ratios here are per period (not annualised), at the frequency of the
`n_obs` returns they come from; kurtosis is the plain (non-excess) one, 3 for normal returns.

The paper's numerical example: 100 trials whose annualised Sharpe ratios vary with variance 1/2, the best one
2.5 annualised over 5 years of daily returns (250 a year) with skewness -3 and kurtosis 10; its benchmark
SR_0 is 0.1132 per day and its DSR 0.9004 (reproduced by quantstrat's `.deflatedSharpe`, Kipnis & Peterson):

    >>> result = deflated_sharpe_ratio(2.5 / 250**0.5, 1250, 100, 0.5 / 250, skewness=-3.0, kurtosis=10.0)
    >>> round(result.benchmark, 4), round(result.probability, 4)
    (0.1132, 0.9004)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from defiscope.analytics.quant.arrays import at_least, require_variation, vector
from defiscope.analytics.quant.errors import InvalidSeries, Undefined


def sharpe_ratio_std(sharpe: float, n_obs: int, skewness: float = 0.0, kurtosis: float = 3.0) -> float:
    """sigma(SR) = sqrt((1 - g3 SR + (g4 - 1) / 4 SR^2) / (T - 1)), the estimator's standard error for
    non-normal i.i.d. returns (Mertens 2002; Bailey & Lopez de Prado 2012, eq. 3)."""
    if n_obs < 2:
        raise Undefined(f"a Sharpe ratio's standard error needs at least 2 returns, got {n_obs}")
    # Pearson's inequality g4 >= 1 + g3^2 keeps the variance term non-negative for any real moments.
    variance_term = 1.0 - skewness * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if variance_term <= 0:
        raise InvalidSeries("skewness and kurtosis are inconsistent (kurtosis < 1 + skewness^2)", field="kurtosis")
    return math.sqrt(variance_term / (n_obs - 1))


def probabilistic_sharpe_ratio(
    sharpe: float, benchmark: float, n_obs: int, skewness: float = 0.0, kurtosis: float = 3.0
) -> float:
    """PSR(SR*) = Z[(SR - SR*) / sigma(SR)], the probability that the true Sharpe ratio exceeds SR*."""
    from scipy import stats  # imported when used: scipy costs a second of every CLI start

    return float(stats.norm.cdf((sharpe - benchmark) / sharpe_ratio_std(sharpe, n_obs, skewness, kurtosis)))


def expected_max_sharpe(n_trials: int, trials_sharpe_variance: float, trials_mean_sharpe: float = 0.0) -> float:
    """E[max SR_n] ~ E[SR_n] + sqrt(V[SR_n]) ((1 - gamma) Z^-1(1 - 1/N) + gamma Z^-1(1 - 1/(N e))), gamma the
    Euler-Mascheroni constant: the best of N independent unskilled trials (Bailey & Lopez de Prado 2014, eq. 2;
    the extreme-value approximation of Bailey, Borwein, Lopez de Prado & Zhu 2014). One trial: no selection."""
    from scipy import stats  # imported when used: scipy costs a second of every CLI start

    if n_trials < 1:
        raise InvalidSeries("n_trials must be at least 1", field="n_trials")
    if trials_sharpe_variance < 0:
        raise InvalidSeries("the trials' Sharpe variance must not be negative", field="trials_sharpe_variance")
    if n_trials == 1:
        return trials_mean_sharpe
    gamma = float(np.euler_gamma)
    spread = (1 - gamma) * stats.norm.ppf(1 - 1 / n_trials) + gamma * stats.norm.ppf(1 - 1 / (n_trials * math.e))
    return trials_mean_sharpe + math.sqrt(trials_sharpe_variance) * float(spread)


@dataclass(frozen=True, slots=True)
class DeflatedSharpe:
    """DSR = PSR(SR_0): the probability that the selected strategy's true Sharpe ratio beats `benchmark`, the
    Sharpe ratio the best of `n_trials` unskilled trials would show. 0.95 is the usual bar."""

    probability: float
    benchmark: float
    sharpe: float
    n_obs: int
    n_trials: int


def deflated_sharpe_ratio(
    sharpe: float,
    n_obs: int,
    n_trials: int,
    trials_sharpe_variance: float,
    skewness: float = 0.0,
    kurtosis: float = 3.0,
) -> DeflatedSharpe:
    """DSR = Z[(SR - SR_0) sqrt(T - 1) / sqrt(1 - g3 SR + (g4 - 1) / 4 SR^2)], SR_0 = E[max SR_n] under the
    null of no skill (Bailey & Lopez de Prado 2014, eq. 9)."""
    benchmark = expected_max_sharpe(n_trials, trials_sharpe_variance)
    probability = probabilistic_sharpe_ratio(sharpe, benchmark, n_obs, skewness, kurtosis)
    return DeflatedSharpe(probability, benchmark, sharpe, n_obs, n_trials)


def deflated_sharpe_of_returns(returns: npt.ArrayLike, trial_sharpes: npt.ArrayLike) -> DeflatedSharpe:
    """The DSR of the selected strategy's per-period returns, given the per-period Sharpe ratios of every trial
    (the selected one included): SR, skewness and kurtosis are the returns' sample moments, N and V[SR_n] the
    trials' count and sample variance."""
    from scipy import stats  # imported when used: scipy costs a second of every CLI start

    series = vector(returns, "returns")
    trials = vector(trial_sharpes, "trial_sharpes")
    if len(trials) == 0:
        raise InvalidSeries(
            "trial_sharpes must hold every trial's Sharpe ratio, the selected one's included", field="trial_sharpes"
        )
    at_least(series, 3, "a deflated Sharpe ratio")
    spread = float(np.std(series, ddof=1))
    require_variation(spread, series, "returns do not vary: the Sharpe ratio has no value")
    variance = float(np.var(trials, ddof=1)) if len(trials) > 1 else 0.0
    return deflated_sharpe_ratio(
        float(np.mean(series)) / spread,
        len(series),
        len(trials),
        variance,
        float(stats.skew(series)),
        float(stats.kurtosis(series, fisher=False)),
    )
