"""Yields an adapter reads at a block: lending supply and borrow rates, staking rates, DEX LP fee rates.

A `Yield` is one rate of one market for one asset: its APR (simple annual rate, 1 = 100 %) as an exact
`Decimal` and its APY (the APR compounded as the protocol compounds it, see `lending.rates.apr_to_apy`),
with the method that produced it. On-chain rates are integers in a power-of-ten fixed point (ray, wad), so
their APR is a terminating decimal: `exact_decimal` converts it without rounding.

    >>> from fractions import Fraction
    >>> exact_decimal(Fraction(35 * 10**24, 10**27))
    Decimal('0.035')
    >>> Yield("aave-v3", "0x" + "11" * 20, "0x" + "22" * 20, "WETH", YieldKind.SUPPLY,
    ...       Decimal("0.035"), Decimal("0.0356"), "currentLiquidityRate / 1e27").kind.value
    'supply'

A rate that cannot be read is a `YieldGap` — the market (or "*" for every market of the protocol) and why —
stored and served in its place, never a 0 and never the last good block's rate:

    >>> YieldGap("uniswap-v2", "*", reason="getReserves() failed").whole_protocol
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext
from enum import StrEnum
from fractions import Fraction
from typing import Final

from defiscope.protocols.revenue import FeeShare

#: Significant digits kept when a rate is not a terminating decimal (a moving average, say).
ROUND_DIGITS: Final = 50


class YieldKind(StrEnum):
    """What earns the rate: lending supply, borrowing (a cost), staking, or providing DEX liquidity."""

    SUPPLY = "supply"
    BORROW = "borrow"
    STAKING = "staking"
    LP_FEE = "lp_fee"  # swap fees earned by a pool's liquidity (`protocols.lp_fees`)


@dataclass(frozen=True, slots=True)
class Yield:
    """One rate of one market (pool, Comet, cToken, staking contract) for one asset."""

    protocol: str  # slug
    market: str  # checksum address of the pool / cToken / Comet / staking contract / DEX pool
    asset: str  # checksum address of the asset supplied, borrowed or staked; a DEX pool's LP token
    symbol: str
    kind: YieldKind
    apr: Decimal  # simple annual rate, 1 = 100 %
    apy: Decimal  # compounded as the protocol compounds
    method: str  # how it was computed, for people
    #: The protocol's share of the fees this rate pays (a borrow rate's reserve factor, a pool's protocol fee),
    #: read in the same batch at the same block; None where no knob splits this rate (supply rates).
    fee_share: FeeShare | None = None


#: `YieldGap.market` when no rate of the protocol could be read at the block.
EVERY_MARKET: Final = "*"


@dataclass(frozen=True, slots=True)
class YieldGap:
    """A rate an adapter could not read at a block, and why: listed as unavailable in its place."""

    protocol: str  # slug
    market: str  # as `Yield.market`, or `EVERY_MARKET` when the protocol's `yields` failed as a whole
    asset: str = ""  # as `Yield.asset`, when known
    symbol: str = ""  # as `Yield.symbol`, when known
    kind: YieldKind | None = None  # None when the whole protocol (several kinds) is missing
    reason: str = ""

    @property
    def whole_protocol(self) -> bool:
        return self.market == EVERY_MARKET


def exact_decimal(value: Fraction) -> Decimal:
    """`value` as a Decimal: exact when it terminates (denominator 2^a 5^b), else to 50 significant digits."""
    den = value.denominator
    twos = fives = 0
    while den % 2 == 0:
        den, twos = den // 2, twos + 1
    while den % 5 == 0:
        den, fives = den // 5, fives + 1
    with localcontext() as ctx:
        if den == 1:
            # n / (2^a 5^b) = n * 2^(k-a) 5^(k-b) / 10^k exactly, k = max(a, b).
            k = max(twos, fives)
            scaled = value.numerator * 2 ** (k - twos) * 5 ** (k - fives)
            ctx.prec = max(len(str(abs(scaled))), 1)
            return Decimal(scaled).scaleb(-k).normalize() if scaled else Decimal(0)
        ctx.prec = ROUND_DIGITS
        return Decimal(value.numerator) / Decimal(value.denominator)
