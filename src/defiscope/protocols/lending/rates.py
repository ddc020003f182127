"""Fixed-point helpers and rate annualisation shared by the lending protocols (Aave, Compound, Maker).

Rates on chain are integers in a fixed-point unit: Aave keeps annual rates in ray (1e27), Compound V2 a
rate per block and Comet a rate per second in wad (1e18), Maker a per-second multiplier in ray. The
helpers here mirror the Solidity ones exactly (same rounding), so protocol ports can be proven equal to
the contracts to the unit.

    >>> ray_mul(3 * RAY // 2, 2 * RAY) == 3 * RAY
    True
    >>> wad_to_ray(WAD) == RAY
    True
    >>> per_block_to_apr(10**10)                   # 1e-8 per block x 2,102,400 blocks = 2.1024 % a year
    Fraction(657, 31250)
    >>> round(apr_to_apy(Decimal("0.05"), SECONDS_PER_YEAR), 8)     # 5 % APR compounded every second
    Decimal('0.05127110')

APR and APY
-----------
APR is the simple annual rate: the per-period rate times the periods in a year (what Aave stores as
`currentLiquidityRate`, what Compound's per-block rate times blocks per year gives). APY compounds it:
``APY = (1 + APR / n) ** n - 1`` for ``n`` compounding periods a year, and back
``APR = n * ((1 + APY) ** (1 / n) - 1)``. Aave's debt compounds every second (n = 31,536,000) while its
deposits accrue linearly between updates, so the supply APY is an upper bound of what a passive
supplier earns; Compound compounds per block (n = blocks per year). APY is for people: it is computed
in `Decimal` with 50 digits, never fed back into on-chain math.

A kink ("jump rate") model is one shape with other parameters in every protocol — see `KinkModel`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Final

WAD: Final = 10**18
RAY: Final = 10**27
HALF_WAD: Final = WAD // 2
HALF_RAY: Final = RAY // 2
WAD_RAY_RATIO: Final = 10**9
#: PercentageMath: 100 % = 1e4 (two decimals of a basis point); Aave's LTV, thresholds and factors.
PERCENTAGE_FACTOR: Final = 10**4
HALF_PERCENTAGE_FACTOR: Final = PERCENTAGE_FACTOR // 2
#: Aave MathUtils.SECONDS_PER_YEAR and Comet's: 365 days.
SECONDS_PER_YEAR: Final = 365 * 24 * 3600
#: Compound V2's JumpRateModelV2 on Ethereum (pre-merge 15 s blocks: 4 per minute).
COMPOUND_V2_BLOCKS_PER_YEAR: Final = 2_102_400
APY_DIGITS: Final = 50

UINT256_MAX: Final = 2**256 - 1


class MathOverflow(ArithmeticError):
    """An intermediate result a Solidity helper would revert on (its overflow guard)."""


def _checked(value: int) -> int:
    if value > UINT256_MAX:
        raise MathOverflow(f"{value} overflows uint256")
    return value


# ---- WadRayMath (Aave v3 protocol/libraries/math/WadRayMath.sol): round half up --------------------


def wad_mul(a: int, b: int) -> int:
    """WadRayMath.wadMul: (a * b + HALF_WAD) / WAD."""
    return _checked(a * b + HALF_WAD) // WAD


def wad_div(a: int, b: int) -> int:
    """WadRayMath.wadDiv: (a * WAD + b / 2) / b."""
    if b == 0:
        raise ZeroDivisionError("wad_div by zero")
    return _checked(a * WAD + b // 2) // b


def ray_mul(a: int, b: int) -> int:
    """WadRayMath.rayMul: (a * b + HALF_RAY) / RAY."""
    return _checked(a * b + HALF_RAY) // RAY


def ray_div(a: int, b: int) -> int:
    """WadRayMath.rayDiv: (a * RAY + b / 2) / b."""
    if b == 0:
        raise ZeroDivisionError("ray_div by zero")
    return _checked(a * RAY + b // 2) // b


def ray_to_wad(a: int) -> int:
    """WadRayMath.rayToWad: round half up to 18 decimals."""
    quotient, remainder = divmod(a, WAD_RAY_RATIO)
    return quotient + (1 if remainder >= WAD_RAY_RATIO // 2 else 0)


def wad_to_ray(a: int) -> int:
    """WadRayMath.wadToRay."""
    return _checked(a * WAD_RAY_RATIO)


# ---- PercentageMath (Aave v3): round half up ------------------------------------------------------


def percent_mul(value: int, percentage: int) -> int:
    """PercentageMath.percentMul: (value * percentage + HALF_PERCENTAGE_FACTOR) / PERCENTAGE_FACTOR."""
    return _checked(value * percentage + HALF_PERCENTAGE_FACTOR) // PERCENTAGE_FACTOR


def percent_div(value: int, percentage: int) -> int:
    """PercentageMath.percentDiv: (value * PERCENTAGE_FACTOR + percentage / 2) / percentage."""
    if percentage == 0:
        raise ZeroDivisionError("percent_div by zero")
    return _checked(value * PERCENTAGE_FACTOR + percentage // 2) // percentage


# ---- truncating fixed point (Compound's Exponential / mul_ and div_): round down ------------------


def mul_truncate(a: int, b: int, unit: int = WAD) -> int:
    """a * b / unit, rounded down (Compound `mul_(Exp, uint)`, Comet `mulFactor`)."""
    return _checked(a * b) // unit


def div_truncate(a: int, b: int, unit: int = WAD) -> int:
    """a * unit / b, rounded down (Compound `div_`, Comet `divBaseWei`)."""
    if b == 0:
        raise ZeroDivisionError("div_truncate by zero")
    return _checked(a * unit) // b


# ---- annualisation -------------------------------------------------------------------------------


def per_second_to_apr(rate_per_second: int, unit: int = WAD) -> Fraction:
    """A per-second rate in `unit` fixed point as a simple annual rate (1 = 100 %)."""
    return Fraction(rate_per_second * SECONDS_PER_YEAR, unit)


def per_block_to_apr(
    rate_per_block: int, blocks_per_year: int = COMPOUND_V2_BLOCKS_PER_YEAR, unit: int = WAD
) -> Fraction:
    """A per-block rate in `unit` fixed point as a simple annual rate (1 = 100 %)."""
    return Fraction(rate_per_block * blocks_per_year, unit)


def ray_apr(rate: int) -> Fraction:
    """An annual rate in ray (Aave's `currentLiquidityRate`, `currentVariableBorrowRate`) as a fraction."""
    return Fraction(rate, RAY)


def apr_to_apy(apr: Decimal | Fraction, periods_per_year: int) -> Decimal:
    """``(1 + apr / n) ** n - 1``: the annual yield when the rate compounds ``n`` times a year."""
    if periods_per_year <= 0:
        raise ValueError("periods_per_year must be positive")
    with localcontext() as ctx:
        ctx.prec = APY_DIGITS
        rate = Decimal(apr.numerator) / Decimal(apr.denominator) if isinstance(apr, Fraction) else Decimal(apr)
        return (1 + rate / periods_per_year) ** periods_per_year - 1


def apy_to_apr(apy: Decimal | Fraction, periods_per_year: int) -> Decimal:
    """``n * ((1 + apy) ** (1 / n) - 1)``: the simple rate that compounds to ``apy`` over ``n`` periods."""
    if periods_per_year <= 0:
        raise ValueError("periods_per_year must be positive")
    with localcontext() as ctx:
        ctx.prec = APY_DIGITS
        rate = Decimal(apy.numerator) / Decimal(apy.denominator) if isinstance(apy, Fraction) else Decimal(apy)
        return periods_per_year * ((1 + rate) ** (Decimal(1) / periods_per_year) - 1)


# ---- the kink model ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KinkModel:
    """A kinked utilisation -> borrow-rate curve, all numbers in one fixed-point ``unit``.

    ``rate(u) = base + slope1 * u / kink`` below the kink and ``base + slope1 + slope2 * (u - kink) /
    (1 - kink)`` above it. Aave's strategy is exactly this shape (slopes per unit of the segment);
    Compound's JumpRateModelV2 states slopes per unit of utilisation (``multiplier``, ``jumpMultiplier``):
    `from_multipliers` converts. This evaluates the curve exactly as a fraction; the protocol ports
    (``protocols/aave/rates.py``, Compound's) reproduce each contract's own integer rounding.

    >>> m = KinkModel(base=0, slope1=4 * RAY // 100, slope2=60 * RAY // 100, kink=RAY * 9 // 10, unit=RAY)
    >>> m.borrow_rate(Fraction(9, 10)), m.borrow_rate(Fraction(1))
    (Fraction(1, 25), Fraction(16, 25))
    """

    base: int
    slope1: int
    slope2: int
    kink: int
    unit: int

    @classmethod
    def from_multipliers(
        cls, base: int, multiplier: int, jump_multiplier: int, kink: int, unit: int = WAD
    ) -> KinkModel:
        """Compound style: rate = base + u * multiplier below the kink, + (u - kink) * jump above."""
        return cls(
            base=base,
            slope1=multiplier * kink // unit,
            slope2=jump_multiplier * (unit - kink) // unit,
            kink=kink,
            unit=unit,
        )

    def borrow_rate(self, utilisation: Fraction) -> Fraction:
        """The borrow rate at ``utilisation`` (0..1) as a fraction of ``unit`` (1 = 100 % per period)."""
        if not 0 <= utilisation <= 1:
            raise ValueError(f"utilisation {utilisation} is outside [0, 1]")
        kink = Fraction(self.kink, self.unit)
        rate = Fraction(self.base, self.unit)
        if utilisation <= kink:
            return rate + Fraction(self.slope1, self.unit) * utilisation / kink
        excess = (utilisation - kink) / (1 - kink)
        return rate + Fraction(self.slope1, self.unit) + Fraction(self.slope2, self.unit) * excess

    def supply_rate(self, utilisation: Fraction, reserve_factor: Fraction) -> Fraction:
        """What suppliers earn: the borrow rate times utilisation, less the protocol's reserve factor."""
        return self.borrow_rate(utilisation) * utilisation * (1 - reserve_factor)
