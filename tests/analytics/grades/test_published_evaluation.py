"""`grades evaluate` over a stored published history: grades published through the real publisher at 160 daily
blocks (factor values written as the factor step would store them), prices in the store; the walk-forward
evaluation of what was published finds the skill planted in the grades, and refuses a history too short."""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
import pytest

from defiscope.analytics.grades.market import TokenRef
from defiscope.analytics.grades.publish import publish_factors
from defiscope.analytics.grades.published import HistoryTooShort, evaluation_document
from defiscope.chain.block import BlockRef
from defiscope.store import Repository
from defiscope.store.factors import FactorValue, InputBlock
from defiscope.tvl.model import PriceQuote
from tests.analytics.grades.kit import FIRST_BLOCK, block_of

DAYS = 160
SPLITS = 2  # the investor grade's walk-forward needs 60 + 2 x 30 + 30 = 150 daily publications
ENTITIES = {"lido": "LDO", "aave": "AAVE", "uniswap": "UNI", "makerdao": "MKR", "compound": "COMP", "curve": "CRV"}
TOKENS = {symbol: TokenRef(symbol, 1, "0x" + f"{index + 1:040x}", 18) for index, symbol in enumerate(ENTITIES.values())}
#: Factors given per grade (over half of each grade's weight), and whether a higher value is better.
PLANTED = {
    7: {"momentum_7d": 1, "momentum_30d": 1, "volatility_30d": -1},
    30: {"momentum_90d": 1, "max_drawdown_90d": -1, "tvl_share": 1, "fees_30d_usd": 1, "revenue_30d_usd": 1},
}


def _prices(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 10.0 * np.exp(np.cumsum(rng.normal(0, 0.03, (DAYS + 40, len(ENTITIES))), axis=0))


def _factors(block: BlockRef, day: int, prices: np.ndarray) -> list[FactorValue]:
    """Factor values that know the coming return (planted skill: the evaluator judges grades, not how they were
    made); each stamped with its own block as input, as the factor step stamps the newest input."""
    values = []
    noise = np.random.default_rng(day).normal(0, 0.08, (len(ENTITIES), len(PLANTED)))  # skill, not a perfect oracle
    for i, slug in enumerate(ENTITIES):
        for h, (horizon_days, factors) in enumerate(PLANTED.items()):
            coming = prices[day + horizon_days, i] / prices[day, i] - 1 + noise[i, h]
            for name, sign in factors.items():
                value = Decimal(str(round(float(sign * coming), 9)))
                values.append(FactorValue(slug, name, block, value, None, InputBlock(1, block.number), block.number))
    return values


def _usd(price: float) -> Decimal:
    return Decimal(str(round(float(price), 9)))


def _publish_history(repo: Repository, days: int, prices: np.ndarray) -> None:
    for day in range(days):
        block = block_of(day)
        repo.save_yields(block, [], protocols=["aave-v3"])  # stores the block, as indexing does
        quotes = [
            PriceQuote(
                1,
                TOKENS[symbol].address,
                Decimal(repr(float(prices[day, i]))),
                "dex",
                block.timestamp,
                0.9,
                block.number,
            )
            for i, symbol in enumerate(ENTITIES.values())
        ]
        repo.save_prices(quotes)
        publish_factors(repo, block, _factors(block, day, prices))


def test_the_evaluation_of_what_was_published_finds_the_planted_skill(repo: Repository) -> None:
    _publish_history(repo, DAYS, _prices(seed=5))
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
    _publish_history(repo, 20, _prices(seed=6))
    with pytest.raises(HistoryTooShort, match=r"needs at least 150 publications .*; 20 are stored") as short:
        evaluation_document(repo, TOKENS, n_splits=SPLITS)
    assert short.value.field == "history"
