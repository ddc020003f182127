"""Uniswap V3 `TickMath`, ported to Python ints (v3-core `libraries/TickMath.sol`).

sqrt(1.0001^tick) * 2^96 as a Q64.96, bit-exact with the contract: the same magic constants (each is
2^128 / sqrt(1.0001^(2^i)) in Q128.128), multiplied in the same order, rounded up by the same final step.

    >>> get_sqrt_ratio_at_tick(0) == 2**96
    True
    >>> get_sqrt_ratio_at_tick(MIN_TICK) == MIN_SQRT_RATIO
    True
    >>> get_tick_at_sqrt_ratio(get_sqrt_ratio_at_tick(-201234))
    -201234

`get_tick_at_sqrt_ratio` inverts it: the greatest tick whose ratio is <= the price, through the
contract's fixed-point log2 (14 fractional bits by repeated squaring) and its two error bounds.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from defiscope.protocols.uniswap.math.errors import MathRevert

MIN_TICK: Final = -887272
MAX_TICK: Final = -MIN_TICK
MIN_SQRT_RATIO: Final = 4295128739
MAX_SQRT_RATIO: Final = 1461446703485210103287273052203988822378723970342

_MAX_UINT256: Final = 2**256 - 1

# (bit of |tick|, multiplier) in the contract's order; bit 0x1 is the starting value, not a multiplier.
_RATIOS: Final = (
    (0x2, 0xFFF97272373D413259A46990580E213A),
    (0x4, 0xFFF2E50F5F656932EF12357CF3C7FDCC),
    (0x8, 0xFFE5CACA7E10E4E61C3624EAA0941CD0),
    (0x10, 0xFFCB9843D60F6159C9DB58835C926644),
    (0x20, 0xFF973B41FA98C081472E6896DFB254C0),
    (0x40, 0xFF2EA16466C96A3843EC78B326B52861),
    (0x80, 0xFE5DEE046A99A2A811C461F1969C3053),
    (0x100, 0xFCBE86C7900A88AEDCFFC83B479AA3A4),
    (0x200, 0xF987A7253AC413176F2B074CF7815E54),
    (0x400, 0xF3392B0822B70005940C7A398E4B70F3),
    (0x800, 0xE7159475A2C29B7443B29C7FA6E889D9),
    (0x1000, 0xD097F3BDFD2022B8845AD8F792AA5825),
    (0x2000, 0xA9F746462D870FDF8A65DC1F90E061E5),
    (0x4000, 0x70D869A156D2A1B890BB3DF62BAF32F7),
    (0x8000, 0x31BE135F97D08FD981231505542FCFA6),
    (0x10000, 0x9AA508B5B7A84E1C677DE54F3E99BC9),
    (0x20000, 0x5D6AF8DEDB81196699C329225EE604),
    (0x40000, 0x2216E584F5FA1EA926041BEDFE98),
    (0x80000, 0x48A170391F7DC42444E8FA2),
)


# Pure and hot (every swap step calls it, mostly for the same few ticks): memoised. 2^16 entries of two
# ints is a few MB at most.
@lru_cache(maxsize=2**16)
def get_sqrt_ratio_at_tick(tick: int) -> int:
    """Mirrors `TickMath.getSqrtRatioAtTick(int24 tick) returns (uint160 sqrtPriceX96)`.

    Raises `MathRevert` (a `ValueError`) outside [MIN_TICK, MAX_TICK], where the contract reverts with "T".
    """
    abs_tick = abs(tick)
    if abs_tick > MAX_TICK:
        raise MathRevert(f"TickMath.getSqrtRatioAtTick: T (tick {tick} outside [{MIN_TICK}, {MAX_TICK}])")

    ratio = 0xFFFCB933BD6FAD37AA2D162D1A594001 if abs_tick & 0x1 else 0x100000000000000000000000000000000
    for bit, multiplier in _RATIOS:
        if abs_tick & bit:
            ratio = (ratio * multiplier) >> 128

    if tick > 0:
        ratio = _MAX_UINT256 // ratio

    # Q128.128 -> Q128.96, rounding up so getTickAtSqrtRatio of the result is consistent.
    return (ratio >> 32) + (0 if ratio % (1 << 32) == 0 else 1)


# log_2 -> log_sqrt(1.0001) in Q128.128, and the bounds of the error of the 14-bit log2 approximation.
_LOG_SQRT10001: Final = 255738958999603826347141
_TICK_LOW_ERROR: Final = 3402992956809132418596140100660247210
_TICK_HIGH_ERROR: Final = 291339464771989622907027621153398088495


def get_tick_at_sqrt_ratio(sqrt_price_x96: int) -> int:
    """Mirrors `TickMath.getTickAtSqrtRatio(uint160 sqrtPriceX96) returns (int24 tick)`.

    Raises `MathRevert` outside [MIN_SQRT_RATIO, MAX_SQRT_RATIO), where the contract reverts with "R".
    """
    if not MIN_SQRT_RATIO <= sqrt_price_x96 < MAX_SQRT_RATIO:
        raise MathRevert(f"TickMath.getTickAtSqrtRatio: R (price {sqrt_price_x96} outside the valid range)")
    ratio = sqrt_price_x96 << 32
    msb = ratio.bit_length() - 1
    r = ratio >> (msb - 127) if msb >= 128 else ratio << (127 - msb)

    # Integer part of log2 in Q64.64, then 14 fractional bits: squaring r doubles its log, and the bit
    # that overflows past 2^128 is the next binary digit. (log_2 < 0 is fine: its low bits are zero, so
    # `|` adds, as the contract's `or` on a two's-complement int256 does.)
    log_2 = (msb - 128) << 64
    for shift in range(63, 49, -1):
        r = (r * r) >> 127
        f = r >> 128
        log_2 |= f << shift
        r >>= f

    log_sqrt10001 = log_2 * _LOG_SQRT10001
    tick_low = (log_sqrt10001 - _TICK_LOW_ERROR) >> 128
    tick_high = (log_sqrt10001 + _TICK_HIGH_ERROR) >> 128
    if tick_low == tick_high:
        return tick_low
    return tick_high if get_sqrt_ratio_at_tick(tick_high) <= sqrt_price_x96 else tick_low
