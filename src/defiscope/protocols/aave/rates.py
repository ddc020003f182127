"""Aave V3's interest-rate strategy and index accrual, ported exactly from `@aave/core-v3` 1.19.3.

Mirrors ``DefaultReserveInterestRateStrategy.calculateInterestRates`` (variable and stable borrow rates,
liquidity rate; unbacked and stable debt as in the contract), ``MathUtils.calculateLinearInterest`` /
``calculateCompoundedInterest`` (the 3-term binomial approximation), ``ReserveLogic._updateIndexes``,
``Pool.getReserveNormalizedIncome`` / ``getReserveNormalizedVariableDebt`` and the flash-loan premium
split of ``FlashLoanLogic``. Same constants, same order of operations, same rounding (WadRayMath and
PercentageMath round half up): results equal the contracts' to the unit. No I/O.

    >>> weth = RateStrategy(optimal_usage_ratio=9 * RAY // 10, base_variable_borrow_rate=0,
    ...     variable_rate_slope1=27 * RAY // 1000, variable_rate_slope2=8 * RAY // 10,
    ...     stable_rate_slope1=27 * RAY // 1000, stable_rate_slope2=8 * RAY // 10)
    >>> rates = weth.calculate_interest_rates(RateInputs(available_liquidity=60 * 10**18,
    ...     total_variable_debt=40 * 10**18, reserve_factor=1500))
    >>> rates.variable_borrow_rate == 12 * RAY // 1000          # 2.7 % x 40 % / 90 %
    True
    >>> rates.liquidity_rate == 12 * RAY // 1000 * 4 // 10 * 85 // 100
    True
    >>> calculate_compounded_interest(RAY // 10, 0, SECONDS_PER_YEAR)   # 10 % a year, per-second: ~ e**0.1
    1105162042821782412575504000
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from defiscope.protocols.lending.rates import (
    PERCENTAGE_FACTOR,
    RAY,
    SECONDS_PER_YEAR,
    KinkModel,
    percent_mul,
    ray_div,
    ray_mul,
    wad_to_ray,
)

__all__ = [
    "RAY",
    "SECONDS_PER_YEAR",
    "FlashLoanPremium",
    "InterestRates",
    "RateInputs",
    "RateStrategy",
    "calculate_compounded_interest",
    "calculate_linear_interest",
    "flash_loan_premium",
    "next_indexes",
    "normalized_income",
    "normalized_variable_debt",
]

#: DataTypes.InterestRateMode
STABLE: Final = 1
VARIABLE: Final = 2


@dataclass(frozen=True, slots=True)
class RateInputs:
    """``DataTypes.CalculateInterestRatesParams``, with the strategy's one read made an input.

    ``available_liquidity`` is ``IERC20(reserve).balanceOf(aToken)`` (before ``liquidity_added`` and
    ``liquidity_taken`` of the operation being priced); debts are in the reserve's units, rates in ray,
    ``reserve_factor`` in basis points.
    """

    available_liquidity: int
    total_variable_debt: int = 0
    total_stable_debt: int = 0
    average_stable_borrow_rate: int = 0
    reserve_factor: int = 0
    unbacked: int = 0
    liquidity_added: int = 0
    liquidity_taken: int = 0


@dataclass(frozen=True, slots=True)
class InterestRates:
    """All in ray (annual, simple): what ``calculateInterestRates`` returns, in its order."""

    liquidity_rate: int
    stable_borrow_rate: int
    variable_borrow_rate: int


@dataclass(frozen=True, slots=True)
class RateStrategy:
    """One ``DefaultReserveInterestRateStrategy``'s immutables (its constructor arguments), in ray."""

    optimal_usage_ratio: int
    base_variable_borrow_rate: int
    variable_rate_slope1: int
    variable_rate_slope2: int
    stable_rate_slope1: int = 0
    stable_rate_slope2: int = 0
    base_stable_rate_offset: int = 0
    stable_rate_excess_offset: int = 0
    optimal_stable_to_total_debt_ratio: int = 0

    def __post_init__(self) -> None:
        # The constructor's own check (Errors.INVALID_OPTIMAL_USAGE_RATIO / ..._STABLE_TO_TOTAL_DEBT_RATIO).
        if not 0 <= self.optimal_usage_ratio <= RAY:
            raise ValueError(f"optimal usage ratio {self.optimal_usage_ratio} is above 1 ray")
        if not 0 <= self.optimal_stable_to_total_debt_ratio <= RAY:
            raise ValueError(f"optimal stable ratio {self.optimal_stable_to_total_debt_ratio} is above 1 ray")

    @property
    def max_excess_usage_ratio(self) -> int:
        return RAY - self.optimal_usage_ratio

    @property
    def max_excess_stable_to_total_debt_ratio(self) -> int:
        return RAY - self.optimal_stable_to_total_debt_ratio

    @property
    def base_stable_borrow_rate(self) -> int:
        """``getBaseStableBorrowRate``: slope 1 plus the stable offset."""
        return self.variable_rate_slope1 + self.base_stable_rate_offset

    @property
    def max_variable_borrow_rate(self) -> int:
        return self.base_variable_borrow_rate + self.variable_rate_slope1 + self.variable_rate_slope2

    @property
    def kink(self) -> KinkModel:
        """The variable curve as the shared kink model (exact fractions, for plots and comparisons)."""
        return KinkModel(
            self.base_variable_borrow_rate,
            self.variable_rate_slope1,
            self.variable_rate_slope2,
            self.optimal_usage_ratio,
            RAY,
        )

    def calculate_interest_rates(self, params: RateInputs) -> InterestRates:
        """``calculateInterestRates``: (liquidity rate, stable borrow rate, variable borrow rate)."""
        total_debt = params.total_stable_debt + params.total_variable_debt
        variable_rate = self.base_variable_borrow_rate
        stable_rate = self.base_stable_borrow_rate
        stable_to_total = borrow_usage = supply_usage = 0
        if total_debt != 0:
            stable_to_total = ray_div(params.total_stable_debt, total_debt)
            available = params.available_liquidity + params.liquidity_added - params.liquidity_taken
            if available < 0:
                raise ValueError("liquidity taken exceeds the available liquidity (the contract underflows)")
            borrow_usage = ray_div(total_debt, available + total_debt)
            supply_usage = ray_div(total_debt, available + total_debt + params.unbacked)

        if borrow_usage > self.optimal_usage_ratio:
            excess = ray_div(borrow_usage - self.optimal_usage_ratio, self.max_excess_usage_ratio)
            stable_rate += self.stable_rate_slope1 + ray_mul(self.stable_rate_slope2, excess)
            variable_rate += self.variable_rate_slope1 + ray_mul(self.variable_rate_slope2, excess)
        else:
            stable_rate += ray_div(ray_mul(self.stable_rate_slope1, borrow_usage), self.optimal_usage_ratio)
            variable_rate += ray_div(ray_mul(self.variable_rate_slope1, borrow_usage), self.optimal_usage_ratio)

        if stable_to_total > self.optimal_stable_to_total_debt_ratio:
            excess_stable = ray_div(
                stable_to_total - self.optimal_stable_to_total_debt_ratio, self.max_excess_stable_to_total_debt_ratio
            )
            stable_rate += ray_mul(self.stable_rate_excess_offset, excess_stable)

        overall = overall_borrow_rate(
            params.total_stable_debt, params.total_variable_debt, variable_rate, params.average_stable_borrow_rate
        )
        liquidity_rate = percent_mul(ray_mul(overall, supply_usage), PERCENTAGE_FACTOR - params.reserve_factor)
        return InterestRates(liquidity_rate, stable_rate, variable_rate)


def overall_borrow_rate(
    total_stable_debt: int, total_variable_debt: int, variable_rate: int, average_stable_rate: int
) -> int:
    """``_getOverallBorrowRate``: the debt-weighted mean of the variable and average stable rates."""
    total_debt = total_stable_debt + total_variable_debt
    if total_debt == 0:
        return 0
    weighted_variable = ray_mul(wad_to_ray(total_variable_debt), variable_rate)
    weighted_stable = ray_mul(wad_to_ray(total_stable_debt), average_stable_rate)
    return ray_div(weighted_variable + weighted_stable, wad_to_ray(total_debt))


# ---- MathUtils --------------------------------------------------------------------------------------


def calculate_linear_interest(rate: int, last_update: int, now: int) -> int:
    """``MathUtils.calculateLinearInterest``: RAY + rate * elapsed / SECONDS_PER_YEAR (rounded down)."""
    return RAY + rate * (now - last_update) // SECONDS_PER_YEAR


def calculate_compounded_interest(rate: int, last_update: int, now: int) -> int:
    """``MathUtils.calculateCompoundedInterest``: (1 + x)^n by its first three binomial terms.

    x = rate / SECONDS_PER_YEAR per second, n = elapsed seconds:
    ``1 + n·x + n(n-1)/2·x² + n(n-1)(n-2)/6·x³``, each power divided down as the contract does (so it
    slightly undercharges borrowers compared with true compounding).
    """
    exp = now - last_update
    if exp == 0:
        return RAY
    exp_minus_one = exp - 1
    exp_minus_two = exp - 2 if exp > 2 else 0
    base_power_two = ray_mul(rate, rate) // (SECONDS_PER_YEAR * SECONDS_PER_YEAR)
    base_power_three = ray_mul(base_power_two, rate) // SECONDS_PER_YEAR
    second_term = exp * exp_minus_one * base_power_two // 2
    third_term = exp * exp_minus_one * exp_minus_two * base_power_three // 6
    return RAY + rate * exp // SECONDS_PER_YEAR + second_term + third_term


# ---- ReserveLogic / Pool views ----------------------------------------------------------------------


def next_indexes(
    *,
    liquidity_index: int,
    variable_borrow_index: int,
    liquidity_rate: int,
    variable_borrow_rate: int,
    scaled_variable_debt: int,
    last_update: int,
    now: int,
) -> tuple[int, int]:
    """``ReserveLogic._updateIndexes``: the (liquidity, variable borrow) indexes at ``now``.

    The supply side grows linearly and only while the liquidity rate is positive; the borrow index
    compounds and only while there is variable debt (a positive base rate alone must not move it).
    """
    if last_update == now:  # updateState skips reserves already updated in this block
        return liquidity_index, variable_borrow_index
    if liquidity_rate != 0:
        liquidity_index = ray_mul(calculate_linear_interest(liquidity_rate, last_update, now), liquidity_index)
    if scaled_variable_debt != 0:
        growth = calculate_compounded_interest(variable_borrow_rate, last_update, now)
        variable_borrow_index = ray_mul(growth, variable_borrow_index)
    return liquidity_index, variable_borrow_index


def normalized_income(liquidity_index: int, liquidity_rate: int, last_update: int, now: int) -> int:
    """``ReserveLogic.getNormalizedIncome`` (``Pool.getReserveNormalizedIncome``): aToken balance = scaled x this."""
    if last_update == now:
        return liquidity_index
    return ray_mul(calculate_linear_interest(liquidity_rate, last_update, now), liquidity_index)


def normalized_variable_debt(variable_borrow_index: int, variable_borrow_rate: int, last_update: int, now: int) -> int:
    """``ReserveLogic.getNormalizedDebt``: variable debt balance = scaled x this."""
    if last_update == now:
        return variable_borrow_index
    return ray_mul(calculate_compounded_interest(variable_borrow_rate, last_update, now), variable_borrow_index)


# ---- flash loans --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FlashLoanPremium:
    total: int  # what the borrower pays on top of the amount
    to_protocol: int  # accrued to the treasury
    to_suppliers: int  # added to the liquidity index


def flash_loan_premium(amount: int, premium_total: int, premium_to_protocol: int = 0) -> FlashLoanPremium:
    """``FlashLoanLogic``: ``amount.percentMul(FLASHLOAN_PREMIUM_TOTAL)``, then the protocol's share of it.

    Both premiums are in basis points (Aave V3 Ethereum: total 5 = 0.05 %).
    """
    total = percent_mul(amount, premium_total)
    to_protocol = percent_mul(total, premium_to_protocol)
    return FlashLoanPremium(total, to_protocol, total - to_protocol)
