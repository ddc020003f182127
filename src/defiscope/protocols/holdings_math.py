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
    >>> aave_income_at((2 * RAY, 0, 1_000), 5_000)     # no supply rate: the stored liquidity index
    (2000000000000000000000000000,)
    >>> aave_income_at((RAY, RAY, 0), SECONDS_PER_YEAR)  # 100 % a year, linear, for a year
    (2000000000000000000000000000,)
"""

from __future__ import annotations

from typing import Final

from defiscope.protocols.aave.rates import SECONDS_PER_YEAR, normalized_income
from defiscope.protocols.lending.rates import RAY, ray_mul
from defiscope.protocols.lido.shares import get_pooled_eth_by_shares

#: How many index values each model keeps per token.
LIDO_INDEX_WIDTH: Final = 2  # (getTotalPooledEther, getTotalShares)
AAVE_INDEX_WIDTH: Final = 1  # (POOL.getReserveNormalizedIncome(underlying),)
#: The Pool revision from which aToken balances round down (Aave v3.5, TokenMath.getATokenBalance: rayMulFloor).
#: v3.4's PoolInstance is revision 8; @aave/core-v3 1.19 (v3.0, the devnet's) is 1.
AAVE_FLOOR_POOL_REVISION: Final = 9


def index_as_read(state: tuple[int, ...], now: int) -> tuple[int, ...]:
    """An index that changes only with a log (stETH's totals): what was read is the index at any later block."""
    return state


def aave_income_at(state: tuple[int, ...], now: int) -> tuple[int, ...]:
    """The reserve's normalized income at timestamp ``now`` from its stored state (liquidityIndex,
    currentLiquidityRate, lastUpdateTimestamp): ``ReserveLogic.getNormalizedIncome``, which is what
    ``Pool.getReserveNormalizedIncome`` answers. The stored state changes only with a ``ReserveDataUpdated``;
    between two, interest accrues linearly with time, so it is computed here, not read each block."""
    liquidity_index, liquidity_rate, last_update = state
    return (normalized_income(liquidity_index, liquidity_rate, last_update, now),)


def aave_rounds_down(pool_revision: int) -> bool:
    """Whether a Pool of this ``POOL_REVISION()`` has v3.5's aTokens, whose balance is rayMulFloor.

    >>> aave_rounds_down(1), aave_rounds_down(8), aave_rounds_down(9)
    (False, False, True)
    """
    return pool_revision >= AAVE_FLOOR_POOL_REVISION


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


__all__ = [
    "RAY",
    "SECONDS_PER_YEAR",
    "aave_balance",
    "aave_balance_floor",
    "aave_income_at",
    "aave_rounds_down",
    "index_as_read",
    "lido_balance",
    "plain_balance",
]
