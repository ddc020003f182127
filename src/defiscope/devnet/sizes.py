"""How big each protocol is on the devnet: its real mid-2025 TVL, scaled down by one factor for all.

The seeding modules (spec.py pools, lido.py, aave.py, eigenlayer.py, maker.py, compound.py, curve pools)
choose their amounts so that each protocol's devnet TVL at the end of seeding lands near its target
here; tests/devnet/test_sizes.py measures it and checks the ranking.

    >>> devnet_target_usd("lido")                    # $24B / 30
    Fraction(800000000, 1)
    >>> [t.slug for t in ranked()][:3]
    ['lido', 'aave-v3', 'eigenlayer']

Real figures are DefiLlama's protocol TVLs (all chains; lending counted as supplied minus borrowed, as
DefiLlama shows it by default) in mid-2025 (May-July 2025), rounded. They moved by 10-20 % within weeks
with ETH's price, and Aave and Lido swapped first place more than once in that period (a June 2025 table
showed Aave $24.4B, Lido $22.6B); we keep Lido first, as the issue asks. Treat each figure as +/- 15 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Final

#: Every devnet protocol is its real TVL times this.
SCALE: Final = Fraction(1, 30)
BILLION: Final = 10**9


@dataclass(frozen=True, slots=True)
class RealTvl:
    """A protocol's real TVL (US dollars, billions) with where the figure comes from."""

    slug: str
    usd_billions: Fraction
    source: str

    @property
    def devnet_usd(self) -> Fraction:
        return self.usd_billions * BILLION * SCALE


def _b(value: str) -> Fraction:
    return Fraction(value)


MID_2025_TVL: Final = (
    RealTvl("lido", _b("24"), "DefiLlama, Lido, mid-2025 ($22.6B in a June 2025 table, ~$25-31B in July-Aug)"),
    RealTvl("aave-v3", _b("22"), "DefiLlama, Aave V3, mid-2025 ($24.4B for all Aave in a June 2025 table)"),
    RealTvl("eigenlayer", _b("12"), "DefiLlama, EigenLayer, mid-2025 ($10.9B June 2025, $13.4B earlier)"),
    RealTvl("makerdao", _b("5"), "DefiLlama, Sky (Maker) lending, mid-2025 ($5.9B June 2025)"),
    RealTvl("uniswap-v3", _b("4"), "DefiLlama, Uniswap V3, mid-2025 (Uniswap V2+V3 ~$5.6B)"),
    RealTvl("compound-v3", _b("2"), "DefiLlama, Compound V3, spring-summer 2025 ($1.7-2.15B)"),
    RealTvl("curve", _b("2"), "DefiLlama, Curve DEX, mid-2025 (~$2B)"),
    RealTvl("uniswap-v2", _b("1.5"), "DefiLlama, Uniswap V2, mid-2025 (~$1-1.5B)"),
    RealTvl("pancakeswap-v3", _b("1.5"), "DefiLlama, PancakeSwap AMM V3, mid-2025 (PancakeSwap total ~$2.1-2.6B)"),
    RealTvl("pancakeswap-v2", _b("0.8"), "DefiLlama, PancakeSwap AMM (V2), mid-2025"),
    RealTvl("compound-v2", _b("0.2"), "DefiLlama, Compound V2, mid-2025 (order of magnitude: $0.1-0.3B)"),
)


def real_tvl(slug: str) -> RealTvl:
    return next(t for t in MID_2025_TVL if t.slug == slug)


def devnet_target_usd(slug: str) -> Fraction:
    """The TVL (US dollars) the devnet seeds ``slug`` to."""
    return real_tvl(slug).devnet_usd


def ranked() -> list[RealTvl]:
    """Largest first: the ranking the devnet should show at its first block."""
    return sorted(MID_2025_TVL, key=lambda t: t.usd_billions, reverse=True)
