"""EigenLayer StrategyBase share math, ported with Python ints (same constants, same order of operations).

Shares are priced with virtual offsets (1e3 shares and 1e3 wei of balance) against the inflation attack, so
one share is worth (balance + 1e3) / (totalShares + 1e3) underlying.

>>> shares_to_underlying(10**18, total_shares=10**18, token_balance=2 * 10**18)
1999999999999999000
>>> underlying_to_shares(2 * 10**18, total_shares=10**18, token_balance=2 * 10**18)
1000000000000000499
>>> deposit_shares(10**18, total_shares=0, token_balance_after=10**18)
1000000000000000000
"""

from __future__ import annotations

from typing import Final

SHARES_OFFSET: Final = 10**3
BALANCE_OFFSET: Final = 10**3


def shares_to_underlying(amount_shares: int, *, total_shares: int, token_balance: int) -> int:
    """StrategyBase.sharesToUnderlyingView: (virtualTokenBalance * amountShares) / virtualTotalShares."""
    virtual_total_shares = total_shares + SHARES_OFFSET
    virtual_token_balance = token_balance + BALANCE_OFFSET
    return (virtual_token_balance * amount_shares) // virtual_total_shares


def underlying_to_shares(amount_underlying: int, *, total_shares: int, token_balance: int) -> int:
    """StrategyBase.underlyingToSharesView: (amountUnderlying * virtualTotalShares) / virtualTokenBalance."""
    virtual_total_shares = total_shares + SHARES_OFFSET
    virtual_token_balance = token_balance + BALANCE_OFFSET
    return (amount_underlying * virtual_total_shares) // virtual_token_balance


def deposit_shares(amount: int, *, total_shares: int, token_balance_after: int) -> int:
    """StrategyBase.deposit: new shares for ``amount`` already transferred in (balance includes it)."""
    virtual_share_amount = total_shares + SHARES_OFFSET
    virtual_token_balance = token_balance_after + BALANCE_OFFSET
    virtual_prior_token_balance = virtual_token_balance - amount
    return (amount * virtual_share_amount) // virtual_prior_token_balance
