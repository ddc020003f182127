"""Uniswap V3 `LiquidityMath.addDelta` (v3-core `libraries/LiquidityMath.sol`).

>>> add_delta(10, -3)
7
"""

from __future__ import annotations

from typing import Final

from defiscope.protocols.uniswap.math.errors import MathRevert

MAX_UINT128: Final = 2**128 - 1


def add_delta(x: int, y: int) -> int:
    """Mirrors `addDelta(uint128 x, int128 y)`: reverts "LS" on underflow and "LA" past uint128."""
    z = x + y
    if y < 0 and z < 0:
        raise MathRevert("LiquidityMath.addDelta: LS")
    if y >= 0 and z > MAX_UINT128:
        raise MathRevert("LiquidityMath.addDelta: LA")
    return z
