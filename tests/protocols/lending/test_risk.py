from fractions import Fraction

import pytest

from defiscope.protocols.lending.risk import Leg, Position, risk_report, scenario

LT = Fraction(8_250, 10_000)


def eth_backed(account: str, eth_usd: int, usdc_debt: int) -> Position:
    return Position(account, (Leg("WETH", Fraction(eth_usd), LT),), (Leg("USDC", Fraction(usdc_debt)),))


def test_report_counts_each_position_once_from_the_drop_that_liquidates_it() -> None:
    positions = [
        eth_backed("a", 10_000, 8_000),  # health 1.03125: liquidated by 5 %
        eth_backed("b", 10_000, 7_000),  # 1.1786: by 20 % (10 % gives 1.0607)
        eth_backed("c", 10_000, 9_000),  # 0.9167: already
        eth_backed("d", 10_000, 0),  # no debt: never
        Position("e", (Leg("WBTC", Fraction(50_000), Fraction(78, 100)),), (Leg("WETH", Fraction(30_000)),)),
    ]
    report = risk_report(positions, "WETH")
    assert report.positions == 4
    assert report.collateral_usd == 40_000
    assert report.debt_usd == 30_000
    assert (report.already.accounts, report.already.debt_usd, report.already.collateral_usd) == (1, 9_000, 10_000)
    got = [(s.drop, s.accounts, s.debt_usd, s.collateral_usd) for s in report.scenarios]
    assert got == [
        (Fraction(5, 100), 1, 8_000, 9_500),
        (Fraction(10, 100), 1, 8_000, 9_000),
        (Fraction(20, 100), 2, 15_000, 16_000),
        (Fraction(30, 100), 2, 15_000, 14_000),
        (Fraction(50, 100), 2, 15_000, 10_000),
    ]


def test_debt_in_the_falling_asset_helps() -> None:
    short = Position("e", (Leg("USDC", Fraction(10_000), Fraction(9, 10)),), (Leg("WETH", Fraction(8_900)),))
    assert short.health() == Fraction(9_000, 8_900)
    assert short.health("WETH", Fraction(1, 2)) == Fraction(9_000, 4_450)
    assert not short.liquidatable("WETH", Fraction(1, 2))


def test_bad_drop() -> None:
    with pytest.raises(ValueError, match="outside"):
        scenario([], "WETH", Fraction(3, 2))
