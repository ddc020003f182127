"""Point-in-time factors: equal to their reference formulas, and blind to anything after their index."""

from __future__ import annotations

import itertools
import statistics

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from defiscope.analytics.quant.errors import InvalidSeries, Undefined
from defiscope.analytics.quant.factors import Factor, drawdown, momentum, point_in_time_series, volatility
from tests.analytics.quant.strategies import positive_values

FACTORS: list[Factor] = [momentum, volatility, drawdown]
windows = st.integers(min_value=2, max_value=10)


@pytest.mark.parametrize("factor", FACTORS)
@given(values=positive_values, future=positive_values, window=windows)
def test_appending_future_values_never_changes_a_past_factor(
    factor: Factor, values: list[float], future: list[float], window: int
) -> None:
    past = point_in_time_series(factor, values, window)
    extended = point_in_time_series(factor, values + future, window)
    np.testing.assert_array_equal(extended[: len(values)], past)


@given(values=positive_values, window=windows)
def test_factors_match_their_formulas_at_every_index(values: list[float], window: int) -> None:
    for index in range(window, len(values)):
        seen = values[index - window : index + 1]
        returns = [b / a - 1 for a, b in itertools.pairwise(seen)]
        worst = max(1 - seen[j] / seen[i] for j in range(len(seen)) for i in range(j + 1))
        history = values[: index + 1]
        assert momentum(history, window) == pytest.approx(values[index] / values[index - window] - 1, rel=1e-12)
        assert volatility(history, window) == pytest.approx(statistics.stdev(returns), rel=1e-9, abs=1e-15)
        assert drawdown(history, window) == pytest.approx(worst, abs=1e-12)


def test_indices_without_a_full_window_are_nan_in_a_series_and_undefined_alone() -> None:
    series = point_in_time_series(momentum, [1.0, 2.0, 4.0], 2)
    assert np.isnan(series[:2]).all()
    assert series[2] == 3.0
    with pytest.raises(Undefined, match="needs 3 values, the history has 2"):
        momentum([1.0, 2.0], 2)


@pytest.mark.parametrize(("factor", "window"), [(momentum, 0), (volatility, 1)])
def test_windows_too_small_are_refused(factor: Factor, window: int) -> None:
    with pytest.raises(InvalidSeries) as refused:
        factor([1.0, 2.0, 3.0], window)
    assert refused.value.field == "window"
