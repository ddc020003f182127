"""Token amounts of V3 positions: the periphery's `LiquidityAmounts` and the pool's mint/burn amounts.

`LiquidityAmounts` (v3-periphery `libraries/LiquidityAmounts.sol`) rounds down — what a position is worth
(what burning it pays). `modify_position_amounts` mirrors the amounts `UniswapV3Pool._modifyPosition`
charges or pays for a liquidity delta (positive: minted, rounded up; negative: burned, rounded down).

    >>> from defiscope.protocols.uniswap.math.tick_math import get_sqrt_ratio_at_tick as at
    >>> get_amounts_for_liquidity(at(0), at(-60), at(60), 10**18)
    (2995354955910780, 2995354955910780)
    >>> modify_position_amounts(at(0), 0, -60, 60, 10**18)
    (2995354955910781, 2995354955910781)
"""

from __future__ import annotations

from typing import Final

from defiscope.protocols.uniswap.math.errors import MathRevert
from defiscope.protocols.uniswap.math.full_math import mul_div
from defiscope.protocols.uniswap.math.sqrt_price_math import (
    RESOLUTION,
    get_amount0_delta_signed,
    get_amount1_delta_signed,
)
from defiscope.protocols.uniswap.math.tick_math import get_sqrt_ratio_at_tick

Q96: Final = 1 << RESOLUTION
MAX_UINT128: Final = 2**128 - 1


def _ordered(a: int, b: int) -> tuple[int, int]:
    return (b, a) if a > b else (a, b)


def _to_uint128(value: int) -> int:
    if value > MAX_UINT128:
        raise MathRevert("LiquidityAmounts: liquidity overflows uint128")
    return value


def get_liquidity_for_amount0(sqrt_a_x96: int, sqrt_b_x96: int, amount0: int) -> int:
    """Mirrors `LiquidityAmounts.getLiquidityForAmount0`: amount0 * (sqrtA * sqrtB) / (sqrtB - sqrtA)."""
    sqrt_a_x96, sqrt_b_x96 = _ordered(sqrt_a_x96, sqrt_b_x96)
    intermediate = mul_div(sqrt_a_x96, sqrt_b_x96, Q96)
    return _to_uint128(mul_div(amount0, intermediate, sqrt_b_x96 - sqrt_a_x96))


def get_liquidity_for_amount1(sqrt_a_x96: int, sqrt_b_x96: int, amount1: int) -> int:
    """Mirrors `LiquidityAmounts.getLiquidityForAmount1`: amount1 / (sqrtB - sqrtA)."""
    sqrt_a_x96, sqrt_b_x96 = _ordered(sqrt_a_x96, sqrt_b_x96)
    return _to_uint128(mul_div(amount1, Q96, sqrt_b_x96 - sqrt_a_x96))


def get_liquidity_for_amounts(sqrt_price_x96: int, sqrt_a_x96: int, sqrt_b_x96: int, amount0: int, amount1: int) -> int:
    """Mirrors `LiquidityAmounts.getLiquidityForAmounts`: the most liquidity both amounts can pay for."""
    sqrt_a_x96, sqrt_b_x96 = _ordered(sqrt_a_x96, sqrt_b_x96)
    if sqrt_price_x96 <= sqrt_a_x96:
        return get_liquidity_for_amount0(sqrt_a_x96, sqrt_b_x96, amount0)
    if sqrt_price_x96 < sqrt_b_x96:
        return min(
            get_liquidity_for_amount0(sqrt_price_x96, sqrt_b_x96, amount0),
            get_liquidity_for_amount1(sqrt_a_x96, sqrt_price_x96, amount1),
        )
    return get_liquidity_for_amount1(sqrt_a_x96, sqrt_b_x96, amount1)


def get_amount0_for_liquidity(sqrt_a_x96: int, sqrt_b_x96: int, liquidity: int) -> int:
    """Mirrors `LiquidityAmounts.getAmount0ForLiquidity` (rounded down)."""
    sqrt_a_x96, sqrt_b_x96 = _ordered(sqrt_a_x96, sqrt_b_x96)
    return mul_div(liquidity << RESOLUTION, sqrt_b_x96 - sqrt_a_x96, sqrt_b_x96) // sqrt_a_x96


def get_amount1_for_liquidity(sqrt_a_x96: int, sqrt_b_x96: int, liquidity: int) -> int:
    """Mirrors `LiquidityAmounts.getAmount1ForLiquidity` (rounded down)."""
    sqrt_a_x96, sqrt_b_x96 = _ordered(sqrt_a_x96, sqrt_b_x96)
    return mul_div(liquidity, sqrt_b_x96 - sqrt_a_x96, Q96)


def get_amounts_for_liquidity(sqrt_price_x96: int, sqrt_a_x96: int, sqrt_b_x96: int, liquidity: int) -> tuple[int, int]:
    """Mirrors `LiquidityAmounts.getAmountsForLiquidity`: (amount0, amount1) a position holds at this price."""
    sqrt_a_x96, sqrt_b_x96 = _ordered(sqrt_a_x96, sqrt_b_x96)
    if sqrt_price_x96 <= sqrt_a_x96:
        return get_amount0_for_liquidity(sqrt_a_x96, sqrt_b_x96, liquidity), 0
    if sqrt_price_x96 < sqrt_b_x96:
        return (
            get_amount0_for_liquidity(sqrt_price_x96, sqrt_b_x96, liquidity),
            get_amount1_for_liquidity(sqrt_a_x96, sqrt_price_x96, liquidity),
        )
    return 0, get_amount1_for_liquidity(sqrt_a_x96, sqrt_b_x96, liquidity)


def modify_position_amounts(
    sqrt_price_x96: int, tick: int, tick_lower: int, tick_upper: int, liquidity_delta: int
) -> tuple[int, int]:
    """Mirrors the amounts of `UniswapV3Pool._modifyPosition`: owed by a mint (> 0) or paid by a burn (< 0)."""
    lower, upper = get_sqrt_ratio_at_tick(tick_lower), get_sqrt_ratio_at_tick(tick_upper)
    if tick < tick_lower:
        return get_amount0_delta_signed(lower, upper, liquidity_delta), 0
    if tick < tick_upper:
        return (
            get_amount0_delta_signed(sqrt_price_x96, upper, liquidity_delta),
            get_amount1_delta_signed(lower, sqrt_price_x96, liquidity_delta),
        )
    return 0, get_amount1_delta_signed(lower, upper, liquidity_delta)
