"""A store holding a published grade history with planted skill: grades published through the real publisher at
daily blocks (factor values written as the factor step would store them, knowing the coming return plus noise) and
the graded tokens' prices at each block. For the evaluation's tests: the analytics', the API's and the dashboard's.

    publish_history(repo, 160, planted_prices(seed=5))
    evaluation_document(repo, TOKENS, n_splits=SPLITS)     # finds the planted skill

The tokens are mainnet's addresses (`TOKENS`): a server on the default (mainnet) registries finds their prices.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np

from defiscope.analytics.grades.compute import graded_tokens
from defiscope.analytics.grades.publish import publish_factors
from defiscope.api.context import default_deployments
from defiscope.chain.block import BlockRef
from defiscope.store import Repository
from defiscope.store.factors import FactorValue, InputBlock
from defiscope.tvl.model import PriceQuote
from tests.analytics.grades.kit import block_of

DAYS = 160
SPLITS = 2  # the investor grade's walk-forward needs 60 + 2 x 30 + 30 = 150 daily publications
ENTITIES = {"lido": "LDO", "aave": "AAVE", "uniswap": "UNI", "makerdao": "MKR", "compound": "COMP", "curve": "CRV"}
TOKENS = {s: token for s, token in graded_tokens(default_deployments()).items() if s in ENTITIES.values()}
#: Factors given per grade (over half of each grade's weight), and whether a higher value is better.
PLANTED = {
    7: {"momentum_7d": 1, "momentum_30d": 1, "volatility_30d": -1},
    30: {
        "momentum_90d": 1,
        "max_drawdown_90d": -1,
        "tvl_share": 1,
        "fees_30d_usd": 1,
        "revenue_30d_usd": 1,
        "risk_composite": 1,
    },
}


def planted_prices(seed: int, days: int = DAYS) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 10.0 * np.exp(np.cumsum(rng.normal(0, 0.03, (days + 40, len(ENTITIES))), axis=0))


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


def publish_history(repo: Repository, days: int, prices: np.ndarray, first_day: int = 0) -> None:
    """Days `first_day` to `days - 1`: each block stored with its prices, and its grades published."""
    for day in range(first_day, days):
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


def evaluated_store(folder: Path, days: int = DAYS, seed: int = 5) -> str:
    """A SQLite store under `folder` with `days` of published history; its URL."""
    url = f"sqlite:///{folder / 'evaluated.db'}"
    repo = Repository.open(url)
    try:
        publish_history(repo, days, planted_prices(seed, days))
    finally:
        repo.close()
    return url
