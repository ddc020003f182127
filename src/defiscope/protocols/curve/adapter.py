"""Curve pools: TVL = each pool's balances of each coin, as its registry or factory reports them.

Pools come from every listing contract the deployment has (`curve.sources`): the main registry (found through
the AddressProvider's ``get_address(0)`` where the chain has one), the stable, stable-ng, crypto,
twocrypto-ng and tricrypto-ng factories (``pool_count`` / ``pool_list``; ``get_coins`` / ``get_balances``),
plus any contract registered as ``Curve<Name>Pool`` that none of them lists (read with ``coins(i)`` /
``balances(i)``). A pool's coins never change, so they are read once and cached.

Two mainnet facts shape the figure:

- ``0xEeee…EEeE`` is native ETH: its balance (the pool's own accounting) is reported as WETH, priced as ETH;
- a coin that is the LP token of another Curve pool read in the same snapshot (3CRV in a metapool) is a claim
  on that pool's coins, which are already counted: it is left out of the positions and listed in
  ``nested`` (pool -> those LP tokens), so Curve's own TVL counts the underlying once.

Yields: each pool's LP fee APR, from the growth of ``get_virtual_price()`` over a trailing day
(`protocols.lp_fees`); market is the pool, asset its LP token, symbol its coins ("DAI-USDC-USDT").

    adapter = CurveAdapter(deployment)
    positions = await adapter.positions(reader)   # one Position per (pool, coin), nested LP tokens left out
    rates = await adapter.yields(reader)          # adapter.lp_fee_unavailable: pool -> why it has none
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from defiscope.chain.block import BlockRef
from defiscope.chain.multicall import Call, CallResult
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.protocols.base import Adapter, BalanceKind, Position, Uncounted
from defiscope.protocols.curve.info import CURVE
from defiscope.protocols.curve.sources import (
    ADDRESS_PROVIDER,
    ADMIN_FEE,
    GET_ADDRESS,
    MAIN_REGISTRY_ID,
    POOL_COUNT,
    POOL_LIST,
    SOURCES,
    PoolMath,
)
from defiscope.protocols.curve.surface import NAMED, NAMED_POOL_CALLS, curve_surface, pools_kind
from defiscope.protocols.lp_fees import CURVE_LP_FEES, LP_FEE_WINDOW
from defiscope.protocols.lp_window import LpFeeTracker, LpPool, pool_symbol, split_results
from defiscope.protocols.revenue import knob_share
from defiscope.protocols.surface import ContractUse
from defiscope.protocols.yields import Yield, YieldGap

__all__ = ["CURVE", "NATIVE_ETH", "CurveAdapter", "CurvePool", "has_curve", "route_exclusion"]

POOL_NAME: Final = re.compile(r"^Curve\w*Pool$")
REGISTRY: Final = "CurveRegistry"
MAX_COINS: Final = 8
ZERO_ADDRESS: Final = "0x0000000000000000000000000000000000000000"
#: Curve's placeholder for native ETH in ``coins(i)``; valued as the chain's wrapped ether.
NATIVE_ETH: Final = "0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE"
WRAPPED_NATIVE: Final = "WETH"


@dataclass(frozen=True, slots=True)
class CurvePool:
    address: str
    coins: tuple[str, ...]
    lp_token: str
    source: str = NAMED  # the registry or factory listing it
    math: PoolMath = PoolMath.STABLESWAP


def has_curve(deployment: Deployment) -> bool:
    listing = {REGISTRY, ADDRESS_PROVIDER, *(s.name for s in SOURCES)}
    return any(name in listing or POOL_NAME.match(name) for name in deployment.contracts)


def route_exclusion(pool: CurvePool, curve_lp_tokens: set[str]) -> str | None:
    """Why routing must not quote through ``pool`` (None: its math is ours exactly).

    ``curve_lp_tokens`` are the lowercase LP tokens of the Curve pools known alongside it."""
    listed_by = next((s for s in SOURCES if s.name == pool.source), None)
    if listed_by is not None and listed_by.unrouted is not None:
        return listed_by.unrouted
    if any(c.lower() == NATIVE_ETH.lower() for c in pool.coins):
        return "holds native ETH: routes and swap transactions are ERC-20 only"
    if any(c.lower() in curve_lp_tokens for c in pool.coins):
        return "metapool: its base pool's LP coin is rated at the base pool's virtual price, not modelled"
    return None


#: What to read of one pool, given the sources' addresses (balances, virtual price).
PoolReads = Callable[[CurvePool, Mapping[str, str]], list[Call]]


class CurveAdapter(Adapter):
    info = CURVE

    def __init__(self, deployment: Deployment, *, lp_fee_window: int = LP_FEE_WINDOW) -> None:
        super().__init__(deployment)
        contracts = deployment.contracts
        self.named = tuple(a for name, a in sorted(contracts.items()) if POOL_NAME.match(name))
        self.address_provider = contracts.get(ADDRESS_PROVIDER)
        self.sources = tuple(
            s for s in SOURCES if s.name in contracts or (s.name == REGISTRY and self.address_provider is not None)
        )
        self.pools: dict[str, CurvePool] = {}  # by address; coins are immutable
        # The listing as last read: sources' addresses, their pool counts, the pools in reading order. Lists
        # only grow and pool_list(i) never changes, so equal addresses and counts mean the same listing.
        self._addresses: dict[str, str] = {}
        self._counts: tuple[int, ...] = ()
        self._order: list[str] = []
        self.nested: dict[str, tuple[str, ...]] = {}  # of the latest positions: pool -> Curve LP coins left out
        # Named pools whose coins could not be read (pool -> why): listed as not counted, retried at each read.
        self.undescribed: dict[str, str] = {}
        self.lp_fees = LpFeeTracker(CURVE.slug, CURVE_LP_FEES, lp_fee_window)
        self.lp_fee_unavailable: dict[str, str] = {}  # of the latest `yields`: pool -> why it has no rate
        self.listed_to: int | None = None  # the newest block whose listing was read

    def receipt_tokens(self) -> list[str]:
        return [pool.lp_token for pool in self.pools.values()]

    def found_contracts(self, block: int) -> dict[str, tuple[str, ...]] | None:
        """The pools of the newest listing read, by the source listing each, once a read reached ``block``
        (listings only grow: a pool listed after ``block`` may be among them)."""
        if self.listed_to is None or self.listed_to < block:
            return None
        found: dict[str, list[str]] = {}
        for address in self._order:
            found.setdefault(pools_kind(self.pools[address].source), []).append(address)
        return {kind: tuple(addresses) for kind, addresses in found.items()}

    def surface(self) -> tuple[ContractUse, ...]:
        return curve_surface(self.deployment.contracts, self.sources, has_named=bool(self.named))

    async def positions(self, reader: Reader) -> list[Position | Uncounted]:
        """One position per (pool, coin); a pool whose balances cannot be read is one `Uncounted` per coin (its
        tokens stay known, so their prices can still be shown) and the other pools stand."""
        read = await self._per_pool(reader, self._balance_calls)
        pools = [pool for pool, _ in read]
        lp_tokens = {p.lp_token.lower() for p in pools}
        positions: list[Position | Uncounted] = []
        nested = {}
        for pool, results in read:
            inner = tuple(c for c in pool.coins if c.lower() in lp_tokens)
            if inner:
                nested[pool.address] = inner
            coins = [c for c in pool.coins if c.lower() not in lp_tokens]
            failed = next((r for r in results if not r.success), None)
            if failed is not None:
                reason = f"{failed.call.describe()} failed: {failed.error}"
                positions += [
                    Uncounted(pool.address, self._valued_as(coin), reason, self._label(pool, coin)) for coin in coins
                ]
                continue
            amounts = dict(zip(pool.coins, self._amounts(pool, results), strict=True))
            positions += [
                Position(self._valued_as(coin), amounts[coin], BalanceKind.TVL, pool.address, self._label(pool, coin))
                for coin in coins
            ]
        self.nested = nested
        positions += [Uncounted(a, None, why, f"Curve pool {a} (coins unknown)") for a, why in self.undescribed.items()]
        return positions

    def yield_gaps(self, block: BlockRef) -> tuple[YieldGap, ...]:
        return self.lp_fees.gaps_at(block)

    async def yields(self, reader: Reader) -> list[Yield]:
        """LP fee APR of every pool (`protocols.lp_fees`); a pool without one is in `lp_fee_unavailable`. Each
        carries the pool's admin fee (the protocol's share of its swap fees), read in the same batch."""
        read = await self._per_pool(reader, lambda pool, _: [*CURVE_LP_FEES.reads(pool.address), _admin_fee(pool)])
        # The virtual price also moves without a log (an amplification ramp): every pool is read at every block.
        lp_pools = [
            LpPool(p.address, p.lp_token, pool_symbol(self.deployment, p.coins), None, knob_share(CURVE.slug, r[-1]))
            for p, r in read
        ]
        rates = await self.lp_fees.rates(reader, lp_pools, [r[:-1] for _, r in read])
        self.lp_fee_unavailable = rates.unavailable
        return rates.yields

    def _valued_as(self, coin: str) -> str:
        wrapped = self.deployment.tokens.get(WRAPPED_NATIVE)
        return wrapped.address if coin.lower() == NATIVE_ETH.lower() and wrapped is not None else coin

    @staticmethod
    def _label(pool: CurvePool, coin: str) -> str:
        native = " (native ETH)" if coin.lower() == NATIVE_ETH.lower() else ""
        return f"Curve pool {pool.address}{native}"

    async def _per_pool(self, reader: Reader, reads: PoolReads) -> list[tuple[CurvePool, list[CallResult]]]:
        """Every pool at the reader's block with the results of ``reads(pool, source addresses)``.

        After the first read this is one batch: the sources' addresses and pool counts go out with the known
        pools' reads; only a changed listing (new pools, a moved registry, an older block) costs more rounds."""
        addresses, known = dict(self._addresses), [self.pools[a] for a in self._order]
        control = self._control_calls(addresses)
        groups = [reads(pool, addresses) for pool in known]
        results = await reader.call_many([*control, *(c for group in groups for c in group)])
        # A pool that could not be described is retried, so the listing is read again while one is missing.
        listing = (addresses, self._counts)
        if control and not self.undescribed and self._listing(results[: len(control)], addresses) == listing:
            self.listed_to = max(self.listed_to or 0, reader.block.number)
            return list(zip(known, split_results(results[len(control) :], map(len, groups)), strict=True))
        pools, addresses = await self._read_pools(reader)
        self.listed_to = max(self.listed_to or 0, reader.block.number)
        groups = [reads(pool, addresses) for pool in pools]
        fresh = await reader.call_many([c for group in groups for c in group])
        return list(zip(pools, split_results(fresh, map(len, groups)), strict=True))

    def _control_calls(self, addresses: Mapping[str, str]) -> list[Call]:
        """The main registry's address (from the AddressProvider) and every source's pool count."""
        if not addresses:
            return []
        calls = [Call.of(self.address_provider, GET_ADDRESS, MAIN_REGISTRY_ID)] if self.address_provider else []
        return calls + [Call.of(addresses[s.name], POOL_COUNT) for s in self.sources if s.name in addresses]

    def _listing(
        self, results: Sequence[CallResult], addresses: Mapping[str, str]
    ) -> tuple[dict[str, str], tuple[int, ...]] | None:
        """The listing the control calls describe, or None when one failed (then the full path says why)."""
        if not all(r.success for r in results):
            return None
        values = [r.one() for r in results]
        current = dict(addresses)
        if self.address_provider is not None:
            current[REGISTRY] = values.pop(0)
        return current, tuple(values)

    async def _read_pools(self, reader: Reader) -> tuple[list[CurvePool], dict[str, str]]:
        """The pools at the reader's block and the sources' addresses; pools new to the cache are described,
        and the listing is remembered for the next read."""
        addresses = await self._source_addresses(reader)
        listed, counts = await self._listed(reader, addresses)
        missing = [(a, s) for a, s in listed.items() if a not in self.pools]
        pools, self.undescribed = await self._describe(reader, addresses, missing)
        for pool in pools:
            self.pools[pool.address] = pool
        order = [a for a in listed if a in self.pools]
        self._addresses, self._counts, self._order = addresses, counts, order
        return [self.pools[a] for a in order], addresses

    async def _source_addresses(self, reader: Reader) -> dict[str, str]:
        """Each source's address; the main registry's as the AddressProvider names it at this block."""
        addresses = {s.name: self.deployment.contracts[s.name] for s in self.sources if s.name != REGISTRY}
        if any(s.name == REGISTRY for s in self.sources):
            if self.address_provider is not None:
                call = Call.of(self.address_provider, GET_ADDRESS, MAIN_REGISTRY_ID)
                (addresses[REGISTRY],) = self.require([await reader.call(call)])
            else:
                addresses[REGISTRY] = self.deployment.contracts[REGISTRY]
        return addresses

    async def _listed(self, reader: Reader, addresses: dict[str, str]) -> tuple[dict[str, str], tuple[int, ...]]:
        """Pool address -> the name of the first source listing it (or `NAMED`), in reading order; and each
        source's pool count."""
        sources = [s for s in self.sources if s.name in addresses]
        counts = self.require(await reader.call_many([Call.of(addresses[s.name], POOL_COUNT) for s in sources]))
        calls = [
            Call.of(addresses[s.name], POOL_LIST, i) for s, n in zip(sources, counts, strict=True) for i in range(n)
        ]
        listed_by = iter(self.require(await reader.call_many(calls)))
        listed: dict[str, str] = {}
        for s, n in zip(sources, counts, strict=True):
            for _ in range(n):
                listed.setdefault(next(listed_by), s.name)
        for address in self.named:
            listed.setdefault(address, NAMED)
        return listed, tuple(counts)

    async def _describe(
        self, reader: Reader, addresses: dict[str, str], missing: Sequence[tuple[str, str]]
    ) -> tuple[list[CurvePool], dict[str, str]]:
        """The missing pools described, and the named ones that could not be (pool -> why)."""
        by_name = {s.name: s for s in self.sources}
        listed = [(a, by_name[s]) for a, s in missing if s != NAMED]
        named = [a for a, s in missing if s == NAMED]
        calls = [Call.of(addresses[s.name], s.coins, a) for a, s in listed]
        calls += [Call.of(addresses[s.name], s.lp_token, a) for a, s in listed if s.lp_token]
        values = iter(self.require(await reader.call_many(calls)))
        coins = [tuple(c for c in next(values) if c != ZERO_ADDRESS) for _ in listed]
        pools = [
            CurvePool(a, cs, next(values) if s.lp_token else a, s.name, s.math)
            for (a, s), cs in zip(listed, coins, strict=True)
        ]
        described, failed = await self._describe_named(reader, named)
        return pools + described, failed

    async def _describe_named(self, reader: Reader, addresses: list[str]) -> tuple[list[CurvePool], dict[str, str]]:
        """coins(i) until the first failure; such a pool (factory style) is its own LP token. A pool without two
        coins (its code reverts, it is no pool) is returned apart, with why: it alone is not counted."""
        if not addresses:
            return [], {}
        coins_of = NAMED_POOL_CALLS[0]
        results = await reader.call_many([Call.of(a, coins_of, i) for a in addresses for i in range(MAX_COINS)])
        pools, failed = [], {}
        for k, address in enumerate(addresses):
            mine = results[k * MAX_COINS : (k + 1) * MAX_COINS]
            broken = next((r for r in mine[:2] if not r.success), None)  # a pool has at least two coins
            if broken is not None:
                failed[address] = f"{broken.call.describe()} failed: {broken.error}"
                continue
            coins = []
            for result in mine:
                if not result.success:
                    break
                coins.append(result.value[0])
            pools.append(CurvePool(address, tuple(coins), address))
        return pools, failed

    def _balance_calls(self, pool: CurvePool, addresses: Mapping[str, str]) -> list[Call]:
        """The source's get_balances for a listed pool, the pool's balances(i) for a named one."""
        if pool.source == NAMED:
            return [Call.of(pool.address, NAMED_POOL_CALLS[1], i) for i in range(len(pool.coins))]
        source = next(s for s in self.sources if s.name == pool.source)
        return [Call.of(addresses[pool.source], source.balances, pool.address)]

    def _amounts(self, pool: CurvePool, results: Sequence[CallResult]) -> tuple[int, ...]:
        values = self.require(results)
        return tuple(values) if pool.source == NAMED else tuple(values[0][: len(pool.coins)])


def _admin_fee(pool: CurvePool) -> Call:
    """The pool's admin fee call: its source's (`PoolSource.admin_fee`), classic pools' for a pool by name."""
    listed_by = next((s for s in SOURCES if s.name == pool.source), None)
    return Call.of(pool.address, ADMIN_FEE if listed_by is None else listed_by.admin_fee)
