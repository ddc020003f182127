"""Discovery from events: one contract's logs of some events, scanned once from a start block and then only
over new blocks, kept parsed so that what held at any block already scanned is replayed, not re-read.

    created = LogCursor(factory, [POOL_CREATED], parse_pool_created, start_block=12_369_621)
    await created.scan(reader)            # blocks not scanned yet, up to the reader's pinned block
    created.upto(reader.block.number)     # every parsed log up to that block, in chain order

Uniswap/PancakeSwap V3 pools, EigenLayer's whitelist, pods and operators, and the Maker Vat's wards use it.
The scan goes through `Reader.logs`, so a block's new logs of every cursor share one request.

With a `CursorStore` attached (the service attaches the store's), the cursor is persistent: its first scan
loads the raw logs stored for its `source` and continues after the stored `scanned_to` (a restart rescans
nothing), and every chunk of `SCAN_CHUNK` blocks it scans is written before the next is asked for, so an
interrupted first discovery from a factory's deployment block resumes where it stopped. Raw logs are stored,
not parsed ones, and re-parsed with the cursor's own `parse`: the store knows nothing of any protocol.

    created.attach(repo, on_progress=lambda source, done, target: print(source, done, target))
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Generic, Protocol, TypeVar

from defiscope.chain.logs import log_hex, log_int
from defiscope.chain.reader import Reader

T = TypeVar("T")

#: Blocks per `eth_getLogs` of a long scan, each persisted before the next: the free plans' range cap.
SCAN_CHUNK: Final = 10_000

#: Chunks of a long scan asked at once (each may itself be split by the client to the provider's range cap).
CHUNKS_IN_FLIGHT: Final = 4

#: Stored logs read (and parsed) per query when a cursor loads.
LOAD_PAGE: Final = 50_000

#: `on_progress(source, scanned_to, target)`: called after each chunk of a scan is kept (for a progress bar).
ProgressCallback = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class StoredCursor:
    """What a store holds for one (chain, source): the raw logs up to `scanned_to`, in chain order."""

    scanned_to: int
    scanned_hash: str | None  # hash of block `scanned_to` when known (the last chunk of a scan knows it)
    logs: Sequence[Mapping[str, Any]]


class CursorStore(Protocol):
    """Where a cursor keeps its raw logs and how far it scanned (`defiscope.store.Repository` is one).

    Called from a worker thread (`asyncio.to_thread`): implementations do blocking I/O."""

    def load_cursor(
        self, chain_id: int, source: str, *, after: tuple[int, int] | None = None, limit: int | None = None
    ) -> StoredCursor | None:
        """The scanned_to of `source` and its stored logs up to there, in chain order: those after position
        `after` (block, log index), at most `limit` of them (a page). None if nothing is stored."""
        ...

    def save_cursor(
        self,
        chain_id: int,
        source: str,
        logs: Sequence[Mapping[str, Any]],
        scanned_to: int,
        scanned_hash: str | None,
    ) -> None:
        """Append `logs` (all after the stored scanned_to) and advance the cursor to `scanned_to`, atomically."""
        ...


def source_key(address: str, topics: Sequence[str], start_block: int) -> str:
    """A stable name of what a cursor follows: the contract, its events (in any order) and the start block.

    Two cursors following the same events of the same contract from the same block share what is stored.

        >>> source_key("0xAbC", ["0x02", "0x01"], 5) == source_key("0xabc", ["0x01", "0x02"], 5)
        True
    """
    digest = hashlib.sha256(",".join(sorted(t.lower() for t in topics)).encode()).hexdigest()[:16]
    return f"{address.lower()}:{digest}:{start_block}"


class LogCursor(Generic[T]):
    """The logs of ``topics`` (topic0 alternatives) emitted by ``address`` from ``start_block`` on."""

    def __init__(
        self, address: str, topics: Sequence[str], parse: Callable[[Mapping[str, Any]], T], *, start_block: int = 0
    ) -> None:
        self.address = address
        self.topics = tuple(topics)
        self.parse = parse
        self.start_block = start_block
        self.source = source_key(address, self.topics, start_block)
        self.scanned_to = start_block - 1  # the last block whose logs are in `entries`
        self.entries: list[tuple[int, int, T]] = []  # (block, log index, parsed), in chain order
        self.store: CursorStore | None = None
        self.on_progress: ProgressCallback | None = None
        self.rewinds = 0  # how many times logs were forgotten (a reorg): state derived from them is stale
        self._loaded_for: int | None = None  # the chain id whose stored state is loaded
        self._lock = asyncio.Lock()

    @property
    def logs(self) -> list[T]:
        return [item for _, _, item in self.entries]

    def attach(self, store: CursorStore, *, on_progress: ProgressCallback | None = None) -> None:
        """Persist this cursor in `store` from its next scan on (loading what is stored first)."""
        self.store = store
        self.on_progress = on_progress
        self._loaded_for = None

    async def load(self, store: CursorStore, chain_id: int) -> None:
        """What `store` holds for this cursor, read only: nothing is scanned or written (a reader of the stored
        history, such as an alert backtest, beside the indexer that keeps it)."""
        async with self._lock:
            await self._load(store, chain_id)

    async def scan(self, reader: Reader) -> None:
        """Fetch the logs of blocks not scanned yet, up to the reader's block; concurrent callers scan once.

        A scan longer than `SCAN_CHUNK` blocks goes in chunks, `CHUNKS_IN_FLIGHT` asked at a time and each kept
        (and stored) in order before the cursor moves past it."""
        to_block = reader.block.number
        async with self._lock:
            if self.store is not None and self._loaded_for != reader.chain_id:
                await self._load(self.store, reader.chain_id)
            if to_block <= self.scanned_to:
                return
            if to_block - self.scanned_to <= SCAN_CHUNK:  # one chunk (each block's scan): asked in this task,
                # so that it joins the other cursors' queries of the block in one batch
                found = await self._ask(reader, self.scanned_to + 1, to_block)
                await self._keep_chunk(reader, sorted(found, key=_position), to_block, to_block)
                return
            chunks = iter(range(self.scanned_to + 1, to_block + 1, SCAN_CHUNK))
            in_flight: deque[tuple[int, asyncio.Task[list[Mapping[str, Any]]]]] = deque()

            def ask_next() -> None:
                start = next(chunks, None)
                if start is not None:
                    end = min(to_block, start + SCAN_CHUNK - 1)
                    in_flight.append((end, asyncio.ensure_future(self._ask(reader, start, end))))

            try:
                for _ in range(CHUNKS_IN_FLIGHT):
                    ask_next()
                while in_flight:
                    end, task = in_flight.popleft()
                    await self._keep_chunk(reader, sorted(await task, key=_position), end, to_block)
                    ask_next()
            finally:
                for _, task in in_flight:  # a failed chunk: the ones after it are not needed
                    task.cancel()
                await asyncio.gather(*(task for _, task in in_flight), return_exceptions=True)

    async def _ask(self, reader: Reader, from_block: int, to_block: int) -> list[Mapping[str, Any]]:
        return await reader.logs(
            address=self.address, topics=[list(self.topics)], from_block=from_block, to_block=to_block
        )

    async def _keep_chunk(self, reader: Reader, found: list[Mapping[str, Any]], end: int, to_block: int) -> None:
        """Store (if persistent) then keep a chunk's logs: memory never runs ahead of the store."""
        if self.store is not None:
            block_hash = reader.block.hash if end == reader.block.number else None
            await asyncio.to_thread(self.store.save_cursor, reader.chain_id, self.source, found, end, block_hash)
        self._keep(found, end)
        if self.on_progress is not None:
            self.on_progress(self.source, end, to_block)

    def rewind(self, block: int) -> None:
        """Forget the logs of blocks after `block` (a reorg): the next scan fetches them again. Anything an
        adapter derived from the forgotten logs is stale: `rewinds` counts these, for it to notice."""
        if self.scanned_to <= block:
            return
        self.entries = [entry for entry in self.entries if entry[0] <= block]
        self.scanned_to = max(self.start_block - 1, block)
        self.rewinds += 1

    def upto(self, block: int) -> list[T]:
        return [item for at, _, item in self.entries if at <= block]

    def between(self, after: int, upto: int) -> list[T]:
        """Logs of blocks ``after`` < block <= ``upto``."""
        return [item for at, _, item in self.entries if after < at <= upto]

    async def _load(self, store: CursorStore, chain_id: int) -> None:
        """Replace what is in memory with what `store` holds (if it holds anything for this source)."""
        loaded = await asyncio.to_thread(self._read_stored, store, chain_id)
        self._loaded_for = chain_id
        self.rewind(self.start_block - 1)  # anything scanned before the store was attached: from the store now
        if loaded is not None:
            self.entries, self.scanned_to = loaded

    def _read_stored(self, store: CursorStore, chain_id: int) -> tuple[list[tuple[int, int, T]], int] | None:
        """The stored logs, parsed, and scanned_to (in a worker thread). Read in pages and parsed page by page,
        so a million stored pairs never sit in memory as raw logs all at once."""
        first = store.load_cursor(chain_id, self.source, limit=LOAD_PAGE)
        if first is None:
            return None
        entries: list[tuple[int, int, T]] = []
        page: Sequence[Mapping[str, Any]] = first.logs
        while True:
            for log in page:
                at = log_int(log["blockNumber"])
                if at <= first.scanned_to:  # a page read after another process saved more: not ours yet
                    entries.append((at, log_int(log["logIndex"]), self.parse(log)))
            if len(page) < LOAD_PAGE:
                return entries, first.scanned_to
            following = store.load_cursor(chain_id, self.source, after=_position(page[-1]), limit=LOAD_PAGE)
            page = [] if following is None else following.logs

    def _keep(self, raw: Sequence[Mapping[str, Any]], scanned_to: int) -> None:
        """Add raw logs (in chain order, all after `scanned_to`'s previous value) and advance to `scanned_to`."""
        self.entries.extend((log_int(log["blockNumber"]), log_int(log["logIndex"]), self.parse(log)) for log in raw)
        self.scanned_to = max(self.scanned_to, scanned_to)


def _position(log: Mapping[str, Any]) -> tuple[int, int]:
    return log_int(log["blockNumber"]), log_int(log["logIndex"])


def jsonable_log(log: Mapping[str, Any]) -> dict[str, Any]:
    """A raw log as plain JSON values (bytes as 0x-hex), as a store keeps it and `parse` reads it back."""
    return {key: _jsonable(value) for key, value in log.items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return log_hex(bytes(value))
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
