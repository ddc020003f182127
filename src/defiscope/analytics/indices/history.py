"""Stored history for a backtest, answered as of each block: the I/O edge between the store and `backtest`.

`StoreHistory` reads a chain's stored blocks in the range, and the price quotes and TVL snapshots of the
index's possible members that a block of the range can see, once: those in the range's time span, the newest
before it (what its first block sees) and each token's first quote (its age). So the reads grow with the range,
not with the history before it (a live tracker steps a few blocks at a time). It then answers per block only
from rows at or before that block (a quote by its time and, when it has one, its block; a snapshot by its
block), so a rebalance sees nothing later, as the point-in-time test checks by poisoning every later row.
Stored quotes and snapshots are taken to be in block order by time (a quote older than a block is not from a
later one), as indexing stores them.

    history = StoreHistory.load(repo, deployment, listings_for(deployment, definition), 100, 900, supplies)
    points = history.points()                 # blocks with the prices known at each
    history.candidates(points[0])             # TVL, market cap, liquidity, age known at the first block

The figures: price, the newest quote (most confident at equal times); liquidity, that quote's DEX depth (None
for an oracle: unknown, not 0); age, whole days since the token's first stored quote; TVL, the newest snapshot
of each of the protocol family's adapters on this chain, summed; market cap, price x supply where the
`SupplySource` knows the supply at the block (`venue.ChainVenue.supply` reads totalSupply there).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from defiscope.analytics.grades.catalog import GRADED
from defiscope.analytics.indices.backtest import BacktestRefused, PricePoint
from defiscope.analytics.indices.definition import IndexDefinition
from defiscope.analytics.indices.weights import Candidate
from defiscope.deployments import Deployment
from defiscope.prices.quote import PriceQuote
from defiscope.store.repository import Repository

SECONDS_PER_DAY: Final = 86_400
#: The category of a token a definition names (fixed weights) that no graded protocol family issues.
UNCATEGORISED: Final = "Uncategorised"


@dataclass(frozen=True, slots=True)
class Listing:
    """A token the index may hold: its protocol family's category and adapter slugs (for TVL), and its address
    and decimals on the backtest's chain (None when the chain's registry does not list it)."""

    symbol: str
    category: str
    tvl_slugs: tuple[str, ...]
    address: str | None
    decimals: int | None


#: Raw supply of a listed token at a block (the circulating supply's stand-in), None when unknown there.
SupplySource = Callable[[Listing, PricePoint], int | None]


def listings_for(deployment: Deployment, definition: IndexDefinition) -> list[Listing]:
    """Every graded family's governance token, and any token the definition names, with its place on the chain."""
    families = {p.token: p for p in GRADED.values()}
    symbols = sorted(set(families) | set(definition.weighting.weights or {}))
    listings = []
    for symbol in symbols:
        family = families.get(symbol)
        info = deployment.tokens.get(symbol)
        listings.append(
            Listing(
                symbol,
                family.category if family else UNCATEGORISED,
                family.members if family else (),
                None if info is None else info.address,
                None if info is None else info.decimals,
            )
        )
    return listings


@dataclass(frozen=True, slots=True)
class _Quotes:
    """One token's stored quotes, oldest first, with their times for bisection."""

    quotes: tuple[PriceQuote, ...]
    times: tuple[int, ...]

    def at(self, block: int, timestamp: int) -> PriceQuote | None:
        """The newest quote known at the block: at or before its time, and not from a later block; the most
        confident at equal times. Scans back from the block's time (a few quotes), not from the first."""
        newest: list[PriceQuote] = []
        for index in range(bisect.bisect_right(self.times, timestamp) - 1, -1, -1):
            quote = self.quotes[index]
            if newest and quote.timestamp != newest[0].timestamp:
                break
            if quote.block_number is None or quote.block_number <= block:
                newest.append(quote)
        return max(reversed(newest), key=lambda q: q.confidence) if newest else None

    def first_seen(self, block: int) -> int:
        """The time of the first quote known at the block (call it only when `at` found one)."""
        return next(q.timestamp for q in self.quotes if q.block_number is None or q.block_number <= block)


@dataclass(frozen=True, slots=True)
class _Tvl:
    """One adapter's stored TVL on the chain: (block, USD) oldest first."""

    blocks: tuple[int, ...]
    usd: tuple[Decimal, ...]

    def at(self, block: int) -> Decimal | None:
        end = bisect.bisect_right(self.blocks, block)
        return self.usd[end - 1] if end else None


class StoreHistory:
    """A chain's stored blocks in a range, and its listings' quotes and TVL, answered as of each block."""

    def __init__(
        self,
        blocks: Sequence[tuple[int, int]],
        listings: Sequence[Listing],
        quotes: Mapping[str, _Quotes],
        tvl: Mapping[str, _Tvl],
        supplies: SupplySource | None,
        chain_id: int = 1,
    ) -> None:
        self._chain_id = chain_id
        self._blocks = tuple(blocks)
        self._listings = tuple(listings)
        self._quotes = quotes
        self._tvl = tvl
        self._supplies = supplies

    @classmethod
    def load(
        cls,
        repo: Repository,
        deployment: Deployment,
        listings: Sequence[Listing],
        from_block: int | None = None,
        to_block: int | None = None,
        supplies: SupplySource | None = None,
        *,
        extra: Sequence[Listing] = (),
    ) -> StoreHistory:
        """Read the range (default: all stored history); a range outside it is refused, naming the bounds."""
        chain = deployment.chain_id
        first, last = stored_range(repo, chain, from_block, to_block)
        blocks = repo.blocks_between(chain, first, last)
        start, end = blocks[0].timestamp, blocks[-1].timestamp
        everything = [*listings, *extra]
        quotes = {
            item.symbol: _quotes(_visible_quotes(repo, chain, item.address, start, end))
            for item in everything
            if item.address is not None
        }
        slugs = {slug for item in listings for slug in item.tvl_slugs}
        tvl = {slug: _tvl(repo, slug, chain, start, end) for slug in sorted(slugs)}
        return cls([(b.number, b.timestamp) for b in blocks], listings, quotes, tvl, supplies, chain)

    def points(self) -> list[PricePoint]:
        """Every block with the price of each token known at it (a token without one is absent)."""
        points = []
        for block, timestamp in self._blocks:
            prices = {}
            for symbol, quotes in self._quotes.items():
                quote = quotes.at(block, timestamp)
                if quote is not None:
                    prices[symbol] = quote.usd
            points.append(PricePoint(block, timestamp, prices))
        return points

    def candidates(self, point: PricePoint) -> list[Candidate]:
        """The listings' figures known at the point's block."""
        return [self._candidate(item, point) for item in self._listings]

    def why_unknown(self, point: PricePoint) -> dict[str, str]:
        """Why a listing has no price (hence no market cap, liquidity or age) or no supply at the block."""
        notes = {}
        for item in self._listings:
            quotes = self._quotes.get(item.symbol)
            if item.address is None:
                notes[item.symbol] = f"not in chain {self._chain_id}'s token registry"
            elif quotes is None or quotes.at(point.block, point.timestamp) is None:
                notes[item.symbol] = f"no stored price at or before block {point.block}"
            elif self._supplies is not None and self._supplies(item, point) is None:
                notes[item.symbol] = f"no totalSupply at block {point.block}"
        return notes

    def _candidate(self, item: Listing, point: PricePoint) -> Candidate:
        quotes = self._quotes.get(item.symbol)
        quote = None if quotes is None else quotes.at(point.block, point.timestamp)
        age = None
        if quotes is not None and quote is not None:
            first_seen = next(
                q.timestamp for q in quotes.quotes if q.block_number is None or q.block_number <= point.block
            )
            age = (point.timestamp - first_seen) // SECONDS_PER_DAY
        return Candidate(
            item.symbol,
            item.category,
            age_days=age,
            tvl_usd=self._family_tvl(item, point.block),
            liquidity_usd=None if quote is None else quote.liquidity_usd,
            mcap_usd=self._mcap(item, point, quote),
        )

    def _family_tvl(self, item: Listing, block: int) -> Decimal | None:
        known = [figure for slug in item.tvl_slugs if (figure := self._tvl[slug].at(block)) is not None]
        return sum(known, Decimal(0)) if known else None

    def _mcap(self, item: Listing, point: PricePoint, quote: PriceQuote | None) -> Decimal | None:
        if quote is None or self._supplies is None or item.decimals is None:
            return None
        supply = self._supplies(item, point)
        return None if supply is None else quote.usd * Decimal(supply).scaleb(-item.decimals)


def stored_range(repo: Repository, chain_id: int, from_block: int | None, to_block: int | None) -> tuple[int, int]:
    """The range asked for, checked against the chain's stored blocks; defaults to all of them."""
    span = repo.block_span(chain_id)
    if span is None:
        raise BacktestRefused(f"no stored blocks for chain {chain_id}: index the chain first", field="from_block")
    first, last = from_block if from_block is not None else span[0], to_block if to_block is not None else span[1]
    if first > last:
        raise BacktestRefused(f"--from-block {first} is after --to-block {last}", field="from_block")
    if first < span[0] or last > span[1]:
        field = "from_block" if first < span[0] else "to_block"
        raise BacktestRefused(
            f"blocks {first}..{last} are outside the stored history of chain {chain_id} ({span[0]}..{span[1]})",
            field=field,
        )
    return first, last


def _quotes(stored: Sequence[PriceQuote]) -> _Quotes:
    ordered = tuple(sorted(stored, key=lambda q: (q.timestamp, q.confidence)))
    return _Quotes(ordered, tuple(q.timestamp for q in ordered))


def _visible_quotes(repo: Repository, chain_id: int, token: str, start_ts: int, end_ts: int) -> list[PriceQuote]:
    """The token's quotes a block in [start_ts, end_ts] can see: its first (its age), and every quote from the
    newest time before `start_ts` on."""
    before = repo.latest_price(chain_id, token, at=start_ts - 1)
    seen = repo.prices(chain_id, token, start_ts=start_ts if before is None else before.timestamp, end_ts=end_ts)
    first = repo.first_price(chain_id, token)
    if first is None or (seen and seen[0].timestamp == first.timestamp):
        return seen
    return [first, *seen]


def _tvl(repo: Repository, slug: str, chain_id: int, start_ts: int, end_ts: int) -> _Tvl:
    """The adapter's snapshots a block in [start_ts, end_ts] can see: from the newest before `start_ts` on."""
    before = repo.snapshot_time_before(slug, chain_id, start_ts - 1)
    since = start_ts if before is None else before
    points = sorted(repo.history(slug, chain_id, start_ts=since, end_ts=end_ts), key=lambda p: p.block.number)
    return _Tvl(tuple(p.block.number for p in points), tuple(p.tvl_usd for p in points))
