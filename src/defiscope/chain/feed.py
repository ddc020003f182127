"""`LogFeed`: one chain's recent logs, fetched once for every consumer of the same blocks.

The indexer's snapshot at block B and the routing tracker's advance to B both need the logs of the blocks
since their last one. Each consumer subscribes the topic0s it follows; whoever asks first fetches the union
of every subscription over its range with one topic-only `eth_getLogs` (no address list: at mainnet's size
none would be accepted), and the feed keeps the answer while its last block is among the newest
`keep_blocks`, so the other consumer is served from memory. An entry is tied to the hash of its last block:
a consumer standing on another fork (a reorg) misses it and fetches its own, and an answer whose last
block's logs come from another fork than the one asked for is handed back but never kept. (A last block
without any of the topics cannot be checked that way; the answer is then what a read by block number would
have given, as without the feed.)

    feed = LogFeed(1)
    feed.subscribe(V2_TOPICS)                               # the tracker, when it starts
    logs = await feed.logs(client, SWAP_TOPICS, 101, head)  # (100, head]: one request, or none if fetched
    feed.fetches, feed.hits
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from defiscope.chain.block import BlockRef
from defiscope.chain.client import ChainClient
from defiscope.chain.errors import InvalidInput
from defiscope.chain.logs import log_hex, log_int

Log = Mapping[str, Any]
#: Entries are kept while their last block is among this many newest blocks seen.
KEEP_BLOCKS: Final = 64
#: Logs kept at most, over all entries (about 1 KB each as parsed JSON): the oldest entries go first.
MAX_LOGS: Final = 200_000


@dataclass(frozen=True, slots=True)
class _Entry:
    """The logs of ``topics`` over [from_block, to.number] on the fork whose block ``to.number`` is ``to``."""

    from_block: int
    to: BlockRef
    topics: frozenset[str]
    fetch: asyncio.Task[list[Log]]

    def covers(self, topics: frozenset[str], from_block: int, to: BlockRef) -> bool:
        return (
            self.to.number == to.number
            and self.to.hash == to.hash
            and self.from_block <= from_block
            and topics <= self.topics
        )

    @property
    def size(self) -> int:
        return len(self.fetch.result()) if self.fetch.done() and not self.fetch.exception() else 0


class LogFeed:
    """Recent raw logs of one chain, shared by every consumer that reads the same blocks."""

    def __init__(self, chain_id: int, *, keep_blocks: int = KEEP_BLOCKS, max_logs: int = MAX_LOGS) -> None:
        if keep_blocks < 1 or max_logs < 0:
            raise InvalidInput(f"a log feed keeps at least one block (keep_blocks={keep_blocks}, max_logs={max_logs})")
        self.chain_id = chain_id
        self.keep_blocks = keep_blocks
        self.max_logs = max_logs
        self._subscribed: set[str] = set()
        self._entries: list[_Entry] = []
        self.fetches = 0  # eth_getLogs ranges fetched (for tests and benchmarks)
        self.hits = 0  # answers served from memory

    @property
    def subscribed(self) -> frozenset[str]:
        return frozenset(self._subscribed)

    def subscribe(self, topics: Iterable[str]) -> None:
        """Add topic0s every later fetch includes, so this subscriber's next read of the same blocks is free."""
        self._subscribed.update(_topics(topics))

    async def logs(self, client: ChainClient, topics: Collection[str], from_block: int, to: BlockRef) -> list[Log]:
        """The logs with a topic0 in ``topics`` over [from_block, to.number], in chain order, on ``to``'s fork."""
        if client.chain_id != self.chain_id or to.chain_id != self.chain_id:
            raise InvalidInput(
                f"the log feed of chain {self.chain_id} cannot read chain {client.chain_id} at block of chain "
                f"{to.chain_id}",
                chain_id=self.chain_id,
            )
        wanted = _topics(topics)
        if from_block > to.number or not wanted:
            return []
        entry = next((e for e in self._entries if e.covers(wanted, from_block, to)), None)
        if entry is not None:
            self.hits += 1
        else:
            entry = self._start(client, wanted | self._subscribed, from_block, to)
        found = await asyncio.shield(entry.fetch)  # a cancelled consumer leaves the fetch to the others
        return [
            log for log in found if log_hex(log["topics"][0]) in wanted and log_int(log["blockNumber"]) >= from_block
        ]

    def _start(self, client: ChainClient, topics: frozenset[str], from_block: int, to: BlockRef) -> _Entry:
        self.fetches += 1
        fetch = asyncio.create_task(
            client.get_logs(address=None, topics=[sorted(topics)], from_block=from_block, to_block=to.number)
        )
        entry = _Entry(from_block, to, topics, fetch)
        self._entries.append(entry)
        fetch.add_done_callback(lambda _: self._settle(entry))
        return entry

    def _settle(self, entry: _Entry) -> None:
        """Keep a fetched entry if it is of the fork asked for; drop what it makes redundant and what is old."""
        if entry not in self._entries:  # dropped while it was being fetched (a newer entry covered it)
            return
        failed = entry.fetch.cancelled() or entry.fetch.exception() is not None
        if failed or not _on_fork(entry.fetch.result(), entry.to):
            self._entries.remove(entry)
            return
        newest = max(e.to.number for e in self._entries)
        self._entries = [
            e
            for e in self._entries
            if e is entry
            or (e.to.number > newest - self.keep_blocks and not entry.covers(e.topics, e.from_block, e.to))
        ]
        total = sum(e.size for e in self._entries)
        # Over the budget, the entries of the oldest blocks go first (the newest is what consumers still ask).
        for old in sorted((e for e in self._entries if e.fetch.done()), key=lambda e: e.to.number):
            if total <= self.max_logs:
                break
            total -= old.size
            self._entries.remove(old)


def _topics(topics: Iterable[str]) -> frozenset[str]:
    return frozenset(t.lower() for t in topics)


def _on_fork(logs: Iterable[Log], to: BlockRef) -> bool:
    """No log of the last block comes from another block than ``to`` (the node answered from another fork)."""
    return all(
        log_hex(log["blockHash"]).lower() == to.hash.lower()
        for log in logs
        if "blockHash" in log and log_int(log["blockNumber"]) == to.number
    )
