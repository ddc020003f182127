"""Purged, embargoed walk-forward splits: no test index near a training index, nothing lost or repeated."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from defiscope.analytics.quant.errors import InvalidSeries
from defiscope.analytics.quant.evaluation import purged_walk_forward

small = st.integers(min_value=0, max_value=10)


@given(
    n_samples=st.integers(min_value=2, max_value=300),
    n_splits=st.integers(min_value=1, max_value=12),
    min_train=st.integers(min_value=1, max_value=100),
    label_horizon=small,
    embargo=small,
)
def test_no_test_index_is_within_the_embargo_or_a_label_of_a_train_index(
    n_samples: int, n_splits: int, min_train: int, label_horizon: int, embargo: int
) -> None:
    assume(min_train > label_horizon + embargo and n_samples - min_train >= n_splits)
    splits = purged_walk_forward(n_samples, n_splits, min_train=min_train, label_horizon=label_horizon, embargo=embargo)
    assert len(splits) == n_splits
    np.testing.assert_array_equal(np.concatenate([s.test for s in splits]), np.arange(min_train, n_samples))
    for split, later in zip(splits, [*splits[1:], None], strict=True):
        assert len(split.train) > 0
        assert len(split.test) > 0
        np.testing.assert_array_equal(split.train, np.arange(len(split.train)))  # expanding from the start
        gaps = np.abs(split.test[:, None] - split.train[None, :])
        assert gaps.min() > embargo
        assert split.train.max() + label_horizon < split.test.min() - embargo  # every label ends before the test
        if later is not None:
            assert len(later.train) > len(split.train)


def test_a_label_spanning_the_test_start_is_purged_and_the_embargo_widens_the_gap() -> None:
    plain = purged_walk_forward(20, 1, min_train=10)[0]
    purged = purged_walk_forward(20, 1, min_train=10, label_horizon=3)[0]
    embargoed = purged_walk_forward(20, 1, min_train=10, label_horizon=3, embargo=2)[0]
    assert (plain.train.max(), purged.train.max(), embargoed.train.max()) == (9, 6, 4)
    assert plain.test.tolist() == purged.test.tolist() == embargoed.test.tolist() == list(range(10, 20))


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"n_samples": 20, "n_splits": 2, "min_train": 3, "label_horizon": 2, "embargo": 1}, "min_train"),
        ({"n_samples": 12, "n_splits": 5, "min_train": 10}, "n_splits"),
        ({"n_samples": 20, "n_splits": 0, "min_train": 10}, "n_splits"),
        ({"n_samples": 20, "n_splits": 2, "min_train": 10, "embargo": -1}, "embargo"),
    ],
)
def test_impossible_splits_are_refused_naming_the_field(arguments: dict[str, int], field: str) -> None:
    with pytest.raises(InvalidSeries) as refused:
        purged_walk_forward(**arguments)
    assert refused.value.field == field
