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

A `Batcher` given the feed claims the range instead (`claim`) and, when it is its turn to fetch, sends the
feed's query in its own JSON-RPC batch with the snapshot's other log queries, then fills in the answer. A
snapshot that read its block's logs with the header (`chain.pinning`) hands the feed that answer (`keep`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from defiscope.chain.block import BlockRef
from defiscope.chain.client import ChainClient
from defiscope.chain.errors import ChainError, InvalidInput
from defiscope.chain.log_plan import LogQuery
from defiscope.chain.logs import log_hex, log_int

Log = Mapping[str, Any]
#: Entries are kept while their last block is among this many newest blocks seen.
KEEP_BLOCKS: Final = 64
#: Logs kept at most, over all entries (about 1 KB each as parsed JSON): the oldest entries go first.
MAX_LOGS: Final = 200_000


class ReadAbandoned(ChainError):
    """The consumer that was fetching a range for the others was cancelled first: ask again."""

    transient = True


@dataclass(frozen=True, slots=True)
class _Entry:
    """The logs of ``topics`` over [from_block, to.number] on the fork whose block ``to.number`` is ``to``."""

    from_block: int
    to: BlockRef
    topics: frozenset[str]
    logs: asyncio.Future[list[Log]]  # resolved by whoever fetches them

    def covers(self, topics: frozenset[str], from_block: int, to: BlockRef) -> bool:
        return (
            self.to.number == to.number
            and self.to.hash == to.hash
            and self.from_block <= from_block
            and topics <= self.topics
        )

    @property
    def size(self) -> int:
        """Logs held (none while fetching)."""
        logs = self.logs
        return len(logs.result()) if logs.done() and not logs.cancelled() and logs.exception() is None else 0


@dataclass(frozen=True, slots=True)
class Claim:
    """A consumer's claim on a range: ``fetch`` is None when the logs are kept or being fetched already;
    otherwise the consumer sends ``fetch`` itself (alone, or in a batch of its own) and hands the answer to
    `fill`, or its failure to `fail`, so that every waiter gets it."""

    feed: LogFeed
    entry: _Entry
    fetch: LogQuery | None

    def fill(self, logs: Sequence[Log]) -> None:
        """The claimed range's answer: handed to every waiter, and kept if it is of the fork asked for."""
        if not self.entry.logs.done():
            self.entry.logs.set_result(list(logs))
        self.feed._settle(self.entry)

    def abandon(self) -> None:
        """The claimer will not fetch after all (cancelled): fail the range if it is still unread."""
        if self.fetch is not None and not self.entry.logs.done():
            where = f"blocks {self.entry.from_block}-{self.entry.to.number}"
            self.fail(ReadAbandoned(f"the read of {where} was stopped", chain_id=self.entry.to.chain_id))

    def fail(self, exc: Exception) -> None:
        """The claimed range could not be read: every waiter learns why, and the next asker fetches again."""
        if self.fetch is None:  # a waiter: the fetcher reports its own failure
            return
        if not self.entry.logs.done():
            self.entry.logs.set_exception(exc)
            self.entry.logs.exception()  # retrieved here: a fetch no one else waited for is not a warning
        self.feed._drop(self.entry)

    async def logs(self, topics: Collection[str], from_block: int) -> list[Log]:
        """The claimed logs with a topic0 in ``topics`` from ``from_block`` on, once fetched."""
        wanted = _topics(topics)
        found = await asyncio.shield(self.entry.logs)  # a cancelled waiter leaves the fetch to the others
        return [
            log for log in found if log_hex(log["topics"][0]) in wanted and log_int(log["blockNumber"]) >= from_block
        ]


class LogFeed:
    """Recent raw logs of one chain, shared by every consumer that reads the same blocks."""

    def __init__(self, chain_id: int, *, keep_blocks: int = KEEP_BLOCKS, max_logs: int = MAX_LOGS) -> None:
        if keep_blocks < 1 or max_logs < 0:
            raise InvalidInput(f"a log feed needs keep_blocks >= 1 and max_logs >= 0, not {keep_blocks} and {max_logs}")
        self.chain_id = chain_id
        self.keep_blocks = keep_blocks
        self.max_logs = max_logs
        self._subscribed: set[str] = set()
        self._entries: list[_Entry] = []
        self.fetches = 0  # ranges fetched (for tests and benchmarks)
        self.hits = 0  # answers served from memory, or from another consumer's fetch in flight

    @property
    def subscribed(self) -> frozenset[str]:
        return frozenset(self._subscribed)

    def subscribe(self, topics: Iterable[str]) -> None:
        """Add topic0s every later fetch includes, so this subscriber's next read of the same blocks is free."""
        self._subscribed.update(_topics(topics))

    async def logs(self, client: ChainClient, topics: Collection[str], from_block: int, to: BlockRef) -> list[Log]:
        """The logs with a topic0 in ``topics`` over [from_block, to.number], in chain order, on ``to``'s fork."""
        if client.chain_id != self.chain_id:
            raise InvalidInput(
                f"the log feed of chain {self.chain_id} cannot read chain {client.chain_id}", chain_id=self.chain_id
            )
        if from_block > to.number or not topics:
            return []
        claim = self.claim(topics, from_block, to)
        if claim.fetch is not None:
            try:
                found = await client.get_logs(
                    address=None, topics=claim.fetch.topics, from_block=claim.fetch.from_block, to_block=to.number
                )
            except Exception as exc:
                claim.fail(exc)
                raise
            except BaseException:  # cancelled: the others waiting for this range learn it, and may ask again
                claim.abandon()
                raise
            claim.fill(found)
        return await claim.logs(topics, from_block)

    def claim(self, topics: Collection[str], from_block: int, to: BlockRef) -> Claim:
        """The entry holding these logs, or a new one (with the query that fetches every subscriber's topics)."""
        if to.chain_id != self.chain_id:
            raise InvalidInput(
                f"the log feed of chain {self.chain_id} cannot serve block {to.number} of chain {to.chain_id}",
                chain_id=self.chain_id,
            )
        wanted = _topics(topics)
        entry = next((e for e in self._entries if e.covers(wanted, from_block, to)), None)
        if entry is not None:
            self.hits += 1
            return Claim(self, entry, None)
        self.fetches += 1
        every = wanted | self._subscribed
        entry = _Entry(from_block, to, every, asyncio.get_running_loop().create_future())
        self._entries.append(entry)
        return Claim(self, entry, LogQuery(None, (sorted(every),), from_block, to.number))

    def holds(self, query: LogQuery) -> bool:
        """Whether an entry of block ``query.to_block`` (of a fork not known yet) already answers this address-less
        topic0 query, or is being fetched: a reader that pins that block will most likely be served from it."""
        topics = query.topic0s()
        if query.address is not None or topics is None:
            return False
        return any(
            e.to.number == query.to_block and e.from_block <= query.from_block and topics <= e.topics
            for e in self._entries
        )

    def keep(self, query: LogQuery, to: BlockRef, logs: Sequence[Log]) -> None:
        """The answer to an address-less topic0 query ending at block ``to``, read by someone else (with the block's
        header, `chain.pinning`): kept as if fetched here, if it is of ``to``'s fork."""
        topics = query.topic0s()
        if query.address is not None or topics is None or query.to_block != to.number or to.chain_id != self.chain_id:
            return
        self.fetches += 1
        answered: asyncio.Future[list[Log]] = asyncio.get_running_loop().create_future()
        answered.set_result(list(logs))
        entry = _Entry(query.from_block, to, topics, answered)
        self._entries.append(entry)
        self._settle(entry)

    def _drop(self, entry: _Entry) -> None:
        if entry in self._entries:
            self._entries.remove(entry)

    def _settle(self, entry: _Entry) -> None:
        """Keep a fetched entry if it is of the fork asked for; drop what it makes redundant and what is old."""
        if entry not in self._entries:  # dropped while it was being fetched (a newer entry covered it)
            return
        if not _on_fork(entry.logs.result(), entry.to):
            self._drop(entry)
            return
        newest = max(e.to.number for e in self._entries)
        self._entries = [
            e
            for e in self._entries
            if e is entry
            or (
                e.to.number > newest - self.keep_blocks
                and not (e.logs.done() and entry.covers(e.topics, e.from_block, e.to))
            )
        ]
        total = sum(e.size for e in self._entries)
        # Over the budget, the entries of the oldest blocks go first (the newest is what consumers still ask).
        for old in sorted((e for e in self._entries if e.logs.done()), key=lambda e: e.to.number):
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
