"""Grade history as a panel, and forward returns: the arrays evaluation and calibration read."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from defiscope.analytics.grades.catalog import FACTORS, GRADED
from defiscope.analytics.grades.formula import FactorReading, grade_block
from defiscope.analytics.grades.panel import NO_BLOCK, forward_returns, grade_panel
from defiscope.analytics.quant.errors import InvalidSeries

ENTITIES = tuple(GRADED)


def graded_at(block: int, shift: int) -> list:  # type: ignore[type-arg]
    readings = [
        FactorReading(slug, name, float((index + shift) % len(ENTITIES)), inputs_block=block - 1)
        for name in FACTORS
        for index, slug in enumerate(ENTITIES)
        if not (slug == "aave" and name == "tvl_share")
    ]
    return grade_block(readings)


def test_a_panel_stacks_grades_percentiles_and_input_blocks_per_block() -> None:
    history = [(block, graded_at(block, shift)) for shift, block in enumerate((100, 200, 300))]
    panel = grade_panel(history)
    assert panel.entities == ENTITIES
    assert panel.blocks.tolist() == [100, 200, 300]
    assert panel.percentiles.shape == (3, len(ENTITIES), len(FACTORS))
    for t, (_, graded) in enumerate(history):
        for i, entity in enumerate(graded):
            assert panel.grades["trader"][t, i] == entity.trader.score
            assert panel.grades["investor"][t, i] == entity.investor.score
    aave, share = ENTITIES.index("aave"), panel.factors.index("tvl_share")
    assert math.isnan(panel.percentiles[0, aave, share])
    assert panel.inputs_blocks[0, aave, share] == NO_BLOCK
    assert panel.newest_inputs("investor").tolist() == [[99] * 8, [199] * 8, [299] * 8]
    assert {panel.factors[f] for f in panel.factors_of("trader")} == {
        name for name, spec in FACTORS.items() if spec.horizon == "trader"
    }


def test_a_panel_refuses_blocks_out_of_order_and_changing_entities() -> None:
    with pytest.raises(InvalidSeries, match="strictly increasing"):
        grade_panel([(200, graded_at(200, 0)), (100, graded_at(100, 1))])
    with pytest.raises(InvalidSeries, match="other entities"):
        grade_panel([(100, graded_at(100, 0)), (200, graded_at(200, 1)[1:])])
    with pytest.raises(InvalidSeries):
        grade_panel([])


@given(
    arrays(np.float64, (12, 3), elements=st.floats(0.01, 1000)),
    st.integers(1, 12),
)
def test_forward_returns_compound_the_next_h_periods(prices: np.ndarray, horizon: int) -> None:
    result = forward_returns(prices, horizon)
    assert np.isnan(result[len(prices) - horizon :]).all()
    for t in range(len(prices) - horizon):
        assert result[t] == pytest.approx(prices[t + horizon] / prices[t] - 1, rel=1e-12)


def test_forward_returns_refuse_bad_prices_and_horizons() -> None:
    with pytest.raises(InvalidSeries) as negative:
        forward_returns([[1.0, -2.0], [1.0, 2.0]], 1)
    assert negative.value.field == "prices"
    with pytest.raises(InvalidSeries) as horizon:
        forward_returns([[1.0], [2.0]], 0)
    assert horizon.value.field == "horizon"
