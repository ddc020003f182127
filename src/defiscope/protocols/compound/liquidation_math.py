"""Compound liquidations, exact: V2 `liquidateBorrow` seizing and Comet `absorb` / `buyCollateral` quotes.

Mirrors Comptroller.liquidateCalculateSeizeTokens and CToken.seizeInternal (compound-protocol), and
Comet.absorbInternal and Comet.quoteCollateral (compound-finance/comet), same order of truncations.

    >>> # $1,000 of USDC repaid, 8 % incentive: $1,080 of WETH = 0.36 WETH = 18 cWETH at 0.02 WETH each
    >>> seize_tokens(108 * 10**16, 10**30, 3000 * 10**18, 2 * 10**26, 1000 * 10**6)
    1800000000
    >>> seize_split(1_800_000_000, 2 * 10**26)      # 2.8 % of it goes to reserves (as underlying)
    SeizeSplit(liquidator_tokens=1749600000, protocol_tokens=50400000, protocol_amount=10080000000000000)
    >>> # 1,000 USDC buys WETH at $3,000 less 0.6 x (1 - 0.95) = 3 %: 1000 / 2910 WETH
    >>> quote_collateral(3000 * 10**8, 95 * 10**16, 6 * 10**17, 10**8, 1000 * 10**6, 10**18, 10**6)
    343642611683848797
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from defiscope.protocols.compound.comet_math import CometState
from defiscope.protocols.compound.rates import mul_factor
from defiscope.protocols.lending.rates import WAD

#: CTokenInterfaces.protocolSeizeShareMantissa: 2.8 % of seized cTokens become reserves.
PROTOCOL_SEIZE_SHARE: Final = 28 * 10**15


def max_close(close_factor: int, borrow_balance: int) -> int:
    """Comptroller.liquidateBorrowAllowed's cap: closeFactor x the stored borrow balance."""
    return close_factor * borrow_balance // WAD


def seize_tokens(
    liquidation_incentive: int, price_borrowed: int, price_collateral: int, exchange_rate: int, repay_amount: int
) -> int:
    """liquidateCalculateSeizeTokens: collateral cTokens for ``repay_amount`` of the borrowed underlying.

    ratio = (incentive x priceBorrowed) / (priceCollateral x exchangeRate), each Exp product truncated;
    prices are the oracle's (USD x 1e36 / 10**decimals), the exchange rate the collateral's stored one.
    """
    return seize_ratio(liquidation_incentive, price_borrowed, price_collateral, exchange_rate) * repay_amount // WAD


def seize_ratio(liquidation_incentive: int, price_borrowed: int, price_collateral: int, exchange_rate: int) -> int:
    """Collateral cTokens per borrowed underlying unit, as a 1e18 mantissa (truncated as Exponential.div_)."""
    numerator = liquidation_incentive * price_borrowed // WAD
    denominator = price_collateral * exchange_rate // WAD
    return numerator * WAD // denominator


def max_repay_for_collateral(
    liquidation_incentive: int, price_borrowed: int, price_collateral: int, exchange_rate: int, ctoken_balance: int
) -> int:
    """The largest repayment whose `seize_tokens` does not exceed ``ctoken_balance``."""
    ratio = seize_ratio(liquidation_incentive, price_borrowed, price_collateral, exchange_rate)
    # seize = ratio * repay // 1e18 <= balance  <=>  ratio * repay < (balance + 1) * 1e18
    return ((ctoken_balance + 1) * WAD - 1) // ratio


@dataclass(frozen=True, slots=True)
class SeizeSplit:
    """CToken.seizeInternal: cTokens to the liquidator, cTokens burnt, and the underlying added to reserves."""

    liquidator_tokens: int
    protocol_tokens: int
    protocol_amount: int


def seize_split(seized: int, exchange_rate: int) -> SeizeSplit:
    protocol_tokens = seized * PROTOCOL_SEIZE_SHARE // WAD
    return SeizeSplit(seized - protocol_tokens, protocol_tokens, exchange_rate * protocol_tokens // WAD)


# ------------------------------------------------------------------------------------------ Comet


@dataclass(frozen=True, slots=True)
class AbsorbedAsset:
    """One collateral the absorbed account holds: balance, 10**decimals, 8-decimal price, liquidationFactor."""

    balance: int
    scale: int
    price: int
    liquidation_factor: int

    @property
    def value(self) -> int:
        """mulPrice: USD with 8 decimals."""
        return self.balance * self.price // self.scale


@dataclass(frozen=True, slots=True)
class Absorption:
    """absorbInternal's outcome: the new principal, the base the reserves paid and the totals' moves."""

    new_principal: int
    base_paid_out: int
    repay_amount: int  # totalBorrowBase falls by it
    supply_amount: int  # totalSupplyBase grows by it


def absorb(
    state: CometState, principal: int, base_price: int, base_scale: int, collateral: Sequence[AbsorbedAsset]
) -> Absorption:
    """Comet.absorbInternal at ``state`` (already accrued to the absorb's block): all collateral is taken and
    its value times liquidationFactor credited in base; the balance is floored at zero (reserves pay the rest).
    """
    old_balance = state.present_value(principal)
    delta_value = sum(mul_factor(c.value, c.liquidation_factor) for c in collateral if c.balance)
    delta_balance = delta_value * base_scale // base_price  # divPrice
    new_balance = max(old_balance + delta_balance, 0)
    new_principal = state.principal_value(new_balance)
    repay, supply = repay_and_supply_amount(principal, new_principal)
    return Absorption(new_principal, new_balance - old_balance, repay, supply)


def repay_and_supply_amount(old_principal: int, new_principal: int) -> tuple[int, int]:
    """CometCore.repayAndSupplyAmount: how a principal increase splits into repaid borrow and new supply."""
    if new_principal < old_principal:
        return 0, 0
    if new_principal <= 0:
        return new_principal - old_principal, 0
    if old_principal >= 0:
        return 0, new_principal - old_principal
    return -old_principal, new_principal


def quote_collateral(
    asset_price: int,
    liquidation_factor: int,
    store_front_price_factor: int,
    base_price: int,
    base_amount: int,
    asset_scale: int,
    base_scale: int,
) -> int:
    """Comet.quoteCollateral: the asset price is discounted by storeFrontPriceFactor x (1 - liquidationFactor)."""
    discount_factor = mul_factor(store_front_price_factor, WAD - liquidation_factor)
    asset_price_discounted = mul_factor(asset_price, WAD - discount_factor)
    return base_price * base_amount * asset_scale // asset_price_discounted // base_scale
