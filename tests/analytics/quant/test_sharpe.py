"""Probabilistic and deflated Sharpe ratios: the paper's worked example, closed forms, and a selection from
noise that a plain PSR would pass and the DSR does not."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from defiscope.analytics.quant.errors import InvalidSeries, Undefined
from defiscope.analytics.quant.evaluation import (
    deflated_sharpe_of_returns,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    sharpe_ratio_std,
)

DAYS_PER_YEAR = 250  # the paper's convention in its example


def test_the_papers_numerical_example() -> None:
    """Bailey & Lopez de Prado 2014 (JPM 40(5), SSRN 2460551), numerical example: N = 100 trials with
    V[SR_n] = 1/2 annualised, SR = 2.5 annualised over T = 1250 daily returns, skewness -3, kurtosis 10
    give SR_0 = 0.1132 per day and DSR = 0.9004."""
    result = deflated_sharpe_ratio(
        sharpe=2.5 / math.sqrt(DAYS_PER_YEAR),
        n_obs=1250,
        n_trials=100,
        trials_sharpe_variance=0.5 / DAYS_PER_YEAR,
        skewness=-3.0,
        kurtosis=10.0,
    )
    assert result.benchmark == pytest.approx(0.1132, abs=5e-5)
    assert result.probability == pytest.approx(0.9004, abs=5e-5)
    assert result.benchmark * math.sqrt(DAYS_PER_YEAR) == pytest.approx(1.7894, abs=5e-4)  # annualised SR_0


@given(st.floats(-1, 1), st.integers(min_value=2, max_value=10_000))
def test_normal_returns_have_lo_s_standard_error(sharpe: float, n_obs: int) -> None:
    """Lo (2002): for i.i.d. normal returns, sigma(SR) = sqrt((1 + SR^2 / 2) / (T - 1))."""
    assert sharpe_ratio_std(sharpe, n_obs) == pytest.approx(math.sqrt((1 + sharpe**2 / 2) / (n_obs - 1)))


@given(st.floats(-0.5, 0.5), st.integers(min_value=2, max_value=5_000), st.floats(-2, 2), st.floats(0, 20))
def test_one_trial_deflates_to_the_psr_against_zero(sharpe: float, n_obs: int, skew: float, extra: float) -> None:
    kurtosis = 1 + skew**2 + extra  # any valid pair of moments (Pearson: kurtosis >= 1 + skewness^2)
    single = deflated_sharpe_ratio(sharpe, n_obs, 1, 0.3, skew, kurtosis)
    assert single.benchmark == 0.0
    assert single.probability == probabilistic_sharpe_ratio(sharpe, 0.0, n_obs, skew, kurtosis)


@given(st.integers(min_value=2, max_value=10_000), st.floats(1e-6, 4.0))
def test_more_trials_raise_the_bar_in_proportion_to_their_spread(n_trials: int, variance: float) -> None:
    bar = expected_max_sharpe(n_trials, variance)
    assert bar > 0
    assert expected_max_sharpe(n_trials + 1, variance) > bar
    assert expected_max_sharpe(n_trials, 4 * variance) == pytest.approx(2 * bar)


def test_expected_maximum_approximates_the_best_of_simulated_trials() -> None:
    rng = np.random.default_rng(2014)
    for n_trials, tolerance in ((10, 0.05), (100, 0.02), (1000, 0.02)):
        simulated = rng.standard_normal((4_000, n_trials)).max(axis=1).mean()
        assert expected_max_sharpe(n_trials, 1.0) == pytest.approx(simulated, rel=tolerance)


def test_the_best_of_many_noise_strategies_passes_the_psr_but_not_the_dsr() -> None:
    rng = np.random.default_rng(17)
    trials = rng.normal(0.0, 0.01, size=(50, 500))  # 50 variants without skill, 500 daily returns each
    sharpes = trials.mean(axis=1) / trials.std(axis=1, ddof=1)
    best = trials[int(np.argmax(sharpes))]
    naive = probabilistic_sharpe_ratio(float(sharpes.max()), 0.0, 500, stats.skew(best), stats.kurtosis(best, False))
    deflated = deflated_sharpe_of_returns(best, sharpes)
    assert naive > 0.95
    assert deflated.probability < 0.5
    assert deflated.n_trials == 50
    assert deflated.sharpe == pytest.approx(sharpes.max())


def test_a_real_edge_survives_deflation() -> None:
    rng = np.random.default_rng(18)
    skilled = rng.normal(0.002, 0.01, size=1_000)  # Sharpe 0.2 a day, over 1000 days
    trial_sharpes = np.append(rng.normal(0.0, 1 / math.sqrt(1_000), size=19), skilled.mean() / skilled.std(ddof=1))
    assert deflated_sharpe_of_returns(skilled, trial_sharpes).probability > 0.95


def test_inputs_without_an_answer_are_refused_with_the_reason() -> None:
    with pytest.raises(Undefined, match="do not vary"):
        deflated_sharpe_of_returns([0.01] * 10, [0.1, 0.2])
    with pytest.raises(Undefined, match="at least 2 returns"):
        sharpe_ratio_std(0.1, 1)
    with pytest.raises(InvalidSeries) as refused:
        expected_max_sharpe(0, 1.0)
    assert refused.value.field == "n_trials"
    with pytest.raises(InvalidSeries, match="the selected one's included"):
        deflated_sharpe_of_returns([0.01, 0.02, -0.01], [])
    with pytest.raises(InvalidSeries, match="inconsistent"):
        sharpe_ratio_std(1.0, 100, skewness=3.0, kurtosis=2.0)
