"""The pools a quote can route through on any chain, found from the deployment registry at one block.

- V2 pairs (Uniswap V2, PancakeSwap V2): the factory's ``getPair(a, b)`` for every pair of known tokens;
- V3 pools (Uniswap V3, PancakeSwap V3): the factory's ``getPool(a, b, fee)`` for every pair and fee tier;
- Curve pools: as the Curve adapter finds them (its registry and factories, ``Curve<Name>Pool`` entries),
  kept where our StableSwap math models them exactly: `route_exclusion` leaves out crypto pools, pools holding
  native ETH and metapools (each with its reason, logged); of the rest, those whose ``A_precise`` answers and
  that have no ``offpeg_fee_multiplier``.

Why look pairs up by token rather than enumerate the factories (as the TVL adapters do): mainnet's V2
factory holds about 400,000 pairs and the V3 factory's ``PoolCreated`` logs span 10M+ blocks; a route
can only use pools between tokens we can name, and reading the full state of every pool would take
hours. ``getPair`` / ``getPool`` over n known tokens is n(n-1)/2 x (1 + fee tiers) calls: one batch
(21 mainnet tokens: about 1,000 calls, one request), the same code on mainnet and the devnet. Empty
pools (a zero reserve, an uninitialized V3 price) are left out: no route can price through them.

    batcher = Batcher(await client.snapshot())
    refs = await discover_pools(batcher.reader("discovery"), deployment, extra_tokens=[sell, buy])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Final

import structlog
from eth_utils import to_checksum_address

from defiscope.chain.block import BlockRef
from defiscope.chain.client import ChainClient, Snapshot
from defiscope.chain.multicall import Call
from defiscope.chain.reader import Batcher, Reader
from defiscope.deployments import Deployment
from defiscope.protocols.curve.adapter import CurveAdapter, has_curve, route_exclusion
from defiscope.protocols.uniswap.v2 import V2_SPECS
from defiscope.protocols.uniswap.v3 import V3_SPECS
from defiscope.protocols.uniswap.v3_spec import SLOT0_BY_DEX
from defiscope.routing.load import PoolRef

log = structlog.get_logger(__name__)
ZERO: Final = "0x0000000000000000000000000000000000000000"


@dataclass(frozen=True, slots=True)
class _Lookup:
    """One factory lookup: the call, and the pool it would name."""

    dex: str
    call: Call
    token0: str
    token1: str


def _sorted_pair(a: str, b: str) -> tuple[str, str]:
    first, second = sorted((to_checksum_address(a), to_checksum_address(b)), key=lambda t: int(t, 16))
    return first, second


def _lookups(deployment: Deployment, tokens: Sequence[str]) -> list[_Lookup]:
    pairs = [_sorted_pair(a, b) for a, b in combinations(tokens, 2)]
    found = []
    for v2 in V2_SPECS:
        factory = deployment.contracts.get(v2.factory)
        if factory is not None:
            found += [
                _Lookup(v2.info.slug, Call.of(factory, "getPair(address,address)(address)", a, b), a, b)
                for a, b in pairs
            ]
    for v3 in V3_SPECS:
        factory = deployment.contracts.get(v3.factory)
        if factory is not None:
            found += [
                _Lookup(v3.info.slug, Call.of(factory, "getPool(address,address,uint24)(address)", a, b, fee), a, b)
                for a, b in pairs
                for fee in sorted(v3.fee_tick_spacing)
            ]
    return found


async def discover_pools(reader: Reader, deployment: Deployment, extra_tokens: Iterable[str] = ()) -> list[PoolRef]:
    """Every live V2/V3 pool between the registry's tokens (and ``extra_tokens``), then the Curve pools."""
    tokens = list(
        dict.fromkeys(to_checksum_address(t) for t in [*(i.address for i in deployment.tokens.values()), *extra_tokens])
    )
    lookups = _lookups(deployment, tokens)
    results = await reader.call_many([lookup.call for lookup in lookups])
    refs = [
        PoolRef(lookup.dex, result.value[0], lookup.token0, lookup.token1)
        for lookup, result in zip(lookups, results, strict=True)
        if result.success and result.value[0] != ZERO
    ]
    live = await _live(reader, refs)
    return [*live, *await _curve_pools(reader, deployment)]


async def discover_at(client: ChainClient, block: BlockRef, deployment: Deployment) -> list[PoolRef]:
    """`discover_pools` at ``block`` (a `routing.tracker.Discover` once ``deployment`` is bound)."""
    return await discover_pools(Batcher(Snapshot(client, block)).reader("discovery"), deployment)


async def _live(reader: Reader, refs: Sequence[PoolRef]) -> list[PoolRef]:
    """Pools with both V2 reserves above zero or a V3 price set (slot0's sqrtPriceX96)."""
    calls = [
        Call.of(r.address, "getReserves()(uint112,uint112,uint32)")
        if r.dex.endswith("-v2")
        else Call.of(r.address, SLOT0_BY_DEX[r.dex])
        for r in refs
    ]
    results = await reader.call_many(calls)
    return [
        ref
        for ref, result in zip(refs, results, strict=True)
        if result.success and (all(result.value[:2]) if ref.dex.endswith("-v2") else result.value[0] > 0)
    ]


async def _curve_pools(reader: Reader, deployment: Deployment) -> list[PoolRef]:
    if not has_curve(deployment):
        return []
    adapter = CurveAdapter(deployment)
    # The adapter's own discovery (registry and factories, named pools, coins read once) runs inside positions().
    holders = dict.fromkeys(p.holder for p in await adapter.positions(reader) if p.holder is not None)
    lp_tokens = {p.lp_token.lower() for p in adapter.pools.values()}
    pools = []
    for address in holders:
        pool = adapter.pools[address]
        reason = route_exclusion(pool, lp_tokens)
        if reason is None:
            pools.append(pool)
        else:
            log.debug("routing.curve_pool_skipped", pool=address, reason=reason)
    probes = [
        call
        for pool in pools
        for call in (
            Call.of(pool.address, "A_precise()(uint256)"),
            Call.of(pool.address, "offpeg_fee_multiplier()(uint256)"),
        )
    ]
    results = await reader.call_many(probes)
    return [
        PoolRef("curve", pool.address, pool.coins[0], pool.coins[1])
        for k, pool in enumerate(pools)
        if results[2 * k].success and not results[2 * k + 1].success
    ]
