"""Cross-sectional skill: ICs against scipy's Spearman, summaries against the t-test, and a synthetic market
with a planted factor found (|t| > 3) beside markets without one where nothing is found."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from defiscope.analytics.quant.arrays import FloatArray
from defiscope.analytics.quant.errors import InvalidSeries, Undefined
from defiscope.analytics.quant.evaluation import hit_rate, ic_summary, information_coefficients, quantile_spreads

panels = st.tuples(st.integers(min_value=1, max_value=8), st.integers(min_value=3, max_value=15)).flatmap(
    lambda shape: st.tuples(
        arrays(np.float64, shape, elements=st.integers(-5, 5).map(float)),  # small integers: many ties
        arrays(np.float64, shape, elements=st.floats(-0.5, 0.5)),
    )
)


@given(panels)
def test_ic_is_scipys_spearman_per_period(panel: tuple[FloatArray, FloatArray]) -> None:
    scores, returns = panel
    for period, ic in enumerate(information_coefficients(scores, returns)):
        if np.ptp(scores[period]) == 0 or np.ptp(returns[period]) == 0:
            assert math.isnan(ic)
        else:
            assert ic == pytest.approx(stats.spearmanr(scores[period], returns[period]).statistic, abs=1e-12)


@given(arrays(np.float64, (4, 12), elements=st.floats(-0.5, 0.5), unique=True))
def test_a_perfectly_ranked_factor_has_an_ic_of_one(returns: FloatArray) -> None:
    # any increasing function of the returns ranks the assets as they turned out: here the cube of their ranks
    perfect = np.argsort(np.argsort(returns, axis=1), axis=1).astype(np.float64) ** 3
    assert information_coefficients(perfect, returns) == pytest.approx([1.0] * 4)
    assert information_coefficients(-perfect, returns) == pytest.approx([-1.0] * 4)


def test_periods_with_too_few_assets_are_nan_and_counted_as_skipped() -> None:
    scores = np.array([[1.0, 2.0, 3.0, 4.0], [1.0, np.nan, np.nan, 2.0], [4.0, 3.0, 1.0, 2.0]])
    returns = np.array([[0.1, 0.2, 0.4, 0.3], [0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4]])
    ics = information_coefficients(scores, returns)
    assert math.isnan(ics[1])
    summary = ic_summary(ics)
    assert (summary.periods, summary.skipped) == (2, 1)


@given(st.lists(st.floats(-1, 1), min_size=2, max_size=50))
def test_ic_summary_is_a_one_sample_t_test(ics: list[float]) -> None:
    if np.std(ics) < 1e-9:
        return
    summary = ic_summary(ics)
    reference = stats.ttest_1samp(ics, 0.0)
    assert summary.t_statistic == pytest.approx(reference.statistic, rel=1e-9)
    assert summary.p_value == pytest.approx(reference.pvalue, rel=1e-9, abs=1e-300)


def test_summaries_without_enough_periods_say_why() -> None:
    with pytest.raises(Undefined, match="at least 2 periods"):
        ic_summary([0.2, math.nan])
    with pytest.raises(Undefined, match="same in every period"):
        ic_summary([0.2, 0.2, 0.2])
    with pytest.raises(Undefined, match="no bullish or bearish call"):
        hit_rate([0.0, 0.0], [0.1, -0.1])


@given(st.lists(st.tuples(st.sampled_from([-1.0, 0.0, 1.0, 2.5]), st.floats(-0.2, 0.2)), min_size=1, max_size=40))
def test_hit_rate_counts_matching_signs_of_directional_calls(pairs: list[tuple[float, float]]) -> None:
    calls = [(s, r) for s, r in pairs if s != 0]
    signals, returns = zip(*pairs, strict=True)
    if not calls:
        with pytest.raises(Undefined):
            hit_rate(signals, returns)
        return
    hits = sum(1 for s, r in calls if (s > 0 and r > 0) or (s < 0 and r < 0))
    assert hit_rate(signals, returns) == pytest.approx(hits / len(calls))


@given(panels, st.integers(min_value=2, max_value=5))
def test_quantile_spread_is_top_mean_minus_bottom_mean(panel: tuple[FloatArray, FloatArray], quantiles: int) -> None:
    scores, returns = panel
    scores = scores + np.arange(scores.shape[1]) * 1e-3  # break ties so the buckets are unambiguous
    for period, spread in enumerate(quantile_spreads(scores, returns, quantiles)):
        bucket = scores.shape[1] // quantiles
        if bucket == 0:
            assert math.isnan(spread)
            continue
        ranked = [r for _, r in sorted(zip(scores[period], returns[period], strict=True))]
        expected = sum(ranked[-bucket:]) / bucket - sum(ranked[:bucket]) / bucket
        assert spread == pytest.approx(expected, abs=1e-12)


def test_mismatched_panels_are_refused() -> None:
    with pytest.raises(InvalidSeries) as refused:
        information_coefficients(np.zeros((3, 4)), np.zeros((3, 5)))
    assert refused.value.field == "forward_returns"
    with pytest.raises(InvalidSeries, match="at least 2"):
        quantile_spreads(np.zeros((3, 4)), np.zeros((3, 4)), quantiles=1)


def synthetic_market(seed: int, loading: float, periods: int = 104, assets: int = 40) -> tuple[FloatArray, FloatArray]:
    """Weekly returns = loading x factor + market + fat-tailed noise; the factor is known before the returns."""
    rng = np.random.default_rng(seed)
    factor = rng.standard_normal((periods, assets))
    market = rng.normal(0.0, 0.03, size=(periods, 1))
    noise = 0.05 * rng.standard_t(df=4, size=(periods, assets))
    return factor, loading * factor + market + noise


def test_a_planted_factor_is_found_significant() -> None:
    scores, returns = synthetic_market(seed=16, loading=0.01)
    summary = ic_summary(information_coefficients(scores, returns))
    assert summary.mean > 0.05
    assert summary.t_statistic > 3
    assert summary.p_value < 0.01
    assert np.mean(quantile_spreads(scores, returns)) > 0
    assert hit_rate(scores, returns - returns.mean(axis=1, keepdims=True)) > 0.5


@pytest.mark.parametrize("seed", range(5))
def test_markets_without_a_factor_show_nothing_significant(seed: int) -> None:
    scores, returns = synthetic_market(seed=seed, loading=0.0)
    summary = ic_summary(information_coefficients(scores, returns))
    assert abs(summary.t_statistic) < 3
    assert summary.p_value > 0.05
