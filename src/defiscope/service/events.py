"""Protocol events kept in the store as the indexer advances: every stream the chain's adapters declare.

The indexer calls `collect(to_block)` after each block it stores. Each adapter's `event_streams()` names a
contract, its topics and how to parse a log (`protocols.events`); the collector scans only the blocks since
its last scan of that stream (streams at the same position share one `eth_getLogs`), stores what `parse`
returns (completed by the stream's `complete`, when it declares one, through a reader pinned to the scan's
end) under the adapter's slug, idempotently, and scans again from the fork after a reorg. The first scan
of a stream looks back its own `lookback` (a week of daily reports for an APR average, say). It knows no
protocol by name: what a protocol keeps is the adapter's business, what is done with it the reader's.

Each stream's position is kept in the store beside the discovery cursors (`Repository.save_cursor`, no logs,
source `events:<slug>:<contract, topics, start>`), so a restarted service continues after it instead of
looking back again, and the store's rollback of a reorg lowers it with the events it drops.

    collector = EventCollector.of(engine, repo)      # None when no adapter of the chain declares a stream
    await collector.collect(head)                     # events in (last scan, head], stored idempotently
    collector.rewind(fork)                            # after a rollback: rescan from the fork
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from defiscope.chain.client import ChainClient
from defiscope.chain.log_plan import LogQuery
from defiscope.chain.logs import log_hex
from defiscope.chain.reader import BATCHED_LOG_SPAN, Batcher, Reader
from defiscope.errors import DefiscopeError
from defiscope.protocols.events import EventStream
from defiscope.protocols.log_cursor import source_key
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class _Scan:
    """One protocol's stream and how far it has been scanned."""

    slug: str
    stream: EventStream
    scanned: int | None = field(default=None)  # the last block scanned; None before the first scan

    @property
    def source(self) -> str:
        """The stream's name among the store's cursors (apart from discovery's, which hold logs)."""
        return f"events:{self.slug}:{source_key(self.stream.address, self.stream.topics, self.stream.start_block)}"

    def start(self, to_block: int) -> int:
        return self.stream.first_block(to_block) if self.scanned is None else self.scanned + 1

    def continues(self, start: int) -> bool:
        """Whether a scan from `start` leaves no gap after the blocks scanned so far (an explicit range of a
        one-off command may start later: its end is then no position to continue from)."""
        return self.scanned is None or start <= self.scanned + 1


class EventCollector:
    """Scans one chain's declared event streams over the blocks not scanned yet and stores what they hold."""

    def __init__(self, client: ChainClient, repo: Repository, streams: Sequence[tuple[str, EventStream]]) -> None:
        self.client = client
        self.repo = repo
        self.scans = [_Scan(slug, stream) for slug, stream in streams]
        self._loaded = False  # whether the positions stored by an earlier run are read

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

    async def collect(
        self,
        to_block: int,
        *,
        from_block: int | None = None,
        strict: bool = False,
        preloaded: Mapping[LogQuery, list[Any]] | None = None,
    ) -> int:
        """Store the events in (last scan, to_block] of every stream (from `from_block` instead, if given);
        returns how many were found. Streams scanned from the same block share one `eth_getLogs` (their
        addresses and topics together, each log handed to the streams it matches): in the steady state that is
        one request a block, however many protocols declare streams, or none when the follower's poll carried it
        (`preloaded`: the answers to `queries(to_block)`). A stream whose scan fails is logged and
        retried with the next block, from where it stood (events never hold up TVL indexing); with `strict`
        (a one-off command) it raises."""
        try:
            await self._load_positions()
        except DefiscopeError as exc:
            if strict:
                raise
            self._failed(self.scans, None, exc)  # no position to start from yet: the next block tries again
            return 0
        answers = preloaded or {}
        groups = self._groups(to_block, from_block)
        found = await asyncio.gather(*(self._collect(scans, q, answers.get(q), strict) for q, scans in groups))
        return sum(found)

    def queries(self, to_block: int) -> list[LogQuery]:
        """The queries `collect(to_block)` will send, for another batch to carry: once the stored positions are
        loaded, and only those spanning a few blocks (a long one may need splitting, as `get_logs` does)."""
        if not self._loaded:
            return []
        return [query for query, _ in self._groups(to_block, None) if query.span < BATCHED_LOG_SPAN]

    def _groups(self, to_block: int, from_block: int | None) -> list[tuple[LogQuery, list[_Scan]]]:
        """The streams grouped by the block their scan starts at, each group with its shared query."""
        groups: dict[int, list[_Scan]] = {}
        for scan in self.scans:
            start = scan.start(to_block) if from_block is None else from_block
            # Scanned up to here already (an explicit range past the head is the node's to refuse).
            if start <= to_block or from_block is not None:
                groups.setdefault(start, []).append(scan)
        return [(_shared_query(scans, start, to_block), scans) for start, scans in groups.items()]

    async def _collect(self, scans: list[_Scan], query: LogQuery, logs: list[Any] | None, strict: bool) -> int:
        """Store `scans`' events from `query`'s answer (`logs`, or asked now when None)."""
        start, to_block = query.from_block, query.to_block
        try:
            if logs is None:
                logs = await self.client.get_logs(
                    address=query.address, topics=query.topics, from_block=start, to_block=to_block
                )
        except DefiscopeError as exc:
            if strict:
                raise
            self._failed(scans, start, exc)
            return 0
        found = 0
        for scan in scans:
            mine = [raw for raw in logs if _matches(scan.stream, raw)]
            try:
                events = [scan.stream.parse(raw) for raw in mine]
                if events and scan.stream.complete is not None:
                    events = await scan.stream.complete(await self._reader(scan.slug, to_block), events)
                if events:
                    await asyncio.to_thread(self.repo.save_events, self.chain_id, scan.slug, events)
                if scan.continues(start):
                    await self._advance(scan, to_block)
            except DefiscopeError as exc:
                if strict:
                    raise
                self._failed([scan], start, exc)
                continue
            found += len(events)
            if events:
                log.info("events.stored", chain_id=self.chain_id, slug=scan.slug, events=len(events), to_block=to_block)
        return found

    async def _reader(self, slug: str, to_block: int) -> Reader:
        """A reader pinned to the scan's last block, for a stream that completes its events (`EventStream.complete`
        reads each event's own block through `at`); its calls are recorded, as every adapter's."""
        return Batcher(await self.client.snapshot(to_block)).reader(f"events:{slug}")

    async def _load_positions(self) -> None:
        """Once: continue each stream after the position an earlier run stored (a restart does not look back)."""
        if self._loaded:
            return
        stored = await asyncio.to_thread(self.repo.discovery_cursors, self.chain_id)
        for scan in self.scans:
            if scan.source in stored:
                scanned_to = stored[scan.source][0]
                scan.scanned = scanned_to if scan.scanned is None else max(scan.scanned, scanned_to)
        self._loaded = True

    async def _advance(self, scan: _Scan, to_block: int) -> None:
        """Record that `scan`'s events up to `to_block` are stored, in memory and in the store."""
        scan.scanned = to_block if scan.scanned is None else max(scan.scanned, to_block)
        # No hash: the indexer's rollback lowers it with the blocks; the events themselves are idempotent.
        await asyncio.to_thread(self.repo.save_cursor, self.chain_id, scan.source, [], scan.scanned, None)

    def _failed(self, scans: list[_Scan], start: int | None, exc: DefiscopeError) -> None:
        for scan in scans:
            log.warning("events.scan_failed", chain_id=self.chain_id, slug=scan.slug, from_block=start, error=str(exc))

    def rewind(self, number: int) -> None:
        """The store forgot everything from `number` on (a reorg): scan every stream from there again."""
        for scan in self.scans:
            if scan.scanned is not None:
                scan.scanned = min(scan.scanned, number - 1)


def _shared_query(scans: Sequence[_Scan], start: int, to_block: int) -> LogQuery:
    """One `eth_getLogs` for every stream of `scans`: their addresses and topics together."""
    addresses = sorted({scan.stream.address for scan in scans})
    topics = sorted({topic for scan in scans for topic in scan.stream.topics})
    return LogQuery(addresses[0] if len(addresses) == 1 else tuple(addresses), (tuple(topics),), start, to_block)


def _matches(stream: EventStream, raw: Mapping[str, Any]) -> bool:
    """Whether a log of a shared request is one of `stream`'s: its contract, one of its topics."""
    topics: Sequence[Any] = raw.get("topics") or []
    if not topics or log_hex(raw["address"]) != stream.address.lower():
        return False
    return log_hex(topics[0]) in {t.lower() for t in stream.topics}
