"""`exact_decimal`: terminating fractions convert without rounding; others keep 50 significant digits."""

from __future__ import annotations

from decimal import Decimal, localcontext
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from defiscope.protocols.yields import exact_decimal


@given(st.integers(-(10**80), 10**80), st.integers(0, 60), st.integers(0, 60))
def test_terminating_fractions_are_exact(numerator: int, twos: int, fives: int) -> None:
    value = Fraction(numerator, 2**twos * 5**fives)
    assert Fraction(exact_decimal(value)) == value


@given(st.integers(1, 10**40), st.sampled_from([3, 7, 31_536_000 * 3]))
def test_other_fractions_keep_fifty_digits(numerator: int, denominator: int) -> None:
    value = Fraction(numerator, denominator)
    if value.denominator in (1,) or Fraction(exact_decimal(value)) == value:
        return  # it terminated after all (the numerator cancelled the odd factor)
    with localcontext() as ctx:
        ctx.prec = 50
        assert exact_decimal(value) == Decimal(numerator) / Decimal(denominator)


def test_examples() -> None:
    assert str(exact_decimal(Fraction(35 * 10**24, 10**27))) == "0.035"
    assert exact_decimal(Fraction(0)) == 0
    assert str(exact_decimal(Fraction(1, 3))) == "0." + "3" * 50
