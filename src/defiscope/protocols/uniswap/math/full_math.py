"""Uniswap V3 `FullMath` (v3-core `libraries/FullMath.sol`) and `UnsafeMath.divRoundingUp`.

The contract computes floor(a*b/denominator) with a 512-bit intermediate and reverts if the result
does not fit in 256 bits; Python ints have no overflow, so the port keeps only the checks.

    >>> mul_div(2**255, 2**10, 2**200) == 2**65     # the 2**265 intermediate is fine
    True
    >>> mul_div_rounding_up(7, 3, 2)
    11
"""

from __future__ import annotations

from typing import Final

from defiscope.protocols.uniswap.math.errors import MathRevert

MAX_UINT256: Final = 2**256 - 1


def mul_div(a: int, b: int, denominator: int) -> int:
    """Mirrors `FullMath.mulDiv(uint256 a, uint256 b, uint256 denominator)`: floor(a*b/denominator)."""
    if denominator == 0:
        raise MathRevert("FullMath.mulDiv: denominator is zero")
    result = a * b // denominator
    if result > MAX_UINT256:
        raise MathRevert("FullMath.mulDiv: result overflows uint256")
    return result


def mul_div_rounding_up(a: int, b: int, denominator: int) -> int:
    """Mirrors `FullMath.mulDivRoundingUp`: ceil(a*b/denominator), reverting past uint256."""
    if denominator == 0:
        raise MathRevert("FullMath.mulDiv: denominator is zero")
    # One product and one divmod: this runs several times per swap step.
    result, remainder = divmod(a * b, denominator)
    if result > MAX_UINT256:
        raise MathRevert("FullMath.mulDiv: result overflows uint256")
    if remainder:
        if result == MAX_UINT256:
            raise MathRevert("FullMath.mulDivRoundingUp: result overflows uint256")
        result += 1
    return result


def div_rounding_up(x: int, y: int) -> int:
    """Mirrors `UnsafeMath.divRoundingUp(uint256 x, uint256 y)`: ceil(x/y); y is never 0 at call sites."""
    quotient, remainder = divmod(x, y)
    return quotient + 1 if remainder else quotient
