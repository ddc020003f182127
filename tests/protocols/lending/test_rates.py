from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from defiscope.protocols.lending.rates import (
    RAY,
    SECONDS_PER_YEAR,
    WAD,
    KinkModel,
    MathOverflow,
    apr_to_apy,
    apy_to_apr,
    per_block_to_apr,
    per_second_to_apr,
    percent_div,
    percent_mul,
    ray_div,
    ray_mul,
    ray_to_wad,
    wad_div,
    wad_mul,
)

uint128 = st.integers(min_value=0, max_value=2**128 - 1)


@given(uint128, uint128)
def test_ray_and_wad_round_half_up(a: int, b: int) -> None:
    assert ray_mul(a, b) == (a * b + RAY // 2) // RAY
    assert wad_mul(a, b) == (a * b + WAD // 2) // WAD
    if b:
        assert ray_div(a, b) == (2 * a * RAY + b) // (2 * b)
        assert wad_div(a, b) == (2 * a * WAD + b) // (2 * b)


def test_exact_values() -> None:
    assert ray_mul(RAY // 2, 1) == 1  # 0.5 rounds up
    assert ray_mul(RAY // 2 - 1, 1) == 0
    assert ray_to_wad(1_500_000_000) == 2
    assert ray_to_wad(1_499_999_999) == 1
    assert percent_mul(10_001, 5_000) == 5_001  # 5000.5 -> 5001
    assert percent_div(1, 3) == 3_333


def test_overflow_and_zero_division() -> None:
    with pytest.raises(MathOverflow):
        ray_mul(2**256 - 1, 2)
    with pytest.raises(ZeroDivisionError):
        ray_div(1, 0)


def test_annualisation() -> None:
    assert per_second_to_apr(10**9, WAD) == Fraction(31_536_000, 10**9)
    assert per_block_to_apr(10**10) == Fraction(21_024, 10**6)


def test_apr_apy_round_trip() -> None:
    apy = apr_to_apy(Decimal("0.05"), SECONDS_PER_YEAR)
    assert str(apy)[:12] == "0.0512710963"  # e**0.05 - 1 = 0.051271096376...
    assert abs(apy_to_apr(apy, SECONDS_PER_YEAR) - Decimal("0.05")) < Decimal("1e-40")
    assert apr_to_apy(Fraction(1, 10), 1) == Decimal("0.1")
    with pytest.raises(ValueError, match="positive"):
        apr_to_apy(Decimal(1), 0)


def test_kink_model_shapes_agree() -> None:
    aave = KinkModel(base=0, slope1=4 * RAY // 100, slope2=RAY * 60 // 100, kink=RAY * 8 // 10, unit=RAY)
    assert aave.borrow_rate(Fraction(4, 10)) == Fraction(2, 100)
    assert aave.borrow_rate(Fraction(9, 10)) == Fraction(4, 100) + Fraction(30, 100)
    assert aave.supply_rate(Fraction(8, 10), Fraction(1, 10)) == Fraction(4, 100) * Fraction(8, 10) * Fraction(9, 10)
    compound = KinkModel.from_multipliers(
        base=2 * WAD // 100, multiplier=WAD // 10, jump_multiplier=2 * WAD, kink=WAD * 8 // 10
    )
    # Compound: base + 0.8 * 0.1 at the kink, then + 0.1 * 2 at 90 %.
    assert compound.borrow_rate(Fraction(8, 10)) == Fraction(2, 100) + Fraction(8, 100)
    assert compound.borrow_rate(Fraction(9, 10)) == Fraction(2, 100) + Fraction(8, 100) + Fraction(2, 10)
    with pytest.raises(ValueError, match="outside"):
        aave.borrow_rate(Fraction(11, 10))
