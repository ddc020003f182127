"""What factors are computed from: the stored market as it was known at the clock block, sampled once a day.

`grades.inputs` reads these from the store (only rows at or before the clock); `grades.factors` computes from
them and does no I/O. Sample k of a series is its newest observation at or before `grid[k]` = clock time - k
days (no older than `figures.SAMPLE_MAX_AGE`), or None when there is none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from defiscope.analytics.grades.figures import Figure, Observation, Stamp
from defiscope.chain.block import BlockRef
from defiscope.protocols.revenue import FeeShare
from defiscope.protocols.yields import YieldKind

#: (adapter slug, chain id): one member adapter of a graded family on one chain.
MemberKey = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Rate:
    """One stored yield row: a market's asset and its rates (APR simple, APY compounded; 1 = 100 %)."""

    market: str
    asset: str
    apr: Decimal
    apy: Decimal
    #: The protocol's share of the fees this rate pays, read with it (`Yield.fee_share`); None: no knob splits it.
    fee_share: FeeShare | None = None


@dataclass(frozen=True, slots=True)
class MemberSample:
    """One adapter's snapshot on one chain (and the yields stored at its block).

    `tokens` and `rates` are loaded for the samples of the last `inputs.DETAIL_DAYS` days only (the fee and
    yield windows); older samples carry the totals alone."""

    stamp: Stamp
    tvl_usd: Decimal
    borrowed_usd: Decimal
    #: token address (lowercase) -> (kind, USD value or None when unpriced), one entry per snapshot token row
    tokens: tuple[tuple[str, str, Decimal | None], ...] = ()
    rates: Mapping[YieldKind, tuple[Rate, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RiskSample:
    """An adapter's newest stored risk score on one chain known at the clock (`store.risk`): its composite 0-100
    (100 safest; None when no pillar could be scored) and the block it was scored at."""

    stamp: Stamp
    composite: int | None


@dataclass(frozen=True, slots=True)
class TokenRef:
    """A governance token: where it lives and how many decimals its amounts have."""

    symbol: str
    chain_id: int
    address: str
    decimals: int


@dataclass(frozen=True, slots=True)
class Market:
    clock: BlockRef
    grid: tuple[int, ...]  # sample times, newest (the clock's time) first
    members: Mapping[MemberKey, tuple[MemberSample | None, ...]]  # one sample per grid time
    tokens: Mapping[str, TokenRef]  # by symbol; a graded token absent here is not deployed
    prices: Mapping[str, tuple[Observation | None, ...]]  # by symbol, one sample per grid time
    supplies: Mapping[str, Figure]  # by symbol: totalSupply in whole tokens, read at the token chain's horizon
    voting_top_share: Mapping[str, Figure]  # by graded slug
    #: adapter slug -> the protocol's documented share of its fees, for the rates no on-chain knob splits
    revenue_shares: Mapping[str, Fraction]
    #: (adapter slug, chain) -> its newest risk score at or before the chain's horizon block
    risk: Mapping[MemberKey, RiskSample] = field(default_factory=dict)

    def member_keys(self, slugs: tuple[str, ...]) -> list[MemberKey]:
        """The (slug, chain) pairs of these adapters with a snapshot at the clock's sample, sorted."""
        return sorted(key for key, samples in self.members.items() if key[0] in slugs and samples[0] is not None)
