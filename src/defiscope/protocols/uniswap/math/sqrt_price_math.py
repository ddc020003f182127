"""Uniswap V3 `SqrtPriceMath` (v3-core `libraries/SqrtPriceMath.sol`), exact with Python ints.

Prices are sqrt(token1/token0) in Q64.96. Moving the price by an amount of token0 follows
L * sqrtP / (L + amount * sqrtP) (rounded up, so the price never overshoots); by an amount of token1,
sqrtP + amount / L (rounded down). The contract's overflow branches are kept: where it falls back to a
different formula on a uint256 overflow, so does the port, because the two round differently.

    >>> Q96 = 2**96
    >>> get_next_sqrt_price_from_input(Q96, 10**18, 10**15, zero_for_one=False) - Q96
    79228162514264337593543950
    >>> get_amount1_delta(Q96, 2 * Q96, 10**18, round_up=True)
    1000000000000000000
"""

from __future__ import annotations

from typing import Final

from defiscope.protocols.uniswap.math.errors import MathRevert
from defiscope.protocols.uniswap.math.full_math import (
    MAX_UINT256,
    div_rounding_up,
    mul_div,
    mul_div_rounding_up,
)

RESOLUTION: Final = 96
Q96: Final = 1 << RESOLUTION
MAX_UINT160: Final = 2**160 - 1


def _to_uint160(value: int, where: str) -> int:
    if value > MAX_UINT160:
        raise MathRevert(f"SqrtPriceMath.{where}: price overflows uint160")
    return value


def get_next_sqrt_price_from_amount0_rounding_up(sqrt_px96: int, liquidity: int, amount: int, add: bool) -> int:
    """Mirrors `getNextSqrtPriceFromAmount0RoundingUp`."""
    if amount == 0:
        return sqrt_px96
    numerator1 = liquidity << RESOLUTION
    product = amount * sqrt_px96
    if add:
        # The contract takes the precise formula only when neither the product nor the sum overflows.
        if product <= MAX_UINT256 and numerator1 + product <= MAX_UINT256:
            return mul_div_rounding_up(numerator1, sqrt_px96, numerator1 + product)
        denominator = numerator1 // sqrt_px96 + amount
        if denominator > MAX_UINT256:
            raise MathRevert("SqrtPriceMath.getNextSqrtPriceFromAmount0RoundingUp: overflow")
        return div_rounding_up(numerator1, denominator)
    if product > MAX_UINT256 or numerator1 <= product:
        raise MathRevert("SqrtPriceMath.getNextSqrtPriceFromAmount0RoundingUp: not enough liquidity for the output")
    return _to_uint160(mul_div_rounding_up(numerator1, sqrt_px96, numerator1 - product), "amount0")


def get_next_sqrt_price_from_amount1_rounding_down(sqrt_px96: int, liquidity: int, amount: int, add: bool) -> int:
    """Mirrors `getNextSqrtPriceFromAmount1RoundingDown`."""
    if add:
        quotient = (amount << RESOLUTION) // liquidity if amount <= MAX_UINT160 else mul_div(amount, Q96, liquidity)
        total = sqrt_px96 + quotient
        if total > MAX_UINT256:
            raise MathRevert("SqrtPriceMath.getNextSqrtPriceFromAmount1RoundingDown: overflow")
        return _to_uint160(total, "amount1")
    quotient = (
        div_rounding_up(amount << RESOLUTION, liquidity)
        if amount <= MAX_UINT160
        else mul_div_rounding_up(amount, Q96, liquidity)
    )
    if sqrt_px96 <= quotient:
        raise MathRevert("SqrtPriceMath.getNextSqrtPriceFromAmount1RoundingDown: not enough liquidity for the output")
    return sqrt_px96 - quotient


def _check_price_and_liquidity(sqrt_px96: int, liquidity: int) -> None:
    if sqrt_px96 <= 0:
        raise MathRevert("SqrtPriceMath: price must be positive")
    if liquidity <= 0:
        raise MathRevert("SqrtPriceMath: liquidity must be positive")


def get_next_sqrt_price_from_input(sqrt_px96: int, liquidity: int, amount_in: int, zero_for_one: bool) -> int:
    """Mirrors `getNextSqrtPriceFromInput`: the price after adding ``amount_in`` (rounded not to pass the target)."""
    _check_price_and_liquidity(sqrt_px96, liquidity)
    if zero_for_one:
        return get_next_sqrt_price_from_amount0_rounding_up(sqrt_px96, liquidity, amount_in, True)
    return get_next_sqrt_price_from_amount1_rounding_down(sqrt_px96, liquidity, amount_in, True)


def get_next_sqrt_price_from_output(sqrt_px96: int, liquidity: int, amount_out: int, zero_for_one: bool) -> int:
    """Mirrors `getNextSqrtPriceFromOutput`: the price after removing ``amount_out`` (rounded to pass the target)."""
    _check_price_and_liquidity(sqrt_px96, liquidity)
    if zero_for_one:
        return get_next_sqrt_price_from_amount1_rounding_down(sqrt_px96, liquidity, amount_out, False)
    return get_next_sqrt_price_from_amount0_rounding_up(sqrt_px96, liquidity, amount_out, False)


def get_amount0_delta(sqrt_ratio_a_x96: int, sqrt_ratio_b_x96: int, liquidity: int, round_up: bool) -> int:
    """Mirrors `getAmount0Delta(uint160,uint160,uint128,bool)`: L * (sqrtB - sqrtA) / (sqrtA * sqrtB)."""
    if sqrt_ratio_a_x96 > sqrt_ratio_b_x96:
        sqrt_ratio_a_x96, sqrt_ratio_b_x96 = sqrt_ratio_b_x96, sqrt_ratio_a_x96
    numerator1 = liquidity << RESOLUTION
    numerator2 = sqrt_ratio_b_x96 - sqrt_ratio_a_x96
    if sqrt_ratio_a_x96 <= 0:
        raise MathRevert("SqrtPriceMath.getAmount0Delta: price must be positive")
    # mulDiv cannot overflow here (numerator2 < sqrtB, so the quotient is below numerator1 < 2^256): the
    # FullMath calls are written out as divmods, which keeps this hot path to two divisions.
    if round_up:
        quotient, remainder = divmod(numerator1 * numerator2, sqrt_ratio_b_x96)
        quotient, remainder = divmod(quotient + 1 if remainder else quotient, sqrt_ratio_a_x96)
        return quotient + 1 if remainder else quotient
    return numerator1 * numerator2 // sqrt_ratio_b_x96 // sqrt_ratio_a_x96


def get_amount1_delta(sqrt_ratio_a_x96: int, sqrt_ratio_b_x96: int, liquidity: int, round_up: bool) -> int:
    """Mirrors `getAmount1Delta(uint160,uint160,uint128,bool)`: L * (sqrtB - sqrtA)."""
    if sqrt_ratio_a_x96 > sqrt_ratio_b_x96:
        sqrt_ratio_a_x96, sqrt_ratio_b_x96 = sqrt_ratio_b_x96, sqrt_ratio_a_x96
    # L * diff / 2^96 < 2^128 * 2^160 / 2^96: mulDiv cannot overflow, so it is written as a shift.
    product = liquidity * (sqrt_ratio_b_x96 - sqrt_ratio_a_x96)
    if round_up:
        return (product >> RESOLUTION) + (1 if product & (Q96 - 1) else 0)
    return product >> RESOLUTION


def get_amount0_delta_signed(sqrt_ratio_a_x96: int, sqrt_ratio_b_x96: int, liquidity: int) -> int:
    """Mirrors `getAmount0Delta(uint160,uint160,int128)`: owed to the pool (+, rounded up) or paid (-, down)."""
    if liquidity < 0:
        return -get_amount0_delta(sqrt_ratio_a_x96, sqrt_ratio_b_x96, -liquidity, False)
    return get_amount0_delta(sqrt_ratio_a_x96, sqrt_ratio_b_x96, liquidity, True)


def get_amount1_delta_signed(sqrt_ratio_a_x96: int, sqrt_ratio_b_x96: int, liquidity: int) -> int:
    """Mirrors `getAmount1Delta(uint160,uint160,int128)`."""
    if liquidity < 0:
        return -get_amount1_delta(sqrt_ratio_a_x96, sqrt_ratio_b_x96, -liquidity, False)
    return get_amount1_delta(sqrt_ratio_a_x96, sqrt_ratio_b_x96, liquidity, True)
