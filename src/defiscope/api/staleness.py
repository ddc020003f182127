"""How long ago each earlier version of the response cache was superseded, and whether it still stands.

An answer built at an older version may be served while the current version's answer builds (stale while
revalidate, `BlockCache`) only if two things hold: the version it names was superseded at most `bound` seconds
ago, and every block it names is still in the store, i.e. the versions since then only advanced (the chains grew
on top of those blocks). A version change that is not a pure advance (a chain went back, or a block at the old
height now has another hash: a reorg rolled back and re-indexed between two checks) starts a new *lineage*, and
no answer of an earlier lineage is served stale again.

    staleness = Staleness(bound=5.0)
    staleness.moved(old, new, advanced=advances(old, new, repo.block_hash))   # at each version change
    staleness.age(old)                      # seconds since `old` was superseded, None if it may not be served
"""

from __future__ import annotations

import time
from collections.abc import Callable

Version = tuple[tuple[int, int, str], ...]
#: The stored hash of (chain id, block number), None when not stored: `Repository.block_hash`.
StoredHash = Callable[[int, int], str | None]


def advances(old: Version, new: Version, stored_hash: StoredHash | None) -> bool:
    """Whether `new` only builds on `old`: every chain of `old` is in `new` at the same block, or higher with
    `old`'s block still stored under the same hash. Without `stored_hash` a higher block cannot be checked, so it
    does not count as an advance. A chain new in `new` is an advance (nothing `old` named went away).

    >>> advances(((1, 100, "0xa"),), ((1, 100, "0xa"), (10, 5, "0xe")), None)
    True
    >>> advances(((1, 100, "0xa"),), ((1, 101, "0xb"),), lambda chain, number: "0xa")
    True
    >>> advances(((1, 100, "0xa"),), ((1, 101, "0xb"),), lambda chain, number: "0xc")   # 100 was re-indexed
    False
    >>> advances(((1, 100, "0xa"),), ((1, 99, "0x9"),), lambda chain, number: "0xa")    # a rollback
    False
    """
    now = {chain: (number, block_hash) for chain, number, block_hash in new}
    for chain, number, block_hash in old:
        current = now.get(chain)
        if current is None or current[0] < number:
            return False
        if current[0] == number:
            if current[1] != block_hash:
                return False
        elif stored_hash is None or stored_hash(chain, number) != block_hash:
            return False
    return True


class Staleness:
    """When each superseded version was superseded, and in which lineage; forgotten once past `bound`."""

    __slots__ = ("_lineage", "_retired", "bound")

    def __init__(self, bound: float) -> None:
        self.bound = bound
        self._lineage = 0
        self._retired: dict[Version, tuple[float, int]] = {}  # version: (monotonic time superseded, its lineage)

    def moved(self, old: Version, new: Version, *, advanced: bool) -> None:
        """The current version went from `old` to `new` (`advanced`: see `advances`)."""
        now = time.monotonic()
        if old:
            self._retired[old] = (now, self._lineage)
        if not advanced:
            self._lineage += 1
        self._retired.pop(new, None)  # back to a version seen before: it is current, not stale
        for version in [v for v, (at, _) in self._retired.items() if now - at > self.bound]:
            del self._retired[version]

    def age(self, version: Version) -> float | None:
        """Seconds since `version` was superseded, if an answer built at it may still be served; else None."""
        retired = self._retired.get(version)
        if retired is None:
            return None
        at, lineage = retired
        age = time.monotonic() - at
        return age if lineage == self._lineage and age <= self.bound else None
