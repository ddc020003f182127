"""Performance statistics against straightforward reference implementations and closed forms."""

from __future__ import annotations

import itertools
import math
import statistics

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from defiscope.analytics.quant.errors import InvalidSeries, Undefined
from defiscope.analytics.quant.performance import (
    cagr,
    calmar_ratio,
    max_drawdown,
    rebalance_turnover,
    sharpe_ratio,
    sortino_ratio,
    tracking_error,
    volatility,
    weight_turnover,
)
from defiscope.analytics.quant.returns import SECONDS_PER_YEAR
from tests.analytics.quant.strategies import period_returns, positive_values, timed_values

DAILY = 365.25


def brute_force_drawdown(values: list[float]) -> float:
    """max over i <= j of 1 - V_j / V_i, every pair tried."""
    return max(1 - values[j] / values[i] for j in range(len(values)) for i in range(j + 1))


@given(positive_values)
def test_max_drawdown_is_the_worst_fall_over_all_pairs(values: list[float]) -> None:
    result = max_drawdown(values)
    assert result.depth == pytest.approx(brute_force_drawdown(values), abs=1e-12)
    assert result.peak_index <= result.trough_index
    assert result.depth == pytest.approx(1 - values[result.trough_index] / values[result.peak_index], abs=1e-12)
    if result.recovery_index is not None:
        assert values[result.recovery_index] >= values[result.peak_index]
        assert all(v < values[result.peak_index] for v in values[result.trough_index : result.recovery_index])


@given(positive_values)
def test_a_monotone_rising_series_has_no_drawdown(values: list[float]) -> None:
    result = max_drawdown(sorted(values))
    assert (result.depth, result.peak_index, result.trough_index, result.recovery_index) == (0.0, 0, 0, None)


def test_drawdown_dates_come_from_the_callers_timestamps() -> None:
    values = [100.0, 150.0, 120.0, 60.0, 90.0, 160.0]
    result = max_drawdown(values)
    assert (result.depth, result.peak_index, result.trough_index, result.recovery_index) == (0.6, 1, 3, 5)


@given(period_returns, st.floats(min_value=1e-3, max_value=1e3))
def test_sharpe_is_invariant_to_scaling_the_returns(returns: list[float], scale: float) -> None:
    assume(statistics.stdev(returns) > 1e-6)
    scaled = [r * scale for r in returns]
    assert sharpe_ratio(scaled, DAILY) == pytest.approx(sharpe_ratio(returns, DAILY), rel=1e-9, abs=1e-9)


@given(period_returns, st.floats(min_value=-0.01, max_value=0.01))
def test_sharpe_matches_the_textbook_formula(returns: list[float], risk_free: float) -> None:
    excess = [r - risk_free for r in returns]
    assume(statistics.stdev(excess) > 1e-6)
    expected = statistics.mean(excess) / statistics.stdev(excess) * math.sqrt(DAILY)
    assert sharpe_ratio(returns, DAILY, risk_free) == pytest.approx(expected, rel=1e-9, abs=1e-9)


@given(period_returns, st.floats(min_value=-0.01, max_value=0.01))
def test_sortino_matches_a_loop_over_the_downside(returns: list[float], target: float) -> None:
    below = [min(r - target, 0.0) ** 2 for r in returns]
    assume(sum(below) > 1e-12)
    downside = math.sqrt(sum(below) / len(returns))
    expected = (sum(returns) / len(returns) - target) / downside * math.sqrt(DAILY)
    assert sortino_ratio(returns, DAILY, target) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_ratios_without_variation_or_downside_say_why() -> None:
    with pytest.raises(Undefined, match="do not vary"):
        sharpe_ratio([0.01] * 10, DAILY)
    with pytest.raises(Undefined, match="below the target"):
        sortino_ratio([0.01, 0.02, 0.03], DAILY)
    with pytest.raises(Undefined, match="never fell"):
        calmar_ratio([1.0, 2.0, 3.0], [0, 1, 2])
    with pytest.raises(Undefined, match="at least 2"):
        sharpe_ratio([0.01], DAILY)


@given(st.floats(min_value=-0.9, max_value=3.0), st.integers(min_value=2, max_value=40))
def test_cagr_of_steady_yearly_growth_is_that_growth(rate: float, years: int) -> None:
    values = [100.0 * (1 + rate) ** year for year in range(years + 1)]
    times = [1_700_000_000 + round(year * SECONDS_PER_YEAR) for year in range(years + 1)]
    assert cagr(values, times) == pytest.approx(rate, rel=1e-9, abs=1e-12)


@given(timed_values())
def test_calmar_is_cagr_over_max_drawdown(series: tuple[list[float], list[int]]) -> None:
    values, times = series
    depth = brute_force_drawdown(values)
    assume(depth > 1e-9)
    try:
        growth = cagr(values, times)
    except Undefined:  # a big move over a few seconds: no annual rate exists, and so no Calmar ratio
        with pytest.raises(Undefined, match="compounds past any number"):
            calmar_ratio(values, times)
        return
    assert calmar_ratio(values, times) == pytest.approx(growth / depth, rel=1e-9)


@given(period_returns)
def test_volatility_annualises_the_sample_standard_deviation(returns: list[float]) -> None:
    assert volatility(returns, DAILY) == pytest.approx(statistics.stdev(returns) * math.sqrt(DAILY), abs=1e-12)


@given(period_returns, period_returns)
def test_tracking_error_is_the_volatility_of_the_active_return(left: list[float], right: list[float]) -> None:
    size = min(len(left), len(right))
    active = [a - b for a, b in zip(left[:size], right[:size], strict=True)]
    expected = statistics.stdev(active) * math.sqrt(DAILY)
    assert tracking_error(left[:size], right[:size], DAILY) == pytest.approx(expected, abs=1e-12)
    assert tracking_error(left, left, DAILY) == 0.0


def test_tracking_error_refuses_series_that_do_not_line_up() -> None:
    with pytest.raises(InvalidSeries) as refused:
        tracking_error([0.1, 0.2, 0.3], [0.1, 0.2], DAILY)
    assert refused.value.field == "benchmark_returns"


weights_rows = st.integers(min_value=2, max_value=6).flatmap(
    lambda assets: st.lists(
        st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=assets, max_size=assets), min_size=2, max_size=12
    )
)


@given(weights_rows)
def test_turnover_is_half_the_absolute_weight_change(rows: list[list[float]]) -> None:
    expected = [0.5 * sum(abs(b - a) for a, b in zip(prev, nxt, strict=True)) for prev, nxt in itertools.pairwise(rows)]
    assert weight_turnover(rows).tolist() == pytest.approx(expected)


def test_moving_everything_from_one_asset_to_another_turns_over_the_whole_portfolio() -> None:
    assert rebalance_turnover([[1.0, 0.0, 0.0], [0.2, 0.3, 0.5]], [[0.0, 1.0, 0.0], [0.2, 0.3, 0.5]]).tolist() == [
        1.0,
        0.0,
    ]
    with pytest.raises(InvalidSeries, match="every asset"):
        weight_turnover(np.array([[1.0, np.nan], [0.5, 0.5]]))
