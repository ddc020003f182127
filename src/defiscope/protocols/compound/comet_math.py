"""Compound III (Comet) market and account math, exact: index accrual, present values, liquidity.

Mirrors Comet.sol / CometCore.sol: BASE_INDEX_SCALE 1e15 indices, FACTOR_SCALE 1e18 rates and factors,
8-decimal prices; principal -> present value rounds down, present -> principal rounds a borrow up.

    >>> s = CometState(supply_index=10**15, borrow_index=10**15, total_supply_base=10**13,
    ...                total_borrow_base=6 * 10**12, last_accrual=0)
    >>> s.utilization()                               # 60 %
    600000000000000000
    >>> rates = CometRates(9 * 10**17, 1712328767, 104642313546, 0, 9 * 10**17, 1759893455, 152207001522,
    ...                    475646879)
    >>> s.accrued(rates, 86_400).borrow_index         # one day of interest on the borrow index
    1000132328767052
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

from defiscope.protocols.compound.rates import CometRates, RateModelError, mul_factor
from defiscope.protocols.lending.rates import WAD

BASE_INDEX_SCALE: Final = 10**15
PRICE_SCALE: Final = 10**8


@dataclass(frozen=True, slots=True)
class CometState:
    supply_index: int
    borrow_index: int
    total_supply_base: int
    total_borrow_base: int
    last_accrual: int  # unix seconds

    @classmethod
    def from_totals_basic(cls, totals: Sequence[int]) -> CometState:
        """CometExt.totalsBasic(): (baseSupplyIndex, baseBorrowIndex, trackingSupplyIndex, trackingBorrowIndex,
        totalSupplyBase, totalBorrowBase, lastAccrualTime, pauseFlags) -- the market's internal storage."""
        supply_index, borrow_index, _, _, total_supply_base, total_borrow_base, last_accrual, _ = totals
        return cls(supply_index, borrow_index, total_supply_base, total_borrow_base, last_accrual)

    def total_supply(self) -> int:
        return present_value_supply(self.supply_index, self.total_supply_base)

    def total_borrow(self) -> int:
        return present_value_borrow(self.borrow_index, self.total_borrow_base)

    def utilization(self) -> int:
        """Comet.getUtilization: totalBorrow / totalSupply at the stored indices."""
        supply = self.total_supply()
        return 0 if supply == 0 else self.total_borrow() * WAD // supply

    def accrued(self, rates: CometRates, elapsed: int) -> CometState:
        """accruedInterestIndices(elapsed): both indices grow by rate x time, rates at the current utilisation."""
        if elapsed < 0:
            raise RateModelError(f"negative elapsed time {elapsed}")
        if elapsed == 0:
            return self
        utilization = self.utilization()
        supply_rate = rates.supply_rate(utilization)
        borrow_rate = rates.borrow_rate(utilization)
        return replace(
            self,
            supply_index=self.supply_index + mul_factor(self.supply_index, supply_rate * elapsed),
            borrow_index=self.borrow_index + mul_factor(self.borrow_index, borrow_rate * elapsed),
            last_accrual=self.last_accrual + elapsed,
        )

    def present_value(self, principal: int) -> int:
        """CometCore.presentValue: signed, supply positive and borrow negative."""
        if principal >= 0:
            return present_value_supply(self.supply_index, principal)
        return -present_value_borrow(self.borrow_index, -principal)

    def principal_value(self, present: int) -> int:
        """CometCore.principalValue: the inverse, a borrow rounding up."""
        if present >= 0:
            return principal_value_supply(self.supply_index, present)
        return -principal_value_borrow(self.borrow_index, -present)


def present_value_supply(index: int, principal: int) -> int:
    return principal * index // BASE_INDEX_SCALE


def present_value_borrow(index: int, principal: int) -> int:
    return principal * index // BASE_INDEX_SCALE


def principal_value_supply(index: int, present: int) -> int:
    return present * BASE_INDEX_SCALE // index


def principal_value_borrow(index: int, present: int) -> int:
    """Rounds up, so the protocol never under-counts a debt."""
    return (present * BASE_INDEX_SCALE + index - 1) // index


def _div_toward_zero(a: int, b: int) -> int:
    """Solidity's signed division truncates toward zero (Python's // floors)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def signed_mul_price(n: int, price: int, scale: int) -> int:
    """CometMath signedMulPrice: n * price / fromScale, truncating toward zero."""
    return _div_toward_zero(n * price, scale)


@dataclass(frozen=True, slots=True)
class CollateralHolding:
    balance: int
    scale: int  # 10**asset decimals
    price: int  # 8 decimals
    borrow_collateral_factor: int
    liquidate_collateral_factor: int


def liquidity(
    state: CometState,
    principal: int,
    base_price: int,
    base_scale: int,
    collateral: Sequence[CollateralHolding],
    *,
    liquidate: bool,
) -> int:
    """The USD (8 decimals) margin isBorrowCollateralized (>= 0 passes) or isLiquidatable (< 0) computes.

    With no borrow the contracts answer without prices: this returns 0 then.
    """
    if principal >= 0:
        return 0
    margin = signed_mul_price(state.present_value(principal), base_price, base_scale)
    for c in collateral:
        if c.balance == 0:
            continue
        value = c.balance * c.price // c.scale
        factor = c.liquidate_collateral_factor if liquidate else c.borrow_collateral_factor
        margin += mul_factor(value, factor)
    return margin


def is_liquidatable(
    state: CometState, principal: int, base_price: int, base_scale: int, collateral: Sequence[CollateralHolding]
) -> bool:
    """Comet.isLiquidatable."""
    return liquidity(state, principal, base_price, base_scale, collateral, liquidate=True) < 0
