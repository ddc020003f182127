"""Walk-forward splits with an expanding training window, purged and embargoed.

Lopez de Prado, Advances in Financial Machine Learning (2018), ch. 7: a sample whose label spans
[i, i + h] (h = `label_horizon` periods of forward return) leaks the test period into training when its
label overlaps the test block, so it is purged; and features are serially correlated, so an embargo of
`embargo` periods separates training from test. AFML's k-fold puts the embargo after each test block, where
later training samples would sit; an expanding walk-forward trains on the past only, so here the embargo is
the gap kept before each test block, on top of the purge. Every training index i then satisfies
i + h + embargo < first test index.

    >>> [(s.train.tolist(), s.test.tolist()) for s in purged_walk_forward(10, 2, min_train=4, label_horizon=1)]
    [([0, 1, 2], [4, 5, 6]), ([0, 1, 2, 3, 4, 5], [7, 8, 9])]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from defiscope.analytics.quant.arrays import IndexArray
from defiscope.analytics.quant.errors import InvalidSeries


@dataclass(frozen=True, slots=True)
class Split:
    """Sample indices to fit on (`train`) and to evaluate on (`test`), both increasing."""

    train: IndexArray
    test: IndexArray


def purged_walk_forward(
    n_samples: int, n_splits: int, *, min_train: int, label_horizon: int = 0, embargo: int = 0
) -> list[Split]:
    """Split samples 0..n-1 in time order: [min_train, n) into `n_splits` consecutive test blocks of near-equal
    size; each block trains on every earlier sample i with i + label_horizon + embargo < the block's start."""
    _check(n_samples, n_splits, min_train, label_horizon, embargo)
    blocks = np.array_split(np.arange(min_train, n_samples, dtype=np.int64), n_splits)
    return [Split(np.arange(0, int(test[0]) - label_horizon - embargo, dtype=np.int64), test) for test in blocks]


def _check(n_samples: int, n_splits: int, min_train: int, label_horizon: int, embargo: int) -> None:
    if label_horizon < 0 or embargo < 0:
        raise InvalidSeries("label_horizon and embargo must not be negative", field="embargo")
    if n_splits < 1:
        raise InvalidSeries("n_splits must be at least 1", field="n_splits")
    if min_train <= label_horizon + embargo:
        raise InvalidSeries(
            f"min_train ({min_train}) must exceed label_horizon + embargo ({label_horizon + embargo}): "
            "the first split would have nothing to train on",
            field="min_train",
        )
    if n_samples - min_train < n_splits:
        raise InvalidSeries(
            f"{n_samples} samples leave {max(n_samples - min_train, 0)} after min_train for {n_splits} test blocks",
            field="n_splits",
        )
