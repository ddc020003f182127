"""Discovery from events: one contract's logs of some events, scanned once from a start block and then only
over new blocks, kept parsed so that what held at any block already scanned is replayed, not re-read.

    created = LogCursor(factory, [POOL_CREATED], parse_pool_created, start_block=12_369_621)
    await created.scan(reader)            # blocks not scanned yet, up to the reader's pinned block
    created.upto(reader.block.number)     # every parsed log up to that block, in chain order

Uniswap/PancakeSwap V3 pools, EigenLayer's whitelist, pods and operators, and the Maker Vat's wards use it.
The scan goes through `Reader.logs`, so a block's new logs of every cursor share one request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from defiscope.chain.logs import log_int
from defiscope.chain.reader import Reader

T = TypeVar("T")


class LogCursor(Generic[T]):
    """The logs of ``topics`` (topic0 alternatives) emitted by ``address`` from ``start_block`` on."""

    def __init__(
        self, address: str, topics: Sequence[str], parse: Callable[[Mapping[str, Any]], T], *, start_block: int = 0
    ) -> None:
        self.address = address
        self.topics = tuple(topics)
        self.parse = parse
        self.scanned_to = start_block - 1  # the last block whose logs are in `entries`
        self.entries: list[tuple[int, int, T]] = []  # (block, log index, parsed), in chain order
        self._lock = asyncio.Lock()

    @property
    def logs(self) -> list[T]:
        return [item for _, _, item in self.entries]

    async def scan(self, reader: Reader) -> None:
        """Fetch the logs of blocks not scanned yet, up to the reader's block; concurrent callers scan once."""
        to_block = reader.block.number
        async with self._lock:
            if to_block <= self.scanned_to:
                return
            found = await reader.logs(
                address=self.address, topics=[list(self.topics)], from_block=self.scanned_to + 1, to_block=to_block
            )
            parsed = [(log_int(log["blockNumber"]), log_int(log["logIndex"]), self.parse(log)) for log in found]
            self.entries.extend(sorted(parsed, key=lambda entry: entry[:2]))
            self.scanned_to = to_block

    def upto(self, block: int) -> list[T]:
        return [item for at, _, item in self.entries if at <= block]

    def between(self, after: int, upto: int) -> list[T]:
        """Logs of blocks ``after`` < block <= ``upto``."""
        return [item for at, _, item in self.entries if after < at <= upto]
