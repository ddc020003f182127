"""Liquidation risk: which positions become liquidatable if one asset's price drops, as pure functions.

A position is collateral and debt legs valued in USD at current prices; each collateral leg carries the
weight the protocol applies before comparing with debt (Aave's liquidation threshold, Compound's
collateral factor, Maker's ``1 / liquidation ratio``). A position is liquidatable when

    health = sum(collateral_usd * weight) / sum(debt_usd) < 1

A price drop of ``d`` in one asset scales every leg in that asset, collateral and debt, by ``1 - d``
(debt in the falling asset gets cheaper, which helps). Protocols turn their on-chain positions into
`Position`s; this module never reads a chain.

    >>> eth = Position("0xA", collateral=(Leg("WETH", Fraction(10_000), Fraction(8250, 10_000)),),
    ...                debt=(Leg("USDC", Fraction(7_000)),))
    >>> eth.health()                        # 10,000 x 0.825 / 7,000
    Fraction(33, 28)
    >>> eth.health("WETH", Fraction(20, 100)) < 1
    True
    >>> [(str(s.drop), s.accounts, str(s.debt_usd)) for s in liquidation_scenarios([eth], "WETH")]
    [('1/20', 0, '0'), ('1/10', 0, '0'), ('1/5', 1, '7000'), ('3/10', 1, '7000'), ('1/2', 1, '7000')]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

#: The price drops the risk report shows: 5, 10, 20, 30 and 50 %.
DEFAULT_DROPS: Final = tuple(Fraction(p, 100) for p in (5, 10, 20, 30, 50))


@dataclass(frozen=True, slots=True)
class Leg:
    """One asset of a position: its USD value now and, for collateral, the protocol's weight (0..1)."""

    asset: str  # symbol (what the user names in `--asset`)
    usd: Fraction
    weight: Fraction = Fraction(1)

    def after(self, asset: str | None, drop: Fraction) -> Fraction:
        """The leg's USD value once ``asset`` fell by ``drop``."""
        return self.usd * (1 - drop) if self.asset == asset else self.usd


@dataclass(frozen=True, slots=True)
class Position:
    """One account's position in one protocol (or one Maker vault)."""

    account: str
    collateral: tuple[Leg, ...]
    debt: tuple[Leg, ...]

    def collateral_usd(self, asset: str | None = None, drop: Fraction = Fraction(0)) -> Fraction:
        return sum((leg.after(asset, drop) for leg in self.collateral), Fraction(0))

    def debt_usd(self, asset: str | None = None, drop: Fraction = Fraction(0)) -> Fraction:
        return sum((leg.after(asset, drop) for leg in self.debt), Fraction(0))

    def health(self, asset: str | None = None, drop: Fraction = Fraction(0)) -> Fraction | None:
        """Weighted collateral over debt after the drop; None without debt (never liquidatable)."""
        debt = self.debt_usd(asset, drop)
        if debt == 0:
            return None
        weighted = sum((leg.after(asset, drop) * leg.weight for leg in self.collateral), Fraction(0))
        return weighted / debt

    def liquidatable(self, asset: str | None = None, drop: Fraction = Fraction(0)) -> bool:
        health = self.health(asset, drop)
        return health is not None and health < 1

    def exposed_to(self, asset: str) -> bool:
        return any(leg.asset == asset for leg in (*self.collateral, *self.debt))


@dataclass(frozen=True, slots=True)
class UnvaluedAccount:
    """An account a lending protocol's scan could not value, and why (an asset it uses has no readable price):
    listed beside the report, never valued at 0 nor guessed."""

    account: str
    reason: str
    borrowing: bool  # it has debt (a risk position); else it only supplies


@dataclass(frozen=True, slots=True)
class Scenario:
    """Positions liquidatable after ``drop`` that were not before, with their USD at post-drop prices."""

    drop: Fraction
    accounts: int
    debt_usd: Fraction
    collateral_usd: Fraction


@dataclass(frozen=True, slots=True)
class RiskReport:
    """What a drop of ``asset`` would make liquidatable; ``already`` is the state at today's prices."""

    asset: str
    positions: int  # positions with debt
    collateral_usd: Fraction  # the asset's value as collateral, over all positions
    debt_usd: Fraction  # the asset's value as debt
    already: Scenario  # liquidatable now (drop 0)
    scenarios: tuple[Scenario, ...]


def scenario(positions: Iterable[Position], asset: str, drop: Fraction) -> Scenario:
    """Positions liquidatable once ``asset`` fell by ``drop`` but not at today's prices (drop 0 = today)."""
    if not 0 <= drop <= 1:
        raise ValueError(f"a price drop of {drop} is outside [0, 1]")
    hit = [p for p in positions if p.liquidatable(asset, drop) and (drop == 0 or not p.liquidatable())]
    return Scenario(
        drop=drop,
        accounts=len(hit),
        debt_usd=sum((p.debt_usd(asset, drop) for p in hit), Fraction(0)),
        collateral_usd=sum((p.collateral_usd(asset, drop) for p in hit), Fraction(0)),
    )


def liquidation_scenarios(
    positions: Sequence[Position], asset: str, drops: Sequence[Fraction] = DEFAULT_DROPS
) -> list[Scenario]:
    """One `scenario` per drop (each cumulative: a 20 % drop includes what 10 % already liquidates)."""
    return [scenario(positions, asset, drop) for drop in drops]


def risk_report(positions: Sequence[Position], asset: str, drops: Sequence[Fraction] = DEFAULT_DROPS) -> RiskReport:
    """The full report for one asset: exposure, today's liquidatable positions and each drop."""
    indebted = [p for p in positions if p.debt_usd() > 0]
    return RiskReport(
        asset=asset,
        positions=len(indebted),
        collateral_usd=sum((leg.usd for p in positions for leg in p.collateral if leg.asset == asset), Fraction(0)),
        debt_usd=sum((leg.usd for p in positions for leg in p.debt if leg.asset == asset), Fraction(0)),
        already=scenario(indebted, asset, Fraction(0)),
        scenarios=tuple(liquidation_scenarios(indebted, asset, drops)),
    )
