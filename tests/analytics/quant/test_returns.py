"""Returns and annualisation against their closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from defiscope.analytics.quant.errors import InvalidSeries, Undefined
from defiscope.analytics.quant.returns import (
    SECONDS_PER_YEAR,
    annualise_growth,
    annualise_log_growth,
    annualise_std,
    log_returns,
    periods_per_year,
    seconds_per_period,
    simple_returns,
)
from tests.analytics.quant.strategies import positive_values, timed_values


@given(positive_values)
def test_simple_returns_compound_back_to_the_values(values: list[float]) -> None:
    rebuilt = values[0] * np.cumprod(1 + simple_returns(values))
    assert rebuilt == pytest.approx(values[1:], rel=1e-9)


@given(positive_values)
def test_log_returns_add_up_to_the_log_of_total_growth(values: list[float]) -> None:
    returns = log_returns(values)
    assert len(returns) == len(values) - 1
    assert float(returns.sum()) == pytest.approx(math.log(values[-1] / values[0]), abs=1e-9)
    assert np.exp(returns) - 1 == pytest.approx(simple_returns(values), rel=1e-9, abs=1e-12)


@given(timed_values())
def test_periods_per_year_follow_the_mean_block_spacing(series: tuple[list[float], list[int]]) -> None:
    _, times = series
    mean_gap = (times[-1] - times[0]) / (len(times) - 1)
    assert seconds_per_period(times) == pytest.approx(mean_gap)
    assert periods_per_year(times) == pytest.approx(SECONDS_PER_YEAR / mean_gap)


@given(st.floats(min_value=-0.9, max_value=5.0), st.floats(min_value=0.1, max_value=10.0))
def test_growth_compounded_yearly_for_n_years_annualises_back(rate: float, years: float) -> None:
    total = (1 + rate) ** years - 1
    # `total` near -1 keeps few digits of 1 + total (its rounding, one ulp, is a large share of it): that error,
    # not the function's, comes back through the years-th root. Allowed: four times it, plus the usual 1e-12.
    inherited = 4 * (1 + rate) * math.ulp(total) / ((1 + total) * years)
    assert annualise_growth(total, years * SECONDS_PER_YEAR) == pytest.approx(rate, rel=1e-9, abs=1e-12 + inherited)


def test_growth_too_fast_to_annualise_says_so_instead_of_overflowing() -> None:
    with pytest.raises(Undefined, match="compounds past any number"):
        annualise_growth(1.0, 60.0)
    assert annualise_log_growth(math.log(1e-300), SECONDS_PER_YEAR) == pytest.approx(-1.0)


def test_daily_std_annualises_by_the_square_root_of_days() -> None:
    assert annualise_std(0.01, 365.25) == pytest.approx(0.01 * math.sqrt(365.25))


@pytest.mark.parametrize(
    ("values", "field"),
    [([1.0, 0.0, 2.0], "values"), ([1.0, -3.0], "values"), ([1.0, math.nan], "values"), ([[1.0, 2.0]], "values")],
)
def test_malformed_values_are_refused_naming_the_field(values: list[float], field: str) -> None:
    with pytest.raises(InvalidSeries) as refused:
        simple_returns(values)
    assert refused.value.field == field


def test_timestamps_must_increase_and_be_more_than_one() -> None:
    with pytest.raises(InvalidSeries, match="strictly increasing"):
        periods_per_year([10, 10, 20])
    with pytest.raises(Undefined, match="at least 2"):
        periods_per_year([10])
