"""Block references: the one block a snapshot reads everything at.

>>> ref = BlockRef(chain_id=1, number=19_000_000, hash="0x" + "ab" * 32, timestamp=1_705_000_000)
>>> ref.tag
'0x121eac0'
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BlockRef:
    """A block pinned by number *and* hash, so a later reorg can be detected."""

    chain_id: int
    number: int
    hash: str
    timestamp: int

    @property
    def tag(self) -> str:
        """The JSON-RPC block parameter for this block."""
        return hex(self.number)
