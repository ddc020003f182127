"""What is graded and with which factors: the vocabulary shared by factor computation, formula and evaluation.

A graded entity is a protocol family with its governance token: the family's TVL, fees and yields are the sum
over its member adapters (Uniswap V2 and V3 are one entity, priced by UNI). A factor has a horizon (the trader
grade looks at weeks, the investor grade at months), a direction (whether a higher value is better) and a
window in days, measured on block timestamps.

>>> GRADED["uniswap"].members
('uniswap-v2', 'uniswap-v3')
>>> FACTORS["price_to_fees"].better
'lower'
>>> sorted({f.horizon for f in FACTORS.values()})
['investor', 'trader']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

Horizon = Literal["trader", "investor"]
Better = Literal["higher", "lower"]
#: Grades are published at blocks of this chain (its block times are the grades' clock).
CLOCK_CHAIN: Final = 1


@dataclass(frozen=True, slots=True)
class GradedProtocol:
    """A protocol family: its slug, the adapter slugs summed into it, and its governance token's symbol."""

    slug: str
    name: str
    token: str
    members: tuple[str, ...]
    category: str


@dataclass(frozen=True, slots=True)
class FactorSpec:
    name: str
    horizon: Horizon
    better: Better
    window_days: int
    description: str


GRADED: Final[Mapping[str, GradedProtocol]] = MappingProxyType(
    {
        p.slug: p
        for p in (
            GradedProtocol("lido", "Lido", "LDO", ("lido",), "Liquid Staking"),
            GradedProtocol("aave", "Aave", "AAVE", ("aave-v3",), "Lending"),
            GradedProtocol("eigenlayer", "EigenLayer", "EIGEN", ("eigenlayer",), "Restaking"),
            GradedProtocol("uniswap", "Uniswap", "UNI", ("uniswap-v2", "uniswap-v3"), "Dexes"),
            GradedProtocol("makerdao", "Sky (MakerDAO)", "MKR", ("makerdao",), "CDP"),
            GradedProtocol("compound", "Compound", "COMP", ("compound-v2", "compound-v3"), "Lending"),
            GradedProtocol("curve", "Curve", "CRV", ("curve",), "Dexes"),
            GradedProtocol("pancakeswap", "PancakeSwap", "CAKE", ("pancakeswap-v2", "pancakeswap-v3"), "Dexes"),
        )
    }
)

FACTORS: Final[Mapping[str, FactorSpec]] = MappingProxyType(
    {
        f.name: f
        for f in (
            FactorSpec("momentum_7d", "trader", "higher", 7, "token price return over 7 days"),
            FactorSpec("momentum_30d", "trader", "higher", 30, "token price return over 30 days"),
            FactorSpec("momentum_90d", "investor", "higher", 90, "token price return over 90 days"),
            FactorSpec("volatility_30d", "trader", "lower", 30, "annualised volatility of daily token returns"),
            FactorSpec("max_drawdown_90d", "investor", "lower", 90, "largest peak-to-trough fall of the token price"),
            FactorSpec("liquidity_usd", "trader", "higher", 0, "USD value of the token held by DEX pools"),
            FactorSpec("volume_7d_usd", "trader", "higher", 7, "USD swap volume of the token's pools"),
            FactorSpec("tvl_trend_30d", "trader", "higher", 30, "change of the protocol's TVL over 30 days"),
            FactorSpec("tvl_share", "investor", "higher", 0, "protocol TVL / TVL of its category"),
            FactorSpec("fees_30d_usd", "investor", "higher", 30, "fees paid by the protocol's users, 30 days"),
            FactorSpec("revenue_30d_usd", "investor", "higher", 30, "fees kept by the protocol, 30 days"),
            FactorSpec("price_to_fees", "investor", "lower", 30, "fully diluted value / annualised 30-day fees"),
            FactorSpec("price_to_revenue", "investor", "lower", 30, "fully diluted value / annualised 30-day revenue"),
            FactorSpec("yield_level", "trader", "higher", 0, "TVL-weighted APY of the protocol's pools"),
            FactorSpec("yield_stability", "investor", "lower", 30, "standard deviation of that APY over 30 days"),
            FactorSpec("voting_concentration", "investor", "lower", 0, "top-5 share of the governance votes cast"),
            FactorSpec("risk_composite", "investor", "higher", 0, "risk score 0-100 (100 safest), worst adapter's"),
        )
    }
)
