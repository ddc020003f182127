"""Pool event logs as pure data: the decoded envelope every event applier takes, and its one error.

Appliers (`uniswap.events`, `curve.events`) turn a pool's state and one of its logs into the next state,
with no I/O. When a log cannot be applied exactly — a figure the event lacks does not recompute to what
it reports, or the state lacks what the update needs — they raise `CannotApply`, and the caller re-reads
the pool instead of drifting.

    >>> log = PoolLog.parse({"address": "0xP", "blockNumber": "0x10", "logIndex": "0x2", "blockHash": "0xh",
    ...                      "topics": [topic("Sync(uint112,uint112)")], "data": "0x" + "00" * 64})
    >>> log.block, log.index, log.timestamp
    (16, 2, None)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_utils import keccak

from defiscope.errors import DefiscopeError


class CannotApply(DefiscopeError):
    """A log that does not apply exactly to the state held: the pool must be read again."""


def topic(signature: str) -> str:
    """topic0 of an event signature, as nodes return it (0x-prefixed lowercase hex)."""
    return "0x" + keccak(text=signature).hex()


def topic_int(word: str, *, signed: bool) -> int:
    """An indexed integer (int24 ticks are sign-extended to 32 bytes)."""
    return int.from_bytes(bytes.fromhex(word[2:]), "big", signed=signed)


@dataclass(frozen=True, slots=True)
class PoolLog:
    address: str
    block: int
    index: int  # logIndex within the block
    block_hash: str
    topics: tuple[str, ...]
    data: bytes
    timestamp: int | None  # the node's blockTimestamp where it sends one

    @property
    def topic0(self) -> str:
        return self.topics[0].lower()

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> PoolLog:
        stamp = raw.get("blockTimestamp")
        return cls(
            address=str(raw["address"]),
            block=int(raw["blockNumber"], 16),
            index=int(raw["logIndex"], 16),
            block_hash=str(raw["blockHash"]),
            topics=tuple(str(t) for t in raw["topics"]),
            data=bytes.fromhex(str(raw["data"])[2:]),
            timestamp=int(stamp, 16) if stamp else None,
        )
