"""Maker's stability fees as borrow yields: per vault ilk, the Jug's ``base + duty`` (a per-second ray).

The fee compounds every second: ``jug.drip`` multiplies the rate by ``rpow(base + duty, elapsed)``. The APR is
the per-second rate times a year; the APY is a year of that compounding, with rpow's own rounding.

    >>> duty = 1000000001547125957863212448          # 5 % a year
    >>> fee_apy(duty), fee_apr(duty) > Decimal("0.0487")
    (Decimal('0.049999999999999999961070145'), True)
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Final

from defiscope.protocols.maker.math import RAY, rpow
from defiscope.protocols.yields import exact_decimal

SECONDS_PER_YEAR: Final = 31_536_000


def fee_apr(per_second: int) -> Decimal:
    """(base + duty - 1) x seconds in a year, exactly."""
    return exact_decimal(Fraction((per_second - RAY) * SECONDS_PER_YEAR, RAY))


def fee_apy(per_second: int) -> Decimal:
    """rpow(base + duty, one year) - 1: what a year of drips adds to the debt."""
    return exact_decimal(Fraction(rpow(per_second, SECONDS_PER_YEAR, RAY) - RAY, RAY))
