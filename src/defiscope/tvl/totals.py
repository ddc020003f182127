"""Totals across protocols that count each underlying asset once.

A token that is a receipt of another protocol (stETH in Aave, an LP token in a farm) carries
`receipt_of=<slug>`. Each protocol's own TVL includes it, as users expect; the aggregate total leaves it
out whenever the issuing protocol is part of the same total, since that protocol already counts the
underlying. This is per position, not DefiLlama's one flag per protocol.

    >>> from decimal import Decimal
    >>> t = aggregate([])
    >>> (t.tvl_usd, t.double_counted_usd)
    (Decimal('0'), Decimal('0'))
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from defiscope.protocols.base import BalanceKind
from defiscope.tvl.model import ProtocolSnapshot, exact_sum


@dataclass(frozen=True, slots=True)
class AggregateTotal:
    tvl_usd: Decimal  # each underlying once
    sum_of_protocols_usd: Decimal  # plain sum of every protocol's own TVL
    double_counted_usd: Decimal  # the difference: receipts of protocols inside this total


def aggregate(snapshots: Iterable[ProtocolSnapshot]) -> AggregateTotal:
    snaps = list(snapshots)
    included = {s.slug for s in snaps}
    values = [
        (t.value_usd, t.receipt_of in included)
        for s in snaps
        for t in s.tokens
        if t.kind is BalanceKind.TVL and t.value_usd is not None
    ]
    once = exact_sum(v for v, twice in values if not twice)
    counted_twice = exact_sum(v for v, twice in values if twice)
    return AggregateTotal(once, exact_sum([once, counted_twice]), counted_twice)
