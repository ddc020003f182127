"""A USD price of one token, with its source, time and confidence."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class PriceQuote:
    """One USD price for one token, with where it came from and how far to trust it."""

    chain_id: int
    token: str  # checksum address
    usd: Decimal
    source: str  # e.g. "chainlink:ETH/USD", "uniswap-v3:0xPool", "coingecko"
    timestamp: int  # unix seconds the price refers to
    confidence: float  # 0..1
    block_number: int | None = None
    #: For a DEX-derived price: USD depth of the core-asset side of the pool(s) it came from. A holding's
    #: value is capped by it (no one could sell more into that market); None for feeds and oracles.
    liquidity_usd: Decimal | None = None
