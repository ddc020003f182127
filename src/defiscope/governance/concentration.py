"""How concentrated a governance token's voting power is: the top holders' share and the Nakamoto coefficient.

Voting power is what ERC20Votes/COMP-style tokens checkpoint per delegate: the latest `DelegateVotesChanged`
of each delegate gives its current votes, exactly (no balance scan).

    >>> c = concentration({"a": 50, "b": 30, "c": 20})
    >>> c.top_share, c.nakamoto, c.delegates, c.total
    (Fraction(1, 1), 2, 3, 100)

The Nakamoto coefficient is the smallest number of delegates whose votes together exceed half of all
delegated votes: the fewest who could carry a vote alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

TOP: Final = 5


@dataclass(frozen=True, slots=True)
class Concentration:
    total: int  # all delegated votes
    delegates: int  # delegates with votes
    top: tuple[tuple[str, int], ...]  # the TOP largest, largest first
    top_share: Fraction | None  # their share of `total`; None when nothing is delegated
    nakamoto: int | None  # None when nothing is delegated


def concentration(votes: Mapping[str, int], top: int = TOP) -> Concentration:
    ranked = sorted(((d, v) for d, v in votes.items() if v > 0), key=lambda item: (-item[1], item[0]))
    total = sum(v for _, v in ranked)
    if total == 0:
        return Concentration(0, 0, (), None, None)
    leaders = tuple(ranked[:top])
    running, nakamoto = 0, 0
    for _, v in ranked:
        running += v
        nakamoto += 1
        if 2 * running > total:
            break
    return Concentration(total, len(ranked), leaders, Fraction(sum(v for _, v in leaders), total), nakamoto)
