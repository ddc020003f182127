"""Synthetic markets for the grade tests and benchmark: entities with a persistent factor and daily prices.

The factor z follows an AR(1) per entity (persistence phi, unit variance); the next day's return is
beta * z_t * sigma + sigma * sqrt(1 - beta^2) * noise, so beta is the daily correlation of factor and return
(0: a market where the factor means nothing). Fixed seeds make every market reproducible."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from defiscope.analytics.grades.catalog import FACTORS, GRADED
from defiscope.analytics.grades.formula import FactorReading
from defiscope.analytics.quant.arrays import FloatArray


@dataclass(frozen=True, slots=True)
class Market:
    factor: FloatArray  # (days, entities), known at the start of each day
    prices: FloatArray  # (days, entities), price at the start of each day


def synthetic_market(
    seed: int, *, days: int = 365, entities: int = 8, beta: float = 0.1, phi: float = 0.98, sigma: float = 0.03
) -> Market:
    rng = np.random.default_rng(seed)
    factor = np.empty((days, entities))
    factor[0] = rng.standard_normal(entities)
    for day in range(1, days):
        factor[day] = phi * factor[day - 1] + np.sqrt(1 - phi**2) * rng.standard_normal(entities)
    noise = rng.standard_normal((days, entities))
    daily = sigma * (beta * factor + np.sqrt(1 - beta**2) * noise)
    prices = 100.0 * np.vstack([np.ones(entities), np.cumprod(1 + daily[:-1], axis=0)])
    return Market(factor, prices)


DAILY_BLOCKS = 7_200  # a block every 12 s
FIRST_BLOCK = 20_000_000
PLANTED = ("liquidity_usd", "volume_7d_usd", "tvl_trend_30d", "fees_30d_usd", "price_to_fees")
PRICE_FACTORS = {
    "momentum_7d": 7,
    "momentum_30d": 30,
    "momentum_90d": 90,
    "volatility_30d": 30,
    "max_drawdown_90d": 90,
}


def market_blocks(days: int) -> list[int]:
    return [FIRST_BLOCK + day * DAILY_BLOCKS for day in range(days)]


def synthetic_readings(market: Market, seed: int, gap_rate: float = 0.03) -> list[tuple[int, list[FactorReading]]]:
    """Every catalog factor of every entity, per day: price factors from the prices known that day, the planted
    factor inside the `PLANTED` ones (negated where lower is better), noise in the rest; some values missing."""
    rng = np.random.default_rng(seed)
    days, entities = market.prices.shape
    slugs = tuple(GRADED)[:entities] if entities <= len(GRADED) else tuple(f"e{i}" for i in range(entities))
    noise = {name: rng.standard_normal((days, entities)) for name in FACTORS}
    gaps = rng.random((days, entities, len(FACTORS))) < gap_rate
    history = []
    for day, block in enumerate(market_blocks(days)):
        readings = []
        for i, slug in enumerate(slugs):
            for f, name in enumerate(FACTORS):
                value, reason = _value(market, name, day, i, noise[name][day, i])
                if value is not None and gaps[day, i, f]:
                    value, reason = None, "synthetic gap"
                readings.append(FactorReading(slug, name, value, block if value is not None else None, reason))
        history.append((block, readings))
    return history


def _value(market: Market, name: str, day: int, entity: int, noise: float) -> tuple[float | None, str | None]:
    window = PRICE_FACTORS.get(name)
    if window is not None:
        if day < window:
            return None, f"history shorter than {window} days"
        prices = market.prices[day - window : day + 1, entity]
        if name.startswith("momentum"):
            return float(prices[-1] / prices[0] - 1), None
        if name == "volatility_30d":
            return float(np.std(prices[1:] / prices[:-1] - 1, ddof=1)), None
        return float(1 - np.min(prices / np.maximum.accumulate(prices))), None
    planted = market.factor[day, entity] if name in PLANTED else 0.0
    sign = -1.0 if FACTORS[name].better == "lower" else 1.0
    return float(sign * planted + noise), None
