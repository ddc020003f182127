"""Uniswap V3 `TickBitmap` (v3-core `libraries/TickBitmap.sol`) over a plain word map, and `BitMath`.

The pool keeps one bit per usable tick (tick / tickSpacing) in 256-bit words: word = compressed >> 8,
bit = compressed % 256. A word missing from the map is zero — so the map must hold every non-zero word
the swap can reach (the pool-state reader loads them all).

    >>> words = {0: 1 << 10}                       # tick 10 * spacing initialized
    >>> next_initialized_tick_within_one_word(words, 0, 60, lte=False)
    (600, True)
    >>> next_initialized_tick_within_one_word(words, 0, 60, lte=True)
    (0, False)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

MAX_UINT8: Final = 255


def most_significant_bit(x: int) -> int:
    """Mirrors `BitMath.mostSignificantBit` (x > 0)."""
    return x.bit_length() - 1


def least_significant_bit(x: int) -> int:
    """Mirrors `BitMath.leastSignificantBit` (x > 0)."""
    return (x & -x).bit_length() - 1


def position(compressed: int) -> tuple[int, int]:
    """Mirrors `TickBitmap.position`: (int16 word, uint8 bit); `>>` and `%` floor, as the casts do."""
    return compressed >> 8, compressed % 256


def compress(tick: int, tick_spacing: int) -> int:
    """tick / tickSpacing rounded toward negative infinity (Solidity's `/` truncates, hence the fix-up)."""
    return tick // tick_spacing


def next_initialized_tick_within_one_word(
    words: Mapping[int, int], tick: int, tick_spacing: int, lte: bool
) -> tuple[int, bool]:
    """Mirrors `nextInitializedTickWithinOneWord`: the next initialized tick at or left of ``tick`` (lte) or
    right of it, or the word's edge if none, as (tick, initialized)."""
    compressed = compress(tick, tick_spacing)
    if lte:
        word_pos, bit_pos = position(compressed)
        masked = words.get(word_pos, 0) & ((1 << bit_pos) - 1 + (1 << bit_pos))
        if masked:
            return (compressed - (bit_pos - most_significant_bit(masked))) * tick_spacing, True
        return (compressed - bit_pos) * tick_spacing, False
    word_pos, bit_pos = position(compressed + 1)
    masked = words.get(word_pos, 0) & ~((1 << bit_pos) - 1)
    if masked:
        return (compressed + 1 + (least_significant_bit(masked) - bit_pos)) * tick_spacing, True
    return (compressed + 1 + (MAX_UINT8 - bit_pos)) * tick_spacing, False
