"""The figures of the blocks a chain's indexer just stored, kept in memory as it computed them: rules read the block
they are evaluated at and their look-backs from here instead of reading back what was written a moment before.

`figures_of` builds the same `BlockFigures` as reading the block back from the store (`figures.StoredFigures`):
the same Decimals, prices chosen in the same order (`price_index`), rates in the same order (`ordered_rates`).

    recent = RecentBlocks(span=11)          # look-backs of up to 10 blocks, at depth 0
    recent.add(figures_of(result, seen))    # each block the indexer stored, in order
    recent.nearest(1230)                    # figures of the newest kept block at or before 1230; MISSING: ask the store
    recent.forget(1230)                     # a reorg from 1230

The window knows every stored block from its `floor` up: it holds what this process's indexer stored, and the
indexer stores a chain's new blocks in order. Numbers below the floor are the store's to answer.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from decimal import Decimal
from operator import attrgetter
from typing import Final

from defiscope.alerts.evaluate import HUNDRED, BlockFigures, PricePoint, RatePoint
from defiscope.protocols.base import BalanceKind
from defiscope.protocols.yields import YieldKind
from defiscope.tvl.engine import ChainTvl

#: Most blocks kept per chain, whatever the rules' windows (older look-backs read the store).
MAX_KEPT: Final = 512


class Missing:
    """`RecentBlocks.nearest`'s answer for a number the window cannot speak for (below its floor)."""

    __slots__ = ()


MISSING: Final = Missing()
_PRICE_ORDER: Final = attrgetter("token", "symbol", "source", "usd")
_RATE_ORDER: Final = attrgetter("slug", "market", "asset", "kind")


def price_index(points: Iterable[PricePoint]) -> dict[str, PricePoint]:
    """Prices by lower-case address and by upper-case symbol. Two tokens with one symbol (or one token at two
    prices) keep the first in a fixed order, so the choice does not depend on the order rows came in."""
    prices: dict[str, PricePoint] = {}
    for point in sorted(set(points), key=_PRICE_ORDER):
        prices.setdefault(point.token.lower(), point)
        prices.setdefault(point.symbol.upper(), point)
    return prices


def ordered_rates(rates: Iterable[RatePoint]) -> tuple[RatePoint, ...]:
    """Rates in one order (protocol, market, asset, kind): the order a yield rule lists its markets in."""
    return tuple(sorted(rates, key=_RATE_ORDER))


def figures_of(result: ChainTvl, first_seen: Mapping[str, int]) -> BlockFigures:
    """The block's figures from what the indexer computed and stored (`service.snapshots.save_result`);
    `first_seen`: the first stored block time of its protocols."""
    tvl: dict[str, Decimal] = {s.slug: s.total(BalanceKind.TVL) for s in result.snapshots}
    points = (
        PricePoint(t.token, t.symbol, t.price.usd, str(t.price.source))
        for s in result.snapshots
        for t in s.tokens
        if t.price is not None
    )
    rates = (
        RatePoint(y.protocol, y.market, y.asset, y.symbol, YieldKind(y.kind).value, y.apy * HUNDRED)
        for y in result.yields
    )
    seen = {slug: first_seen[slug] for slug in tvl if slug in first_seen}
    return BlockFigures(result.block, tvl, price_index(points), ordered_rates(rates), seen)


class RecentBlocks:
    """One chain's latest stored blocks' figures, enough to answer `nearest` for the `span` block numbers up to the
    newest (at most `MAX_KEPT` blocks). Not thread-safe: `StoredFigures` holds its lock around every call."""

    __slots__ = ("_figures", "_numbers", "floor", "span")

    def __init__(self, span: int) -> None:
        self.span = span
        self.floor: int | None = None  # every stored block from here up is kept (None: nothing kept yet)
        self._numbers: list[int] = []  # ascending
        self._figures: dict[int, BlockFigures] = {}

    def add(self, figures: BlockFigures) -> None:
        number = figures.block.number
        if self._numbers and number <= self._numbers[-1]:
            self.forget(number)  # indexed again without a rollback seen: what was kept from there is stale
        if self.floor is None:
            self.floor = number
        self._numbers.append(number)
        self._figures[number] = figures
        self._trim()

    def get(self, number: int) -> BlockFigures | None:
        return self._figures.get(number)

    def nearest(self, number: int) -> BlockFigures | Missing | None:
        """The newest kept block at or before `number`; None when no block is stored there; MISSING below the
        floor (the store knows)."""
        if self.floor is None or number < self.floor:
            return MISSING
        at = bisect_right(self._numbers, number)
        return self._figures[self._numbers[at - 1]] if at else None

    def forget(self, from_block: int) -> None:
        """Drop the blocks at `from_block` and above (rolled back); below the floor, everything."""
        if self.floor is not None and from_block <= self.floor:
            self.floor = None
        cut = bisect_right(self._numbers, from_block - 1)
        for number in self._numbers[cut:]:
            del self._figures[number]
        del self._numbers[cut:]

    def _trim(self) -> None:
        # Look-backs ask numbers from newest - span + 1 up; the newest stored block at or before that answers the
        # lowest of them, so it stays (blocks indexed every N: it may be older than the span).
        oldest_asked = self._numbers[-1] - self.span + 1
        cut = max(bisect_right(self._numbers, oldest_asked) - 1, 0, len(self._numbers) - MAX_KEPT)
        if cut > 0:
            for number in self._numbers[:cut]:
                del self._figures[number]
            del self._numbers[:cut]
            self.floor = self._numbers[0]
