"""Protocol rankings: TVL per protocol across chains, with 1h / 1d / 7d change from stored history.

rows = rank(snapshots, infos, history)       # pure: no I/O
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from defiscope.chain.block import BlockRef
from defiscope.chain.registry import CHAINS
from defiscope.protocols.base import BalanceKind, ProtocolInfo
from defiscope.tvl.model import ProtocolSnapshot, TokenValue, exact_sum

#: The changes a ranking shows, as (label, seconds back).
CHANGE_WINDOWS: Final = (("1h", 3600), ("1d", 86_400), ("7d", 7 * 86_400))

#: Looks up the TVL of the stored snapshot of (slug, chain_id) at or before a unix time; None when there is none.
PastLookup = Callable[[str, int, int], Decimal | None]


@dataclass(frozen=True, slots=True)
class ProtocolRow:
    slug: str
    name: str
    category: str
    chains: Mapping[str, Decimal]  # chain name -> TVL
    tvl_usd: Decimal
    borrowed_usd: Decimal
    staking_usd: Decimal
    pool2_usd: Decimal
    unpriced: tuple[tuple[str, TokenValue], ...]  # (chain name, token)
    blocks: Mapping[str, BlockRef]
    change: Mapping[str, Decimal | None] = field(default_factory=dict)  # percent, by window label


def chain_name(chain_id: int) -> str:
    info = CHAINS.get(chain_id)
    return info.name if info else str(chain_id)


def percent_change(now: Decimal, before: Decimal | None) -> Decimal | None:
    """Percent change, or None when there is no earlier figure or it was zero (no meaningful ratio)."""
    if before is None or before == 0:
        return None
    return (now - before) / before * 100


def rank(
    snapshots: Iterable[ProtocolSnapshot],
    infos: Mapping[str, ProtocolInfo],
    past: PastLookup | None = None,
) -> list[ProtocolRow]:
    """Rows sorted by TVL, largest first; `past` supplies earlier snapshots for the changes."""
    by_slug: dict[str, list[ProtocolSnapshot]] = defaultdict(list)
    for snap in snapshots:
        by_slug[snap.slug].append(snap)
    rows = [_row(slug, snaps, infos.get(slug), past) for slug, snaps in by_slug.items()]
    rows.sort(key=lambda r: (-r.tvl_usd, r.slug))
    return rows


def _row(slug: str, snaps: list[ProtocolSnapshot], info: ProtocolInfo | None, past: PastLookup | None) -> ProtocolRow:
    snaps.sort(key=lambda s: s.chain_id)
    tvl = exact_sum(s.total(BalanceKind.TVL) for s in snaps)
    change: dict[str, Decimal | None] = {}
    for label, seconds in CHANGE_WINDOWS:
        before = [past(slug, s.chain_id, s.block.timestamp - seconds) for s in snaps] if past else [None]
        change[label] = (
            percent_change(tvl, exact_sum(b for b in before if b is not None))
            if all(b is not None for b in before)
            else None
        )
    return ProtocolRow(
        slug=slug,
        name=info.name if info else slug,
        category=info.category if info else "",
        chains={chain_name(s.chain_id): s.total(BalanceKind.TVL) for s in snaps},
        tvl_usd=tvl,
        borrowed_usd=exact_sum(s.total(BalanceKind.BORROWED) for s in snaps),
        staking_usd=exact_sum(s.total(BalanceKind.STAKING) for s in snaps),
        pool2_usd=exact_sum(s.total(BalanceKind.POOL2) for s in snaps),
        unpriced=tuple((chain_name(s.chain_id), t) for s in snaps for t in s.unpriced),
        blocks={chain_name(s.chain_id): s.block for s in snaps},
        change=change,
    )
