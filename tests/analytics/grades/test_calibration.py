"""Learned calibration: fitted walk-forward only on labels realised before each test block (poisoning proves it)."""

from __future__ import annotations

import numpy as np
import pytest

from defiscope.analytics.grades.calibration import Model, calibrate_walk_forward
from defiscope.analytics.grades.panel import forward_returns
from defiscope.analytics.quant.errors import InvalidSeries
from defiscope.analytics.quant.evaluation import Split, information_coefficients, purged_walk_forward
from tests.analytics.grades.synthetic import synthetic_market

HORIZON = 7
EMBARGO = 2


def market_features(seed: int, beta: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Two percentile features (the planted factor's rank and a noise rank, one missing now and then)."""
    market = synthetic_market(seed, beta=beta, days=240)
    rng = np.random.default_rng(seed + 100)
    ranks = np.argsort(np.argsort(market.factor, axis=1), axis=1) * (100 / 7)
    noise = rng.uniform(0, 100, ranks.shape)
    noise[rng.random(ranks.shape) < 0.1] = np.nan
    return np.stack([ranks, noise], axis=2), forward_returns(market.prices, HORIZON)


def splits_of(periods: int) -> list[Split]:
    return purged_walk_forward(periods, 4, min_train=60, label_horizon=HORIZON, embargo=EMBARGO)


@pytest.mark.parametrize("model", ["linear", "boosting"])
def test_a_fit_for_a_test_block_never_sees_a_label_realised_from_that_block_on(model: Model) -> None:
    features, labels = market_features(0)
    splits = splits_of(len(labels))
    clean = calibrate_walk_forward(features, labels, splits, label_horizon=HORIZON, model=model)
    for split in splits:
        start, end = int(split.test[0]), int(split.test[-1])
        poisoned_labels = labels.copy()
        # every label not yet realised at the block's start (s + h >= start) becomes absurd
        poisoned_labels[start - HORIZON :] = 1e6 * np.sign(np.nan_to_num(labels[start - HORIZON :]) + 0.5)
        poisoned_features = features.copy()
        poisoned_features[end + 1 :] = 100 - features[end + 1 :]  # and every feature after the block is reversed
        poisoned = calibrate_walk_forward(
            poisoned_features, poisoned_labels, [split], label_horizon=HORIZON, model=model
        )
        assert np.array_equal(poisoned.predictions[split.test], clean.predictions[split.test], equal_nan=True)
        assert np.isfinite(clean.predictions[split.test]).all()


@pytest.mark.parametrize("model", ["linear", "boosting"])
def test_a_poisoned_label_inside_the_training_window_does_change_the_fit(model: Model) -> None:
    features, labels = market_features(0)
    split = splits_of(len(labels))[1]
    clean = calibrate_walk_forward(features, labels, [split], label_horizon=HORIZON, model=model)
    poisoned_labels = labels.copy()
    poisoned_labels[split.train] = -labels[split.train]  # the control: what the fit does see matters
    poisoned = calibrate_walk_forward(features, poisoned_labels, [split], label_horizon=HORIZON, model=model)
    assert not np.allclose(poisoned.predictions[split.test], clean.predictions[split.test])


@pytest.mark.parametrize("model", ["linear", "boosting"])
def test_the_calibration_learns_a_planted_factor(model: Model) -> None:
    features, labels = market_features(1)
    splits = splits_of(len(labels))
    result = calibrate_walk_forward(features, labels, splits, label_horizon=HORIZON, model=model)
    tested = np.concatenate([split.test for split in splits])[::HORIZON]
    assert np.nanmean(information_coefficients(result.predictions[tested], labels[tested])) > 0.1
    assert [fit.last_label + HORIZON + EMBARGO < fit.test_start for fit in result.fits] == [True] * len(splits)
    assert np.isnan(result.predictions[: splits[0].test[0]]).all()


def test_a_split_whose_training_labels_reach_the_test_block_is_refused() -> None:
    features, labels = market_features(2)
    leaky = Split(np.arange(0, 60, dtype=np.int64), np.arange(60, 90, dtype=np.int64))
    with pytest.raises(InvalidSeries, match="would see the future") as refused:
        calibrate_walk_forward(features, labels, [leaky], label_horizon=HORIZON)
    assert refused.value.field == "splits"


def test_too_few_labelled_rows_give_no_model_and_say_why() -> None:
    features, labels = market_features(3)
    labels[:50] = np.nan
    split = Split(np.arange(0, 52, dtype=np.int64), np.arange(62, 70, dtype=np.int64))
    result = calibrate_walk_forward(features, labels, [split], label_horizon=HORIZON)
    assert result.fits[0].reason == "16 labelled rows before period 62, 30 needed"
    assert np.isnan(result.predictions).all()


def test_malformed_features_are_refused_naming_the_field() -> None:
    with pytest.raises(InvalidSeries) as refused:
        calibrate_walk_forward(np.zeros((10, 8)), np.zeros((10, 8)), [], label_horizon=1)
    assert refused.value.field == "features"
