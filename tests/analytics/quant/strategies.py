"""Hypothesis strategies shared by the quant tests: value series, return series, timestamps."""

from __future__ import annotations

from hypothesis import strategies as st

positive_values = st.lists(st.floats(min_value=0.01, max_value=10_000.0), min_size=2, max_size=60)
period_returns = st.lists(st.floats(min_value=-0.5, max_value=0.5), min_size=3, max_size=60)


@st.composite
def timed_values(draw: st.DrawFn) -> tuple[list[float], list[int]]:
    """A value series with strictly increasing, irregularly spaced block timestamps."""
    values = draw(positive_values)
    gaps = draw(st.lists(st.integers(min_value=1, max_value=86_400), min_size=len(values), max_size=len(values)))
    start = draw(st.integers(min_value=1_600_000_000, max_value=1_800_000_000))
    times = [start]
    for gap in gaps[1:]:
        times.append(times[-1] + gap)
    return values, times
