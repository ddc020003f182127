"""A holder's balance from what is kept per holder (its raw amount) and what is read once per token (its index),
with each token's own rounding. Pure functions; `holdings` does the reading.

    >>> plain_balance(5, ())
    5
    >>> lido_balance(10**18, (12 * 10**17, 10**18))     # StETH.getPooledEthByShares, rounded down
    1200000000000000000
    >>> aave_balance(3, (RAY + RAY // 2,))             # AToken.balanceOf: rayMul, rounded half up
    5
    >>> aave_balance_floor(3, (RAY + RAY // 2,))       # Aave v3.5's aToken: rounded down
    4
"""

from __future__ import annotations

from typing import Final

from defiscope.protocols.lending.rates import RAY, ray_mul
from defiscope.protocols.lido.shares import get_pooled_eth_by_shares

#: How many index values each model reads once per block per token.
LIDO_INDEX_WIDTH: Final = 2  # (getTotalPooledEther, getTotalShares)
AAVE_INDEX_WIDTH: Final = 1  # (POOL.getReserveNormalizedIncome(underlying),)


def plain_balance(raw: int, index: tuple[int, ...]) -> int:
    """An ERC-20's ``balanceOf``: what is kept is the balance itself; there is no index."""
    return raw


def lido_balance(shares: int, index: tuple[int, ...]) -> int:
    """StETH.balanceOf: ``getPooledEthByShares(sharesOf(holder))`` = shares * totalPooledEther / totalShares."""
    total_pooled_ether, total_shares = index
    return get_pooled_eth_by_shares(shares, total_pooled_ether=total_pooled_ether, total_shares=total_shares)


def aave_balance(scaled: int, index: tuple[int, ...]) -> int:
    """AToken.balanceOf (@aave/core-v3 1.19): ``scaledBalanceOf(holder).rayMul(getReserveNormalizedIncome(asset))``,
    WadRayMath.rayMul rounding half up."""
    (normalized_income,) = index
    return ray_mul(scaled, normalized_income)


def aave_balance_floor(scaled: int, index: tuple[int, ...]) -> int:
    """AToken.balanceOf from Aave v3.5 on (TokenMath): ``floor(scaledBalance * index / RAY)``, rounding for the
    protocol as ERC-4626 does."""
    (normalized_income,) = index
    return scaled * normalized_income // RAY


__all__ = ["RAY", "aave_balance", "aave_balance_floor", "lido_balance", "plain_balance"]
