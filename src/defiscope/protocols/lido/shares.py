"""Lido's share accounting, ported from StETH.sol and Lido.sol (V2) with Python ints, same order of operations.

A balance is shares x totalPooledEther / totalShares (rounded down); the protocol fee of an oracle report is
paid by minting new shares, so holders' balances grow by the reward less the fee.

>>> get_pooled_eth_by_shares(10**18, total_pooled_ether=12 * 10**17, total_shares=10**18)
1200000000000000000
>>> get_shares_by_pooled_eth(12 * 10**17, total_pooled_ether=12 * 10**17, total_shares=10**18)
1000000000000000000
>>> shares_minted_as_fees(10**18, pre_total_pooled_ether=100 * 10**18, pre_total_shares=100 * 10**18)
99108027750247770
"""

from __future__ import annotations

from typing import Final

#: StakingRouter.FEE_PRECISION_POINTS: 100 * 10**18 is 100 %.
FEE_PRECISION_POINTS: Final = 100 * 10**18
#: Lido's protocol fee (10 %), half to node operators (the curated module) and half to the treasury.
TOTAL_FEE: Final = 10 * 10**18
NODE_OPERATORS_FEE: Final = 5 * 10**18
#: Share rates are quoted with 27 decimals (Lido's docs and WithdrawalQueue's E27_PRECISION_BASE).
E27: Final = 10**27


def get_pooled_eth_by_shares(shares: int, *, total_pooled_ether: int, total_shares: int) -> int:
    """StETH.getPooledEthByShares: ``_sharesAmount * _getTotalPooledEther() / _getTotalShares()``."""
    return shares * total_pooled_ether // total_shares


def get_shares_by_pooled_eth(ether: int, *, total_pooled_ether: int, total_shares: int) -> int:
    """StETH.getSharesByPooledEth: ``_ethAmount * _getTotalShares() / _getTotalPooledEther()``."""
    return ether * total_shares // total_pooled_ether


def share_rate(total_pooled_ether: int, total_shares: int) -> int:
    """ETH per share with 27 decimals, as Lido's APR formula: ``totalEther * 1e27 / totalShares``."""
    return total_pooled_ether * E27 // total_shares


def shares_minted_as_fees(
    total_rewards: int, *, pre_total_pooled_ether: int, pre_total_shares: int, total_fee: int = TOTAL_FEE
) -> int:
    """Lido._distributeFee: shares worth exactly ``total_fee`` of the rewards at the post-report rate.

    rewards * fee * preShares / ((prePooled + rewards) * PRECISION - rewards * fee); no fee on a loss (LIP-12).
    """
    if total_rewards <= 0:
        return 0
    total_pooled_ether_with_rewards = pre_total_pooled_ether + total_rewards
    return (total_rewards * total_fee * pre_total_shares) // (
        total_pooled_ether_with_rewards * FEE_PRECISION_POINTS - total_rewards * total_fee
    )


def node_operator_fee_shares(minted: int) -> int:
    """Lido._transferModuleRewards for one module: ``totalRewards * moduleFee / totalFee``; the rest is treasury's."""
    return minted * NODE_OPERATORS_FEE // TOTAL_FEE
