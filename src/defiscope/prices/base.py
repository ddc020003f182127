"""The price-source contract. A source prices tokens at the reader's block, or says why it cannot.

Each source is a module of `defiscope.prices` (chainlink, dex, derivatives, coingecko); the aggregator
asks them all and picks. A source never returns 0 or a guess for a token it cannot price: it returns a
`PriceMiss` with the reason, and the token ends up *unpriced* (balance listed, value excluded, reason given).

    class MySource:
        name = "mine"

        async def prices(self, reader: Reader, tokens: Sequence[TokenRef]) -> dict[str, PriceAnswer]:
            return {t.address: PriceMiss(self.name, "no market for this token") for t in tokens}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from defiscope.chain.reader import Reader
from defiscope.chain.tokens import TokenRef
from defiscope.prices.quote import PriceQuote

__all__ = ["PriceAnswer", "PriceMiss", "PriceSource", "TokenRef"]


@dataclass(frozen=True, slots=True)
class PriceMiss:
    """A source could not price a token; `reason` says why, for the user."""

    source: str
    reason: str


PriceAnswer = PriceQuote | PriceMiss


class PriceSource(Protocol):
    """Prices tokens at the reader's block. Keys of the answer are token addresses (checksum)."""

    name: str

    async def prices(self, reader: Reader, tokens: Sequence[TokenRef]) -> dict[str, PriceAnswer]: ...
