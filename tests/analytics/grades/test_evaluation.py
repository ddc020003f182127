"""Walk-forward evaluation: a planted factor is found, a market without one shows nothing, look-ahead is caught."""

from __future__ import annotations

import numpy as np
import pytest

from defiscope.analytics.grades.calibration import calibrate_walk_forward
from defiscope.analytics.grades.evaluation import (
    Evaluation,
    LookAhead,
    Unavailable,
    VariantReport,
    WalkForward,
    evaluate,
)
from defiscope.analytics.grades.panel import forward_returns
from defiscope.analytics.quant.errors import InvalidSeries
from defiscope.analytics.quant.evaluation import DeflatedSharpe, ICSummary
from tests.analytics.grades.synthetic import synthetic_market

HORIZON = 7
SETUP = WalkForward(horizon=HORIZON, n_splits=6, min_train=60, embargo=2)
DAILY_BLOCKS = 7_200  # a block every 12 s


def blocks_of(days: int) -> np.ndarray:
    return np.arange(days, dtype=np.int64) * DAILY_BLOCKS + 1_000_000


def summary(figure: ICSummary | Unavailable) -> ICSummary:
    assert isinstance(figure, ICSummary), figure
    return figure


def deflated(figure: DeflatedSharpe | Unavailable) -> DeflatedSharpe:
    assert isinstance(figure, DeflatedSharpe), figure
    return figure


def evaluated(seed: int, beta: float) -> VariantReport:
    market = synthetic_market(seed, beta=beta)
    return evaluate(forward_returns(market.prices, HORIZON), {"factor": market.factor}, SETUP).variant("factor")


@pytest.mark.parametrize("seed", range(5))
def test_a_planted_factor_is_found_significant(seed: int) -> None:
    report = evaluated(seed, beta=0.2)
    ic = summary(report.ic)
    assert ic.mean > 0.1
    assert ic.t_statistic > 3
    assert ic.p_value < 0.01
    assert deflated(report.deflated_sharpe).probability > 0.95
    assert isinstance(report.hit_rate, float)
    assert report.hit_rate > 0.55
    assert isinstance(report.top_minus_bottom, float)
    assert report.top_minus_bottom > 0


@pytest.mark.parametrize("seed", range(6))
def test_a_market_without_a_factor_shows_nothing_significant(seed: int) -> None:
    report = evaluated(seed, beta=0.0)
    assert summary(report.ic).p_value > 0.01
    assert deflated(report.deflated_sharpe).probability < 0.95


def test_the_evaluated_periods_are_test_periods_spaced_by_the_horizon_after_purged_training() -> None:
    market = synthetic_market(0)
    result: Evaluation = evaluate(forward_returns(market.prices, HORIZON), {"factor": market.factor}, SETUP)
    tested = set(np.concatenate([split.test for split in result.splits]).tolist())
    assert set(result.periods.tolist()) <= tested
    assert set(np.diff(result.periods).tolist()) == {HORIZON}
    assert result.periods[0] == SETUP.min_train
    for split in result.splits:
        assert split.train[-1] + HORIZON + SETUP.embargo < split.test[0]


def test_a_factor_built_from_the_future_return_is_refused_by_its_input_blocks() -> None:
    market = synthetic_market(1)
    realised = forward_returns(market.prices, HORIZON)
    blocks = blocks_of(len(realised))
    # the "factor" is the return from t to t + h: its newest input is the price at block t + h
    cheat_inputs = np.repeat(np.roll(blocks, -HORIZON)[:, None], realised.shape[1], axis=1)
    cheat_inputs[-HORIZON:] = blocks[-1] + DAILY_BLOCKS
    honest_inputs = np.repeat(blocks[:, None], realised.shape[1], axis=1)
    with pytest.raises(
        LookAhead, match=r"cheat: the score of entity 0 at block 1000000 uses an input from block 1050400"
    ):
        evaluate(realised, {"cheat": realised}, SETUP, blocks=blocks, inputs_blocks={"cheat": cheat_inputs})
    honest = evaluate(
        realised, {"factor": market.factor}, SETUP, blocks=blocks, inputs_blocks={"factor": honest_inputs}
    )
    assert summary(honest.variant("factor").ic).periods > 0


@pytest.mark.parametrize("beta", [0.0, 0.2])
def test_look_ahead_behind_wrong_input_blocks_shows_as_skill_that_vanishes_when_traded_late(beta: float) -> None:
    market = synthetic_market(2, beta=beta)
    realised = forward_returns(market.prices, HORIZON)
    result = evaluate(realised, {"cheat": realised, "factor": market.factor}, SETUP)
    cheat, factor = result.variant("cheat"), result.variant("factor")
    assert np.nanmin(cheat.ics) == pytest.approx(1.0)  # perfect foresight: IC 1 in every period
    # one horizon late, foresight keeps only what a real factor would have given: most of its IC is gone
    assert np.nanmean(cheat.delayed_ics) < 0.5 * np.nanmean(cheat.ics)
    if beta == 0:
        assert summary(cheat.delayed_ic).p_value > 0.05
    else:  # a real, persistent factor keeps most of its skill when acted on one horizon late
        assert np.nanmean(factor.delayed_ics) > 0.5 * np.nanmean(factor.ics)
        assert summary(factor.delayed_ic).p_value < 0.01


def test_a_calibrated_variant_is_evaluated_beside_the_formula_and_both_are_deflated_together() -> None:
    market = synthetic_market(3, beta=0.2)
    realised = forward_returns(market.prices, HORIZON)
    ranks = np.argsort(np.argsort(market.factor, axis=1), axis=1) * (100 / 7)
    calibrated = calibrate_walk_forward(
        ranks[:, :, None], realised, SETUP.splits(len(realised)), label_horizon=HORIZON
    ).predictions
    result = evaluate(realised, {"formula": ranks, "calibrated": calibrated}, SETUP)
    assert result.n_trials == 2
    for name in ("formula", "calibrated"):
        assert summary(result.variant(name).ic).t_statistic > 3
        assert deflated(result.variant(name).deflated_sharpe).n_trials == 2
    alone = evaluate(realised, {"formula": ranks}, SETUP, tried_sharpes=[0.5, -0.3, 0.1, 0.4])
    with_tries = deflated(alone.variant("formula").deflated_sharpe)
    assert with_tries.n_trials == 5
    assert with_tries.benchmark > 0
    assert (
        with_tries.probability
        < deflated(evaluate(realised, {"formula": ranks}, SETUP).variants[0].deflated_sharpe).probability
    )


def test_turnover_is_zero_for_a_fixed_book_and_one_for_a_book_replaced_every_period() -> None:
    periods, entities = 200, 8
    rng = np.random.default_rng(4)
    realised = rng.normal(0, 0.02, (periods, entities))
    fixed = np.tile(np.arange(entities, dtype=np.float64), (periods, 1))
    flipping = np.where((np.arange(periods) // HORIZON % 2 == 0)[:, None], fixed, -fixed)
    result = evaluate(realised, {"fixed": fixed, "flipping": flipping}, SETUP)
    assert result.variant("fixed").turnover == 0
    assert result.variant("flipping").turnover == 1


def test_figures_without_a_value_say_why() -> None:
    rng = np.random.default_rng(5)
    realised = rng.normal(0, 0.02, (200, 2))  # two entities: no rank correlation, no top and bottom quarter
    report = evaluate(realised, {"thin": rng.normal(size=(200, 2))}, SETUP).variant("thin")
    for figure in (report.ic, report.hit_rate, report.top_minus_bottom, report.turnover, report.sharpe):
        assert isinstance(figure, Unavailable)
        assert figure.reason
    assert isinstance(report.deflated_sharpe, Unavailable)


def test_malformed_panels_are_refused_naming_the_field() -> None:
    realised = np.zeros((100, 8))
    with pytest.raises(InvalidSeries) as shape:
        evaluate(realised, {"short": np.zeros((99, 8))}, SETUP)
    assert shape.value.field == "variants[short]"
    with pytest.raises(InvalidSeries) as blocks:
        evaluate(realised, {"f": realised}, SETUP, inputs_blocks={"f": np.zeros((100, 8))})
    assert blocks.value.field == "blocks"
    with pytest.raises(InvalidSeries) as none:
        evaluate(realised, {}, SETUP)
    assert none.value.field == "variants"


@pytest.mark.parametrize(("horizon", "quantiles", "field"), [(0, 4, "horizon"), (7, 1, "quantiles")])
def test_a_walk_forward_setup_without_a_horizon_or_buckets_is_refused(horizon: int, quantiles: int, field: str) -> None:
    with pytest.raises(InvalidSeries) as refused:
        WalkForward(horizon=horizon, n_splits=2, min_train=20, quantiles=quantiles)
    assert refused.value.field == field
