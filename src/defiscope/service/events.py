"""Protocol events kept in the store as the indexer advances: every stream the chain's adapters declare.

The indexer calls `collect(to_block)` after each block it stores. Each adapter's `event_streams()` names a
contract, its topics and how to parse a log (`protocols.events`); the collector scans only the blocks since
its last scan of that stream (one `eth_getLogs` per stream, all in flight together), stores what `parse`
returns under the adapter's slug, idempotently, and scans again from the fork after a reorg. The first scan
of a stream looks back its own `lookback` (a week of daily reports for an APR average, say). It knows no
protocol by name: what a protocol keeps is the adapter's business, what is done with it the reader's.

    collector = EventCollector.of(engine, repo)      # None when no adapter of the chain declares a stream
    await collector.collect(head)                     # events in (last scan, head], stored idempotently
    collector.rewind(fork)                            # after a rollback: rescan from the fork
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import structlog

from defiscope.chain.client import ChainClient
from defiscope.errors import DefiscopeError
from defiscope.protocols.events import EventStream
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class _Scan:
    """One protocol's stream and how far it has been scanned."""

    slug: str
    stream: EventStream
    scanned: int | None = field(default=None)  # the last block scanned; None before the first scan

    def start(self, to_block: int) -> int:
        return self.stream.first_block(to_block) if self.scanned is None else self.scanned + 1


class EventCollector:
    """Scans one chain's declared event streams over the blocks not scanned yet and stores what they hold."""

    def __init__(self, client: ChainClient, repo: Repository, streams: Sequence[tuple[str, EventStream]]) -> None:
        self.client = client
        self.repo = repo
        self.scans = [_Scan(slug, stream) for slug, stream in streams]

    @classmethod
    def of(cls, engine: TvlEngine, repo: Repository, *, slugs: Collection[str] | None = None) -> EventCollector | None:
        """The streams of the engine's adapters (of `slugs` only, if given); None when there are none."""
        streams = [
            (adapter.info.slug, stream)
            for adapter in engine.adapters
            if slugs is None or adapter.info.slug in slugs
            for stream in adapter.event_streams()
        ]
        return cls(engine.client, repo, streams) if streams else None

    @property
    def chain_id(self) -> int:
        return self.client.chain_id

    async def collect(self, to_block: int, *, from_block: int | None = None, strict: bool = False) -> int:
        """Store the events in (last scan, to_block] of every stream (from `from_block` instead, if given);
        returns how many were found. A stream whose scan fails is logged and retried with the next block, from
        where it stood (events never hold up TVL indexing); with `strict` (a one-off command) it raises."""
        found = await asyncio.gather(*(self._collect(scan, to_block, from_block, strict) for scan in self.scans))
        return sum(found)

    async def _collect(self, scan: _Scan, to_block: int, from_block: int | None, strict: bool) -> int:
        start = scan.start(to_block) if from_block is None else from_block
        if start > to_block and from_block is None:
            return 0  # scanned up to here already (an explicit range past the head is the node's to refuse)
        stream = scan.stream
        try:
            logs = await self.client.get_logs(
                address=stream.address, topics=[list(stream.topics)], from_block=start, to_block=to_block
            )
            events = [stream.parse(raw) for raw in logs]
            if events:
                await asyncio.to_thread(self.repo.save_events, self.chain_id, scan.slug, events)
        except DefiscopeError as exc:
            if strict:
                raise
            log.warning("events.scan_failed", chain_id=self.chain_id, slug=scan.slug, from_block=start, error=str(exc))
            return 0
        scan.scanned = to_block if scan.scanned is None else max(scan.scanned, to_block)
        if events:
            log.info("events.stored", chain_id=self.chain_id, slug=scan.slug, events=len(events), to_block=to_block)
        return len(events)

    def rewind(self, number: int) -> None:
        """The store forgot everything from `number` on (a reorg): scan every stream from there again."""
        for scan in self.scans:
            if scan.scanned is not None:
                scan.scanned = min(scan.scanned, number - 1)
