"""Block-pinned router quotes for a backtest: the chain edge of `backtest.Venue` (reads a node; no math).

At a rebalance block, `ChainVenue` reads the routed pools' state at that block (`routing.load.load_pools`
through a `Reader` pinned there), the block's base fee from its header, and the listed tokens' totalSupply
there (the market cap's supply). `FixedFeeVenue` is the fixed-fee cost model on the same interface.

    with ChainVenue(deployment, rpc_urls, load_refs) as venue:   # load_refs(client) -> the pools to route over
        result = run_backtest(definition, points, decimals, history, venue)

The backtest loop is synchronous (pure); the venue runs its reads on its own event loop, one block at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from types import TracebackType
from typing import Any, TypeVar

from defiscope.analytics.indices.backtest import PricePoint
from defiscope.analytics.indices.history import Listing
from defiscope.analytics.indices.quoting import RouterQuoter
from defiscope.analytics.indices.rebalance import FixedFeeQuoter, Market, Quoter
from defiscope.chain.client import ChainClient
from defiscope.chain.multicall import Call
from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.errors import DefiscopeError
from defiscope.routing.load import PoolRef, load_pools
from defiscope.routing.pools import Pool

T = TypeVar("T")
#: The pools to route over, found with the venue's client (the devnet's seeded pools, a registry's discovered ones).
RefsLoader = Callable[[ChainClient], Awaitable[Sequence[PoolRef]]]


class NoBaseFee(DefiscopeError):
    """The block's header has no base fee (a chain before EIP-1559): its gas cannot be priced."""


class ChainVenue:
    """Exact router quotes, base fees and supplies read from a node at each block asked."""

    def __init__(
        self, deployment: Deployment, rpc_urls: Sequence[str], refs: RefsLoader, *, max_routes: int = 1
    ) -> None:
        self._deployment = deployment
        self._load_refs = refs
        self._refs: tuple[PoolRef, ...] | None = None
        self._max_routes = max_routes
        self._loop = asyncio.new_event_loop()
        self._client = ChainClient.connect(deployment.chain_id, list(rpc_urls))
        self._supplies: dict[int, dict[str, int | None]] = {}
        self.addresses = {symbol: info.address for symbol, info in deployment.tokens.items()}

    def __enter__(self) -> ChainVenue:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._run(self._client.aclose())
        self._loop.close()

    @property
    def cost_model(self) -> str:
        return "router quotes on each rebalance block's pools, gas at its base fee"

    def base_fee(self, point: PricePoint) -> int:
        header = self._run(self._client.rpc.request("eth_getBlockByNumber", [hex(point.block), False]))
        fee = header.get("baseFeePerGas") if isinstance(header, dict) else None
        if fee is None:
            raise NoBaseFee(f"block {point.block} of chain {self._deployment.chain_id} has no base fee")
        return int(fee, 16)

    def quoter(self, market: Market) -> RouterQuoter:
        pools = self._run(self._pools_at(market.block))
        return RouterQuoter({p.address: p for p in pools}, self.addresses, self._max_routes)

    def supply(self, listing: Listing, point: PricePoint) -> int | None:
        """The token's totalSupply at the block (None when it is not on the chain or the call fails)."""
        if point.block not in self._supplies:
            self._supplies[point.block] = self._run(self._total_supplies(point.block))
        return self._supplies[point.block].get(listing.symbol)

    async def _pools_at(self, block: int) -> list[Pool]:
        if self._refs is None:  # found once, on first use: a backtest refused earlier reads no pools
            self._refs = tuple(await self._load_refs(self._client))
        snapshot = await self._client.snapshot(block)
        return await load_pools(Batcher(snapshot).reader("indices"), self._refs)

    async def _total_supplies(self, block: int) -> dict[str, int | None]:
        symbols = sorted(self.addresses)
        calls = [Call.of(self.addresses[s], "totalSupply()(uint256)") for s in symbols]
        results = await self._client.call_many(calls, block)
        return {s: int(r.one()) if r.success else None for s, r in zip(symbols, results, strict=True)}

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        return self._loop.run_until_complete(work)


@dataclass(frozen=True, slots=True)
class FixedFeeVenue:
    """The cost model of backtests elsewhere: a fixed fee per trade at the block's prices, no gas."""

    fee: Fraction

    @property
    def cost_model(self) -> str:
        return f"fixed fee {self.fee * 10_000} bp at the block's prices, no gas"

    def base_fee(self, point: PricePoint) -> int:
        return 0

    def quoter(self, market: Market) -> Quoter:
        return FixedFeeQuoter(market, self.fee)


def decimals_of(deployment: Deployment) -> Mapping[str, int]:
    return {symbol: info.decimals for symbol, info in deployment.tokens.items()}
