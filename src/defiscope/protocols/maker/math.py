"""MakerDAO (dss) vault math, exact: wad/ray/rad, jug.rpow and drip, spot.poke, urn safety and ratios.

Units: wad = 1e18 (amounts, prices), ray = 1e27 (rates, spot, mat), rad = 1e45 (dai balances and debt).

    >>> duty = 1000000001547125957863212448              # 5 % a year, per second
    >>> rpow(duty, 31_536_000, RAY)                      # a year of compounding
    1049999999999999999961070145
    >>> drip(RAY, base=0, duty=duty, elapsed=86_400)     # one day on a fresh ilk
    1000133680617113440350406888
    >>> spot(price_wad=3000 * WAD, par=RAY, mat=3 * RAY // 2)  # ETH $3,000 at 150 %: $2,000 of debt per ETH
    2000000000000000000000000000000
    >>> v = Urn(ink=100 * WAD, art=190_000 * WAD)
    >>> v.collateralization(rate=RAY, price_wad=3000 * WAD)   # 300,000 / 190,000
    Fraction(30, 19)
    >>> v.liquidation_price(rate=RAY, mat=3 * RAY // 2)       # USD per unit of collateral
    Fraction(2850, 1)
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Final

from defiscope.errors import DefiscopeError

WAD: Final = 10**18
RAY: Final = 10**27
RAD: Final = 10**45
UINT256_MAX: Final = 2**256 - 1


class MakerMathError(DefiscopeError):
    """An input the dss contracts would revert on (overflow, time going backwards, no price)."""


def rpow(x: int, n: int, b: int) -> int:
    """jug.rpow (assembly, verbatim semantics): x**n in base b by squaring, rounding half up each step."""
    if x == 0:
        return b if n == 0 else 0
    z = b if n % 2 == 0 else x
    half = b // 2
    n //= 2
    while n:
        xx = x * x
        if xx > UINT256_MAX or xx + half > UINT256_MAX:
            raise MakerMathError("rpow overflow")
        x = (xx + half) // b
        if n % 2:
            zx = z * x
            if zx > UINT256_MAX or zx + half > UINT256_MAX:
                raise MakerMathError("rpow overflow")
            z = (zx + half) // b
        n //= 2
    return z


def rmul(x: int, y: int) -> int:
    """jug.rmul: x * y / RAY, rounded down."""
    return x * y // RAY


def rdiv(x: int, y: int) -> int:
    """spot.rdiv: x * RAY / y, rounded down."""
    return x * RAY // y


def drip(rate: int, *, base: int, duty: int, elapsed: int) -> int:
    """jug.drip: the ilk's new rate after ``elapsed`` seconds: rmul(rpow(base + duty, elapsed, RAY), rate)."""
    if elapsed < 0:
        raise MakerMathError(f"Jug/invalid-now: elapsed {elapsed}")
    return rmul(rpow(base + duty, elapsed, RAY), rate)


def spot(*, price_wad: int, par: int, mat: int) -> int:
    """spot.poke: rdiv(rdiv(price * 1e9, par), mat) — the max debt (ray of dai) per unit of collateral."""
    return rdiv(rdiv(price_wad * 10**9, par), mat)


@dataclass(frozen=True, slots=True)
class Urn:
    """A vault: ``ink`` collateral (wad, vat gem units) and ``art`` normalised debt (wad)."""

    ink: int
    art: int

    def debt_rad(self, rate: int) -> int:
        """The dai owed, in rad: art * rate."""
        return self.art * rate

    def debt(self, rate: int) -> Fraction:
        """The dai owed, in whole DAI."""
        return Fraction(self.debt_rad(rate), RAD)

    def is_safe(self, rate: int, spot_ray: int) -> bool:
        """vat.frob's "Vat/not-safe" rule: art * rate <= ink * spot."""
        return self.debt_rad(rate) <= self.ink * spot_ray

    def is_barkable(self, rate: int, spot_ray: int) -> bool:
        """dog.bark's rule: spot > 0 and ink * spot < art * rate."""
        return spot_ray > 0 and self.ink * spot_ray < self.debt_rad(rate)

    def collateralization(self, rate: int, price_wad: int) -> Fraction | None:
        """Collateral value over debt (1.5 = 150 %), at ``price_wad`` USD per collateral unit; None without debt."""
        debt = self.debt_rad(rate)
        if debt == 0:
            return None
        # (ink / WAD) * (price / WAD) over debt / RAD: the units leave a factor RAD / WAD**2 = 1e9.
        return Fraction(self.ink * price_wad * 10**9, debt)

    def liquidation_price(self, rate: int, mat: int, par: int = RAY) -> Fraction | None:
        """The collateral price (USD) at which the vault becomes unsafe: debt * mat * par / ink."""
        if self.ink == 0 or self.art == 0:
            return None
        # ink * spot == art * rate with spot = price * 1e9 * RAY * RAY / (par * mat), solved for the price.
        return Fraction(self.debt_rad(rate) * mat * par, self.ink * RAY**3)
