"""Read known pools into pure routing pools (`pools.py`) at one block, with batched reads.

V2 pairs: ``getReserves``; V3 pools: `read_pool_states` (slot0, liquidity, bitmap words, ticks);
Curve pools: ``coins(i)`` (until one fails), ``A_precise``, ``fee``, ``admin_fee``, then ``balances(i)``
and each coin's ``decimals``. The three kinds are read concurrently, so a `Batcher` merges their rounds.

    batcher = Batcher(await client.snapshot())
    pools = await load_pools(batcher.reader("routing"), [PoolRef("uniswap-v2", pair, usdc, weth, 3000)])
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from defiscope.chain.multicall import Call
from defiscope.chain.reader import Reader
from defiscope.protocols.curve.math import PoolState, StableSwap
from defiscope.protocols.uniswap.v2_math import PANCAKESWAP_V2_FEE, UNISWAP_V2_FEE, V2Fee
from defiscope.protocols.uniswap.v3_spec import SLOT0_BY_DEX
from defiscope.protocols.uniswap.v3_state import read_pool_states
from defiscope.routing.pools import CurvePool, Pool, V2Pool, V3Pool

V2_FEES: Final[Mapping[str, V2Fee]] = MappingProxyType(
    {"uniswap-v2": UNISWAP_V2_FEE, "pancakeswap-v2": PANCAKESWAP_V2_FEE}
)
V3_DEXES: Final = frozenset({"uniswap-v3", "pancakeswap-v3"})
MAX_CURVE_COINS: Final = 8


@dataclass(frozen=True, slots=True)
class PoolRef:
    """A pool to load: its dex ("uniswap-v2", "pancakeswap-v3", "curve", ...) and address; tokens as known."""

    dex: str
    address: str
    token0: str
    token1: str


async def load_pools(reader: Reader, refs: Sequence[PoolRef]) -> list[Pool]:
    """The pools at the reader's block, V2 first, then V3, then Curve; an unknown dex raises ValueError."""
    unknown = {r.dex for r in refs} - set(V2_FEES) - V3_DEXES - {"curve"}
    if unknown:
        raise ValueError(f"no routing support for dex {sorted(unknown)}")
    v2 = [r for r in refs if r.dex in V2_FEES]
    v3 = [r for r in refs if r.dex in V3_DEXES]
    curve = [r for r in refs if r.dex == "curve"]
    v2_pools, v3_pools, curve_pools = await asyncio.gather(
        _load_v2(reader, v2), _load_v3(reader, v3), _load_curve(reader, curve)
    )
    return [*v2_pools, *v3_pools, *curve_pools]


async def _load_v2(reader: Reader, refs: Sequence[PoolRef]) -> list[Pool]:
    values = [
        r.unwrap()
        for r in await reader.call_many([Call.of(r.address, "getReserves()(uint112,uint112,uint32)") for r in refs])
    ]
    return [
        V2Pool(r.dex, r.address, r.token0, r.token1, reserves[0], reserves[1], V2_FEES[r.dex])
        for r, reserves in zip(refs, values, strict=True)
    ]


async def _load_v3(reader: Reader, refs: Sequence[PoolRef]) -> list[Pool]:
    if not refs:
        return []
    states = await read_pool_states(reader, [r.address for r in refs], [SLOT0_BY_DEX[r.dex] for r in refs])
    return [V3Pool(r.dex, r.address, r.token0, r.token1, s) for r, s in zip(refs, states, strict=True)]


async def _load_curve(reader: Reader, refs: Sequence[PoolRef]) -> list[Pool]:
    if not refs:
        return []
    head = ("A_precise()(uint256)", "fee()(uint256)", "admin_fee()(uint256)")
    calls = [Call.of(r.address, "coins(uint256)(address)", i) for r in refs for i in range(MAX_CURVE_COINS)]
    calls += [Call.of(r.address, signature) for r in refs for signature in head]
    results = await reader.call_many(calls)
    coins: list[tuple[str, ...]] = []
    for k in range(len(refs)):
        found = []
        for result in results[k * MAX_CURVE_COINS : (k + 1) * MAX_CURVE_COINS]:
            if not result.success:
                break  # coins(i) reverts past the last coin
            found.append(result.value[0])
        coins.append(tuple(found))
    heads = [r.one() for r in results[len(refs) * MAX_CURVE_COINS :]]
    second = [
        Call.of(r.address, "balances(uint256)(uint256)", i)
        for r, cs in zip(refs, coins, strict=True)
        for i in range(len(cs))
    ]
    second += [Call.of(coin, "decimals()(uint8)") for cs in coins for coin in cs]
    values = iter(await reader.values(second))
    balances = [tuple(next(values) for _ in cs) for cs in coins]
    decimals = [tuple(next(values) for _ in cs) for cs in coins]
    pools: list[Pool] = []
    for k, ref in enumerate(refs):
        amp, fee, admin_fee = heads[3 * k : 3 * k + 3]
        params = StableSwap.of(decimals=decimals[k], fee=fee, admin_fee=admin_fee)
        # The LP supply does not enter exchange(); 0 keeps the state honest about not having read it.
        pools.append(CurvePool("curve", ref.address, coins[k], params, PoolState(balances[k], amp, 0)))
    return pools
