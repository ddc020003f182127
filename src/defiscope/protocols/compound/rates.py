"""Compound's interest-rate models, exact: JumpRateModelV2 (V2, per block) and Comet's curves (III, per second).

Both are the shared kink shape (`lending.rates.KinkModel`) with Compound's own parameterisation and
integer rounding, which these ports keep so their results equal the contracts' to the unit.

    >>> usdc = JumpRateModelV2.from_per_year(0, 5 * 10**16, 109 * 10**16, 8 * 10**17)
    >>> usdc.multiplier_per_block, usdc.jump_multiplier_per_block
    (29727929984, 518455098934)
    >>> usdc.borrow_rate(cash=4 * 10**12, borrows=6 * 10**12, reserves=0)      # 60 % utilisation
    17836757990
    >>> comet = CometRates.from_per_year(9 * 10**17, 54 * 10**15, 33 * 10**17, 0,
    ...                                  9 * 10**17, 555 * 10**14, 48 * 10**17, 15 * 10**15)
    >>> comet.borrow_rate(6 * 10**17)        # per second, 1e18 = 100 %
    1531582952

APR = per-block rate x 2,628,000 blocks a year (`ETHEREUM_BLOCKS_PER_YEAR`, `lending.rates.per_block_to_apr`)
or per-second rate x seconds a year (`per_second_to_apr`); APY compounds it per block or per second
(`apr_to_apy`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from defiscope.errors import DefiscopeError
from defiscope.protocols.lending.rates import COMPOUND_V2_BLOCKS_PER_YEAR, SECONDS_PER_YEAR, WAD, KinkModel

#: Ethereum blocks a year since the merge (one 12-second slot each): what a per-block rate is paid over.
#: JumpRateModelV2's own `blocksPerYear` (2,102,400, 15-second blocks) only turns its per-year parameters
#: into per-block ones (`JumpRateModelV2.from_per_year`).
ETHEREUM_BLOCKS_PER_YEAR: Final = 2_628_000

#: CToken.borrowRateMaxMantissa: accrueInterest reverts above 0.0005 % per block.
BORROW_RATE_MAX_MANTISSA: Final = 5 * 10**12


class RateModelError(DefiscopeError):
    """Inputs the contract would reject (negative amounts, reserves above cash + borrows)."""


def _check_amounts(cash: int, borrows: int, reserves: int) -> None:
    if min(cash, borrows, reserves) < 0:
        raise RateModelError(f"negative amount: cash={cash} borrows={borrows} reserves={reserves}")
    if borrows and cash + borrows - reserves <= 0:
        raise RateModelError(f"reserves {reserves} exceed cash + borrows {cash + borrows}")


UINT256_MAX: Final = 2**256 - 1


def _checked(value: int) -> int:
    """Solidity 0.8's checked arithmetic: a result past uint256 reverts the contract (panic 0x11)."""
    if not 0 <= value <= UINT256_MAX:
        raise RateModelError(f"arithmetic overflow or underflow ({value.bit_length()}-bit intermediate)")
    return value


@dataclass(frozen=True, slots=True)
class JumpRateModelV2:
    """BaseJumpRateModelV2 (compound-protocol), all mantissas per block, scaled by 1e18."""

    base_rate_per_block: int
    multiplier_per_block: int
    jump_multiplier_per_block: int
    kink: int
    blocks_per_year: int = COMPOUND_V2_BLOCKS_PER_YEAR

    @classmethod
    def from_per_year(
        cls,
        base_rate_per_year: int,
        multiplier_per_year: int,
        jump_multiplier_per_year: int,
        kink: int,
        blocks_per_year: int = COMPOUND_V2_BLOCKS_PER_YEAR,
    ) -> JumpRateModelV2:
        """updateJumpRateModelInternal: the multiplier is per unit of utilisation up to the kink."""
        if kink <= 0:
            raise RateModelError("kink must be positive")
        return cls(
            base_rate_per_block=base_rate_per_year // blocks_per_year,
            multiplier_per_block=(multiplier_per_year * WAD) // (blocks_per_year * kink),
            jump_multiplier_per_block=jump_multiplier_per_year // blocks_per_year,
            kink=kink,
            blocks_per_year=blocks_per_year,
        )

    @staticmethod
    def utilization_rate(cash: int, borrows: int, reserves: int) -> int:
        """utilizationRate: borrows / (cash + borrows - reserves), 0 without borrows."""
        _check_amounts(cash, borrows, reserves)
        if borrows == 0:
            return 0
        return _checked(borrows * WAD) // _checked(cash + borrows - reserves)

    def borrow_rate(self, cash: int, borrows: int, reserves: int) -> int:
        """getBorrowRate: per block; the jump multiplier applies to utilisation above the kink."""
        util = self.utilization_rate(cash, borrows, reserves)
        if util <= self.kink:
            return _checked(_checked(util * self.multiplier_per_block) // WAD + self.base_rate_per_block)
        normal_rate = _checked(_checked(self.kink * self.multiplier_per_block) // WAD + self.base_rate_per_block)
        excess_util = util - self.kink
        return _checked(_checked(excess_util * self.jump_multiplier_per_block) // WAD + normal_rate)

    def supply_rate(self, cash: int, borrows: int, reserves: int, reserve_factor: int) -> int:
        """getSupplyRate: utilisation x borrow rate x (1 - reserve factor), truncated in that order."""
        if not 0 <= reserve_factor <= WAD:
            raise RateModelError(f"reserve factor {reserve_factor} outside [0, 1e18]")
        one_minus_reserve_factor = WAD - reserve_factor
        borrow_rate = self.borrow_rate(cash, borrows, reserves)
        rate_to_pool = _checked(borrow_rate * one_minus_reserve_factor) // WAD
        return _checked(self.utilization_rate(cash, borrows, reserves) * rate_to_pool) // WAD

    def kink_model(self) -> KinkModel:
        """The same curve in the shared shape (per block, 1e18 = 100 %), for comparisons across protocols."""
        return KinkModel.from_multipliers(
            self.base_rate_per_block, self.multiplier_per_block, self.jump_multiplier_per_block, self.kink
        )


@dataclass(frozen=True, slots=True)
class CometRates:
    """Comet's supply and borrow curves (CometCore), per second, scaled by 1e18 (FACTOR_SCALE)."""

    supply_kink: int
    supply_slope_low: int
    supply_slope_high: int
    supply_base: int
    borrow_kink: int
    borrow_slope_low: int
    borrow_slope_high: int
    borrow_base: int

    @classmethod
    def from_per_year(
        cls,
        supply_kink: int,
        supply_slope_low: int,
        supply_slope_high: int,
        supply_base: int,
        borrow_kink: int,
        borrow_slope_low: int,
        borrow_slope_high: int,
        borrow_base: int,
    ) -> CometRates:
        """Comet's constructor: each per-year parameter divided by SECONDS_PER_YEAR (rounded down)."""
        y = SECONDS_PER_YEAR
        return cls(
            supply_kink,
            supply_slope_low // y,
            supply_slope_high // y,
            supply_base // y,
            borrow_kink,
            borrow_slope_low // y,
            borrow_slope_high // y,
            borrow_base // y,
        )

    def supply_rate(self, utilization: int) -> int:
        """Comet.getSupplyRate."""
        return _kinked(utilization, self.supply_kink, self.supply_base, self.supply_slope_low, self.supply_slope_high)

    def borrow_rate(self, utilization: int) -> int:
        """Comet.getBorrowRate."""
        return _kinked(utilization, self.borrow_kink, self.borrow_base, self.borrow_slope_low, self.borrow_slope_high)


def mul_factor(n: int, factor: int) -> int:
    """CometMath mulFactor: n * factor / FACTOR_SCALE."""
    return n * factor // WAD


def _kinked(utilization: int, kink: int, base: int, low: int, high: int) -> int:
    if utilization < 0:
        raise RateModelError(f"negative utilisation {utilization}")
    if utilization <= kink:
        return base + mul_factor(low, utilization)
    return base + mul_factor(low, kink) + mul_factor(high, utilization - kink)
