"""Uniswap V2/V3-style pool events applied to pure state (no I/O): what each event changes, exactly.

V2 pairs: ``Sync(reserve0, reserve1)`` follows every Swap, Mint, Burn, skim and sync, so it alone sets the
reserves. V3 pools (Uniswap and PancakeSwap; PancakeSwap's Swap carries two more fields, its protocol fees):

- ``Swap``: slot0's sqrtPriceX96 and tick, and the in-range liquidity, as the event reports them;
- ``Mint`` / ``Burn``: mirror `UniswapV3Pool._modifyPosition` — `Tick.update` on both ends (liquidityGross
  += |delta|, liquidityNet += delta at the lower tick and -= delta at the upper), `TickBitmap.flipTick`
  when liquidityGross leaves or reaches zero (a tick whose gross falls to zero is cleared), and the
  in-range liquidity when tickLower <= tick < tickUpper;
- ``Initialize``: slot0's first price and tick.

    >>> state = V3PoolState(2**96, 0, 0, 3000, 60)
    >>> after = modify_position(state, -60, 60, 1000)
    >>> after.liquidity, dict(after.liquidity_net), dict(after.liquidity_gross)
    (1000, {-60: 1000, 60: -1000}, {-60: 1000, 60: 1000})
    >>> modify_position(after, -60, 60, -1000).words
    mappingproxy({})
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Final

from eth_abi import decode

from defiscope.protocols.pool_events import CannotApply, PoolLog, topic, topic_int
from defiscope.protocols.uniswap.math.errors import MathRevert
from defiscope.protocols.uniswap.math.liquidity_math import add_delta
from defiscope.protocols.uniswap.math.pool_state import V3PoolState
from defiscope.protocols.uniswap.math.tick_bitmap import compress, position

V2_SYNC: Final = topic("Sync(uint112,uint112)")
V3_MINT: Final = topic("Mint(address,address,int24,int24,uint128,uint256,uint256)")
V3_BURN: Final = topic("Burn(address,int24,int24,uint128,uint256,uint256)")
V3_INITIALIZE: Final = topic("Initialize(uint160,int24)")
#: Swap layouts by topic: the non-indexed fields; both start amount0, amount1, sqrtPriceX96, liquidity, tick.
V3_SWAPS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        topic("Swap(address,address,int256,int256,uint160,uint128,int24)"): (
            "int256",
            "int256",
            "uint160",
            "uint128",
            "int24",
        ),
        # PancakeSwap V3: + protocolFeesToken0, protocolFeesToken1
        topic("Swap(address,address,int256,int256,uint160,uint128,int24,uint128,uint128)"): (
            "int256",
            "int256",
            "uint160",
            "uint128",
            "int24",
            "uint128",
            "uint128",
        ),
    }
)
V2_TOPICS: Final = (V2_SYNC,)
V3_TOPICS: Final = (*V3_SWAPS, V3_MINT, V3_BURN, V3_INITIALIZE)


def apply_v2(reserves: tuple[int, int], log: PoolLog) -> tuple[int, int]:
    """The pair's reserves after ``log``: a Sync sets them; other V2 events change nothing by themselves."""
    if log.topic0 != V2_SYNC:
        return reserves
    reserve0, reserve1 = decode(["uint112", "uint112"], log.data)
    return reserve0, reserve1


def apply_v3(state: V3PoolState, log: PoolLog) -> V3PoolState:
    """The pool's swap state after ``log`` (Swap, Mint, Burn, Initialize); other events change nothing."""
    kind = log.topic0
    if kind in V3_SWAPS:
        _, _, sqrt_price, liquidity, tick = decode(list(V3_SWAPS[kind]), log.data)[:5]
        return replace(state, sqrt_price_x96=sqrt_price, tick=tick, liquidity=liquidity)
    if kind in (V3_MINT, V3_BURN):
        lower, upper = (topic_int(t, signed=True) for t in log.topics[2:4])
        # Mint data: sender, amount, amount0, amount1; Burn data: amount, amount0, amount1.
        amount = decode(["uint128"], log.data[32:64] if kind == V3_MINT else log.data[:32])[0]
        return modify_position(state, lower, upper, amount if kind == V3_MINT else -amount)
    if kind == V3_INITIALIZE:
        sqrt_price, tick = decode(["uint160", "int24"], log.data)
        return replace(state, sqrt_price_x96=sqrt_price, tick=tick)
    return state


def modify_position(state: V3PoolState, tick_lower: int, tick_upper: int, delta: int) -> V3PoolState:
    """Mirrors the tick, bitmap and liquidity updates of `UniswapV3Pool._modifyPosition` (delta < 0: burn)."""
    if delta == 0:  # a poke (Burn of 0 to collect fees) touches no tick
        return state
    gross, net, words = dict(state.liquidity_gross), dict(state.liquidity_net), dict(state.words)
    try:
        for tick, sign in ((tick_lower, 1), (tick_upper, -1)):
            before = _gross(state, tick)
            after = add_delta(before, delta)
            if (before == 0) != (after == 0):
                _flip(words, tick, state.tick_spacing)
            if after == 0:  # Tick.clear: a tick without liquidity keeps no info
                gross.pop(tick, None)
                net.pop(tick, None)
            else:
                gross[tick] = after
                net[tick] = net.get(tick, 0) + sign * delta
        liquidity = state.liquidity
        if tick_lower <= state.tick < tick_upper:
            liquidity = add_delta(liquidity, delta)
    except MathRevert as exc:
        raise CannotApply(f"V3 position update [{tick_lower}, {tick_upper}) by {delta}: {exc}") from None
    return replace(state, liquidity=liquidity, words=words, liquidity_net=net, liquidity_gross=gross)


def _gross(state: V3PoolState, tick: int) -> int:
    """liquidityGross of a tick; an initialized tick whose gross was never read cannot be updated exactly."""
    if tick in state.liquidity_gross:
        return state.liquidity_gross[tick]
    if tick in state.liquidity_net:
        raise CannotApply(f"tick {tick} is initialized but its liquidityGross is unknown")
    return 0


def _flip(words: dict[int, int], tick: int, tick_spacing: int) -> None:
    """Mirrors `TickBitmap.flipTick` (the tick is a multiple of the spacing: the pool checks it)."""
    if tick % tick_spacing:
        raise CannotApply(f"tick {tick} is not a multiple of the spacing {tick_spacing}")
    word, bit = position(compress(tick, tick_spacing))
    value = words.get(word, 0) ^ (1 << bit)
    if value:
        words[word] = value
    else:
        words.pop(word, None)
