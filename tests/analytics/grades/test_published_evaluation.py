"""`grades evaluate` over a stored published history: grades published through the real publisher at 160 daily
blocks (factor values written as the factor step would store them), prices in the store; the walk-forward
evaluation of what was published finds the skill planted in the grades, and refuses a history too short."""

from __future__ import annotations

import json

import pytest

from defiscope.analytics.grades.published import HistoryTooShort, evaluation_document
from defiscope.store import Repository
from tests.analytics.grades.evaluated_store import DAYS, SPLITS, TOKENS, planted_prices, publish_history
from tests.analytics.grades.kit import FIRST_BLOCK


def test_the_evaluation_of_what_was_published_finds_the_planted_skill(repo: Repository) -> None:
    publish_history(repo, DAYS, planted_prices(seed=5))
    report = evaluation_document(repo, TOKENS, n_splits=SPLITS)
    assert report["publications"] == DAYS
    json.dumps(report, allow_nan=False)  # what `grades evaluate --json` prints: no NaN, a figure or why not
    assert report["periods_per_day"] == 1
    by_horizon = {grade["horizon"]: grade for grade in report["grades"]}
    for horizon in ("trader", "investor"):
        (formula,) = [v for v in by_horizon[horizon]["variants"] if v["name"] == "formula"]
        assert "mean" in formula["ic"], (horizon, formula["ic"])
        assert formula["ic"]["mean"] > 0.2, (horizon, formula["ic"])
        assert formula["ic"]["t_statistic"] > 0
        assert all(p["block"] >= FIRST_BLOCK for p in formula["ic_by_period"])
    # Trader: 90 test days / 7 gives 13 independent periods, enough for significance; the investor's 3 are not.
    (trader,) = [v for v in by_horizon["trader"]["variants"] if v["name"] == "formula"]
    assert trader["ic"]["p_value"] < 0.01, trader["ic"]


def test_a_short_history_is_refused_saying_how_much_is_needed(repo: Repository) -> None:
    publish_history(repo, 20, planted_prices(seed=6))
    with pytest.raises(HistoryTooShort, match=r"needs at least 150 publications .*; 20 are stored") as short:
        evaluation_document(repo, TOKENS, n_splits=SPLITS)
    assert short.value.field == "history"
