"""Curve StableSwap pools: TVL = each pool's ``balances(i)`` of each coin (what LPs own; admin fees excluded).

Pools come from the deployment: every contract registered as ``Curve<Name>Pool`` (the devnet's pools, the
mainnet 3pool), plus, where the chain has one, every pool of the ``CurveRegistry`` (``pool_count``,
``pool_list``), whose ``get_coins`` / ``get_balances`` / ``get_lp_token`` also cover old pools with int128
getters. A pool's coins never change, so they are read once and cached. Yields: each pool's LP fee APR,
from the growth of ``get_virtual_price()`` over a trailing day (`protocols.lp_fees`); market is the pool,
asset its LP token, symbol its coins ("DAI-USDC-USDT").

    adapter = CurveAdapter(deployment)
    positions = await adapter.positions(reader)   # one Position per (pool, coin)
    rates = await adapter.yields(reader)          # adapter.lp_fee_unavailable: pool -> why it has none
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from defiscope.chain.multicall import Call
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.protocols.base import Adapter, BalanceKind, Position, ProtocolInfo
from defiscope.protocols.lp_fees import CURVE_LP_FEES, LP_FEE_WINDOW
from defiscope.protocols.lp_window import LpFeeTracker, LpPool, pool_symbol, split_results
from defiscope.protocols.yields import Yield

CURVE: Final = ProtocolInfo(
    slug="curve",
    name="Curve",
    category="Dexes",
    methodology="The balances (balances(i)) of every coin of every Curve pool in the registry, admin fees excluded.",
    url="https://curve.fi",
)
POOL_NAME: Final = re.compile(r"^Curve\w*Pool$")
REGISTRY: Final = "CurveRegistry"
MAX_COINS: Final = 8
ZERO_ADDRESS: Final = "0x0000000000000000000000000000000000000000"


@dataclass(frozen=True, slots=True)
class CurvePool:
    address: str
    coins: tuple[str, ...]
    lp_token: str


def has_curve(deployment: Deployment) -> bool:
    return REGISTRY in deployment.contracts or any(POOL_NAME.match(name) for name in deployment.contracts)


class CurveAdapter(Adapter):
    info = CURVE

    def __init__(self, deployment: Deployment, *, lp_fee_window: int = LP_FEE_WINDOW) -> None:
        super().__init__(deployment)
        self.named = tuple(a for name, a in sorted(deployment.contracts.items()) if POOL_NAME.match(name))
        self.registry = deployment.contracts.get(REGISTRY)
        self.pools: dict[str, CurvePool] = {}  # by address; coins are immutable
        self.lp_fees = LpFeeTracker(CURVE.slug, CURVE_LP_FEES, lp_fee_window)
        self.lp_fee_unavailable: dict[str, str] = {}  # of the latest `yields`: pool -> why it has no rate

    def receipt_tokens(self) -> list[str]:
        return [pool.lp_token for pool in self.pools.values()]

    async def positions(self, reader: Reader) -> list[Position]:
        pools = await self._current_pools(reader)
        balances = await self._balances(reader, pools)
        return [
            Position(coin, amount, BalanceKind.TVL, pool.address, f"Curve pool {pool.address}")
            for pool, amounts in zip(pools, balances, strict=True)
            for coin, amount in zip(pool.coins, amounts, strict=True)
        ]

    async def yields(self, reader: Reader) -> list[Yield]:
        """LP fee APR of every pool (`protocols.lp_fees`); a pool without one is in `lp_fee_unavailable`."""
        pools = await self._current_pools(reader)
        calls = [CURVE_LP_FEES.reads(pool.address) for pool in pools]
        results = split_results(await reader.call_many([c for group in calls for c in group]), map(len, calls))
        rates = await self.lp_fees.rates(
            reader,
            (
                (LpPool(p.address, p.lp_token, pool_symbol(self.deployment, p.coins)), r)
                for p, r in zip(pools, results, strict=True)
            ),
        )
        self.lp_fee_unavailable = rates.unavailable
        return rates.yields

    async def _current_pools(self, reader: Reader) -> list[CurvePool]:
        """The pools at the reader's block; coins and LP tokens of pools new to the cache are read once."""
        addresses = await self._pool_addresses(reader)
        missing = [a for a in addresses if a not in self.pools]
        if missing:
            for pool in await (self._describe_by_registry if self.registry else self._describe)(reader, missing):
                self.pools[pool.address] = pool
        return [self.pools[a] for a in addresses]

    async def _pool_addresses(self, reader: Reader) -> list[str]:
        if self.registry is None:
            return list(self.named)
        (count,) = self.require([await reader.call(Call.of(self.registry, "pool_count()(uint256)"))])
        listed = self.require(
            await reader.call_many([Call.of(self.registry, "pool_list(uint256)(address)", i) for i in range(count)])
        )
        return list(dict.fromkeys([*self.named, *listed]))

    async def _describe(self, reader: Reader, addresses: list[str]) -> list[CurvePool]:
        """coins(i) until the first failure, and lp_token() (a pool that is its own LP token has none)."""
        calls = [Call.of(a, "coins(uint256)(address)", i) for a in addresses for i in range(MAX_COINS)]
        calls += [Call.of(a, "lp_token()(address)") for a in addresses]
        results = await reader.call_many(calls)
        pools = []
        for k, address in enumerate(addresses):
            coins: list[str] = []
            for result in results[k * MAX_COINS : (k + 1) * MAX_COINS]:
                if not result.success:
                    break
                coins.append(result.value[0])
            self.require(results[k * MAX_COINS : k * MAX_COINS + 2])  # a pool has at least two coins
            lp = results[len(addresses) * MAX_COINS + k]
            pools.append(CurvePool(address, tuple(coins), lp.value[0] if lp.success else address))
        return pools

    async def _describe_by_registry(self, reader: Reader, addresses: list[str]) -> list[CurvePool]:
        assert self.registry is not None
        registry = self.registry
        calls = [Call.of(registry, "get_coins(address)(address[8])", a) for a in addresses]
        calls += [Call.of(registry, "get_lp_token(address)(address)", a) for a in addresses]
        values = self.require(await reader.call_many(calls))
        return [
            CurvePool(a, tuple(c for c in coins if c != ZERO_ADDRESS), lp)
            for a, coins, lp in zip(addresses, values[: len(addresses)], values[len(addresses) :], strict=True)
        ]

    async def _balances(self, reader: Reader, pools: list[CurvePool]) -> list[tuple[int, ...]]:
        if self.registry is not None:
            calls = [Call.of(self.registry, "get_balances(address)(uint256[8])", p.address) for p in pools]
            return [
                tuple(b[: len(p.coins)])
                for p, b in zip(pools, self.require(await reader.call_many(calls)), strict=True)
            ]
        calls = [Call.of(p.address, "balances(uint256)(uint256)", i) for p in pools for i in range(len(p.coins))]
        values = iter(self.require(await reader.call_many(calls)))
        return [tuple(next(values) for _ in p.coins) for p in pools]
