"""A synthetic market for index backtests where no long stored history exists: benchmarks and tests only.

A devnet has hours of history, not a year. This writes one: a block a day, each governance token's price a
seeded geometric random walk (exact `Decimal`s to 8 places), its protocol family's TVL drifting with it, and a
Uniswap V2 pair per token against WETH whose reserves hold a fixed USD depth at that day's price (as arbitrage
would leave them). Blocks, prices (with their pools' depth as liquidity) and TVL snapshots go into a real
store, so a backtest reads them through `history.StoreHistory` as it reads indexed history; the pairs are pure
`routing.pools.V2Pool`s, so its trades are quoted by the real router search (`SyntheticVenue`).

    market = SyntheticMarket.generate(days=365, seed=7)
    market.write(repo)                                      # blocks, prices, TVL snapshots of chain 1
    history = StoreHistory.load(repo, market.deployment(), market.listings(definition), supplies=market.supply)
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Final

from defiscope.analytics.grades.catalog import GRADED
from defiscope.analytics.indices.backtest import PricePoint
from defiscope.analytics.indices.definition import IndexDefinition
from defiscope.analytics.indices.history import Listing, listings_for
from defiscope.analytics.indices.quoting import RouterQuoter
from defiscope.analytics.indices.rebalance import Market
from defiscope.chain.block import BlockRef
from defiscope.deployments import Deployment, TokenInfo
from defiscope.prices.quote import PriceQuote
from defiscope.protocols.base import BalanceKind
from defiscope.protocols.uniswap.v2_math import UNISWAP_V2_FEE
from defiscope.routing.pools import Pool, V2Pool
from defiscope.store.repository import Repository
from defiscope.tvl.model import ProtocolSnapshot, TokenValue

CHAIN_ID: Final = 1
START_TIMESTAMP: Final = 1_735_689_600  # 2025-01-01 00:00 UTC
FIRST_BLOCK: Final = 21_525_000
BLOCKS_PER_DAY: Final = 7_200
HUB: Final = "WETH"
SOURCE: Final = "synthetic"
#: Below 1: a quote a test adds at full confidence wins against these at equal times.
CONFIDENCE: Final = 0.9
PRICE_PLACES: Final = Decimal("0.00000001")


@dataclass(frozen=True, slots=True)
class TokenModel:
    """A token's starting price, yearly drift and volatility, supply (whole tokens), its WETH pair's USD depth per
    side, and its protocol family's starting TVL."""

    symbol: str
    usd: Decimal
    drift: float
    volatility: float
    supply: int
    depth_usd: int
    tvl_usd: int


#: The eight governance tokens of `grades.catalog`, at 2025-like prices, supplies, pool depths and TVLs.
GOVERNANCE_TOKENS: Final = (
    TokenModel("AAVE", Decimal(300), 0.2, 0.8, 16_000_000, 20_000_000, 20_000_000_000),
    TokenModel("UNI", Decimal(10), 0.1, 0.9, 600_000_000, 30_000_000, 5_000_000_000),
    TokenModel("COMP", Decimal(50), 0.0, 0.9, 9_000_000, 4_000_000, 2_000_000_000),
    TokenModel("CRV", Decimal("0.8"), 0.0, 1.0, 1_300_000_000, 6_000_000, 2_000_000_000),
    TokenModel("LDO", Decimal(2), 0.1, 1.0, 900_000_000, 8_000_000, 30_000_000_000),
    TokenModel("MKR", Decimal(1500), 0.0, 0.7, 880_000, 10_000_000, 6_000_000_000),
    TokenModel("CAKE", Decimal("2.5"), 0.0, 0.8, 280_000_000, 5_000_000, 2_000_000_000),
    TokenModel("EIGEN", Decimal(3), 0.0, 1.2, 200_000_000, 3_000_000, 12_000_000_000),
)
WETH: Final = TokenModel(HUB, Decimal(3000), 0.3, 0.6, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class SyntheticMarket:
    tokens: tuple[TokenModel, ...]
    points: tuple[PricePoint, ...]
    tvl: tuple[dict[str, Decimal], ...]  # family slug -> TVL, per point
    addresses: Mapping[str, str]  # symbol -> the address its quotes are stored under

    @classmethod
    def generate(
        cls,
        *,
        days: int = 365,
        seed: int = 7,
        tokens: Sequence[TokenModel] = GOVERNANCE_TOKENS,
        addresses: Mapping[str, str] | None = None,
    ) -> SyntheticMarket:
        """`days` daily points; quotes stored under `addresses` (a real registry's, say), else made-up ones."""
        rng = random.Random(seed)
        models = (WETH, *tokens)
        prices = {m.symbol: m.usd for m in models}
        families = {p.token: p for p in GRADED.values()}
        tvl_scale = {m.symbol: Decimal(1) for m in tokens}
        points, tvls = [], []
        for day in range(days):
            if day:
                for m in models:
                    prices[m.symbol] = _walk(rng, prices[m.symbol], m)
                for m in tokens:
                    tvl_scale[m.symbol] *= Decimal(str(round(math.exp(rng.gauss(0, 0.02)), 6)))
            block, timestamp = FIRST_BLOCK + day * BLOCKS_PER_DAY, START_TIMESTAMP + day * 86_400
            points.append(PricePoint(block, timestamp, dict(prices)))
            tvls.append(
                {
                    slug: Decimal(m.tvl_usd) * tvl_scale[m.symbol] / len(families[m.symbol].members)
                    for m in tokens
                    for slug in families[m.symbol].members
                }
            )
        known = {m.symbol: address_of(m.symbol) for m in models} | dict(addresses or {})
        return cls(tuple(tokens), tuple(points), tuple(tvls), known)

    def deployment(self) -> Deployment:
        tokens = {m.symbol: TokenInfo(m.symbol, self.addresses[m.symbol], 18) for m in (WETH, *self.tokens)}
        return Deployment(CHAIN_ID, "synthetic", tokens, {}, {}, {}, (HUB,))

    def listings(self, definition: IndexDefinition) -> list[Listing]:
        return listings_for(self.deployment(), definition)

    def hub_listing(self) -> Listing:
        return Listing(HUB, "Hub", (), self.addresses[HUB], 18)

    def supply(self, listing: Listing, point: PricePoint) -> int | None:
        model = next((m for m in self.tokens if m.symbol == listing.symbol), None)
        return None if model is None else model.supply * 10**18

    def pools_at(self, block: int) -> list[Pool]:
        """Each token's WETH pair at the block, holding its USD depth on each side at that day's prices."""
        point = self._point(block)
        weth = point.prices[HUB]
        return [_pair(m, point.prices[m.symbol], weth, self.addresses) for m in self.tokens]

    def write(self, repo: Repository, *, tvl_every_days: int = 7) -> None:
        """Store every point's block and prices, and the families' TVL snapshots every `tvl_every_days` days
        (between two, a block's TVL is the newer one before it, as for any indexed history)."""
        repo.save_blocks([BlockRef(CHAIN_ID, p.block, _hash(p.block), p.timestamp) for p in self.points])
        quotes = [
            PriceQuote(
                CHAIN_ID, self.addresses[symbol], usd, SOURCE, p.timestamp, CONFIDENCE, p.block, self._depth(symbol)
            )
            for p in self.points
            for symbol, usd in p.prices.items()
        ]
        repo.save_prices(quotes)
        snapshots = [
            _snapshot(slug, BlockRef(CHAIN_ID, p.block, _hash(p.block), p.timestamp), usd)
            for day, (p, tvl) in enumerate(zip(self.points, self.tvl, strict=True))
            if day % tvl_every_days == 0
            for slug, usd in tvl.items()
        ]
        repo.save_snapshots(snapshots)

    def _depth(self, symbol: str) -> Decimal | None:
        model = next((m for m in self.tokens if m.symbol == symbol), None)
        return None if model is None else Decimal(model.depth_usd)

    def _point(self, block: int) -> PricePoint:
        return self.points[(block - FIRST_BLOCK) // BLOCKS_PER_DAY]


@dataclass(frozen=True, slots=True)
class SyntheticVenue:
    """Router quotes on the synthetic pairs of each block, gas at a fixed base fee."""

    market: SyntheticMarket
    base_fee_wei: int = 10 * 10**9

    @property
    def cost_model(self) -> str:
        return f"router quotes on the synthetic pairs, gas at {self.base_fee_wei / 10**9:g} gwei"

    def base_fee(self, point: PricePoint) -> int:
        return self.base_fee_wei

    def quoter(self, market: Market) -> RouterQuoter:
        pools = {p.address: p for p in self.market.pools_at(market.block)}
        addresses = {symbol: info.address for symbol, info in self.market.deployment().tokens.items()}
        return RouterQuoter(pools, addresses)


def address_of(symbol: str) -> str:
    """A stable made-up address per symbol (synthetic tokens live on no chain)."""
    return "0x" + symbol.encode().hex().rjust(40, "0")


def _walk(rng: random.Random, price: Decimal, model: TokenModel) -> Decimal:
    daily_sigma = model.volatility / math.sqrt(365)
    step = math.exp(model.drift / 365 - daily_sigma**2 / 2 + daily_sigma * rng.gauss(0, 1))
    return (price * Decimal(str(step))).quantize(PRICE_PLACES)


def _pair(model: TokenModel, usd: Decimal, weth_usd: Decimal, addresses: Mapping[str, str]) -> V2Pool:
    token, weth = addresses[model.symbol], addresses[HUB]
    reserve_token = math.floor(Fraction(model.depth_usd) / Fraction(usd) * 10**18)
    reserve_weth = math.floor(Fraction(model.depth_usd) / Fraction(weth_usd) * 10**18)
    pair = "0x" + (model.symbol + "pair").encode().hex().rjust(40, "0")
    if token < weth:
        return V2Pool("uniswap-v2", pair, token, weth, reserve_token, reserve_weth, UNISWAP_V2_FEE)
    return V2Pool("uniswap-v2", pair, weth, token, reserve_weth, reserve_token, UNISWAP_V2_FEE)


def _hash(block: int) -> str:
    return "0x" + format(block, "064x")


def _snapshot(slug: str, block: BlockRef, usd: Decimal) -> ProtocolSnapshot:
    """A protocol's TVL as one token value: what `StoreHistory` reads is the snapshot's total."""
    value = usd.quantize(Decimal("0.01"))
    token = TokenValue(address_of("TVL"), "TVL", 18, BalanceKind.TVL, 1, None, value)
    return ProtocolSnapshot(slug, CHAIN_ID, block, (token,))
