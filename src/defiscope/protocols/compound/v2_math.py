"""Compound V2 market and account math, exact: CToken accrual and exchange rate, Comptroller liquidity.

Mirrors compound-protocol's CToken.accrueInterest, exchangeRateStoredInternal, borrowBalanceStoredInternal
and Comptroller.getHypotheticalAccountLiquidityInternal (Exponential.sol's truncating mul_, same order).

    >>> m = CTokenState(cash=10**12, borrows=10**12, reserves=0, total_supply=5 * 10**15,
    ...                 borrow_index=10**18, reserve_factor=75 * 10**15, accrual_block=100)
    >>> m.exchange_rate_stored()        # (cash + borrows - reserves) * 1e18 / supply
    400000000000000
    >>> later = m.accrue(block=110, borrow_rate_per_block=10**10)
    >>> later.borrows - m.borrows, later.reserves      # 10 blocks of 1e-8, 7.5 % to reserves
    (100000, 7500)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from defiscope.protocols.compound.rates import BORROW_RATE_MAX_MANTISSA, RateModelError
from defiscope.protocols.lending.rates import WAD


@dataclass(frozen=True, slots=True)
class CTokenState:
    """What accrual and the exchange rate read from a cToken (raw units of the underlying and cTokens)."""

    cash: int
    borrows: int
    reserves: int
    total_supply: int
    borrow_index: int
    reserve_factor: int
    accrual_block: int
    initial_exchange_rate: int = 0

    def exchange_rate_stored(self) -> int:
        """exchangeRateStoredInternal: the initial rate before any supply."""
        if self.total_supply == 0:
            return self.initial_exchange_rate
        return (self.cash + self.borrows - self.reserves) * WAD // self.total_supply

    def accrue(self, block: int, borrow_rate_per_block: int) -> CTokenState:
        """accrueInterest at ``block`` with the model's rate at this state (simple interest per block)."""
        if block < self.accrual_block:
            raise RateModelError(f"block {block} is before the last accrual {self.accrual_block}")
        if block == self.accrual_block:
            return self
        if borrow_rate_per_block > BORROW_RATE_MAX_MANTISSA:
            raise RateModelError(f"borrow rate {borrow_rate_per_block} per block is absurdly high")
        simple_interest_factor = borrow_rate_per_block * (block - self.accrual_block)
        interest_accumulated = simple_interest_factor * self.borrows // WAD
        return replace(
            self,
            borrows=interest_accumulated + self.borrows,
            reserves=self.reserve_factor * interest_accumulated // WAD + self.reserves,
            borrow_index=simple_interest_factor * self.borrow_index // WAD + self.borrow_index,
            accrual_block=block,
        )


def borrow_balance_stored(principal: int, interest_index: int, borrow_index: int) -> int:
    """borrowBalanceStoredInternal: principal * borrowIndex / interestIndex."""
    if principal == 0:
        return 0
    return principal * borrow_index // interest_index


def underlying_of(ctokens: int, exchange_rate: int) -> int:
    """cTokens to underlying as redeem computes it: exchangeRate * tokens / 1e18."""
    return exchange_rate * ctokens // WAD


@dataclass(frozen=True, slots=True)
class AccountAsset:
    """One market an account entered: getAccountSnapshot, the collateral factor and the oracle price."""

    ctoken_balance: int
    borrow_balance: int
    exchange_rate: int
    collateral_factor: int
    price: int  # oracle.getUnderlyingPrice: USD * 1e36 / 10**underlying decimals


@dataclass(frozen=True, slots=True)
class AccountLiquidity:
    """getAccountLiquidity's (liquidity, shortfall) plus the two sums, all in USD scaled by 1e18."""

    collateral: int
    borrows: int

    @property
    def liquidity(self) -> int:
        return max(self.collateral - self.borrows, 0)

    @property
    def shortfall(self) -> int:
        return max(self.borrows - self.collateral, 0)

    @property
    def liquidatable(self) -> bool:
        """liquidateBorrowAllowed admits a liquidation only in shortfall."""
        return self.shortfall > 0


def account_liquidity(assets: Sequence[AccountAsset]) -> AccountLiquidity:
    """getHypotheticalAccountLiquidityInternal without a hypothetical action."""
    sum_collateral = 0
    sum_borrow_plus_effects = 0
    for a in assets:
        if a.price == 0:
            raise RateModelError("the oracle has no price for a market the account is in")
        tokens_to_denom = (a.collateral_factor * a.exchange_rate // WAD) * a.price // WAD
        sum_collateral = tokens_to_denom * a.ctoken_balance // WAD + sum_collateral
        sum_borrow_plus_effects = a.price * a.borrow_balance // WAD + sum_borrow_plus_effects
    # The contract reports liquidity only when collateral strictly exceeds borrows; equal is (0, 0).
    return AccountLiquidity(sum_collateral, sum_borrow_plus_effects)
