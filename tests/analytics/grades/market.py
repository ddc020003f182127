"""Synthetic markets for the grade tests and benchmark: entities with a persistent factor and daily prices.

The factor z follows an AR(1) per entity (persistence phi, unit variance); the next day's return is
beta * z_t * sigma + sigma * sqrt(1 - beta^2) * noise, so beta is the daily correlation of factor and return
(0: a market where the factor means nothing). Fixed seeds make every market reproducible."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
