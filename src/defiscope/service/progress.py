"""Indexing progress per chain — phase, done of total, moving rate, ETA — for /v1/health, the dashboard and the CLI.

    board = SyncBoard()
    sync = board.chain(1)
    sync.discovering({"0x1f98...:0x783c...": 12_369_620}, target=19_000_000)  # each event source's last scanned block
    sync.discovered("0x1f98...:0x783c...", scanned_to=12_500_000, target=19_000_000)  # `on_progress` of a long scan
    sync.catching_up(done=16, total=1_200)  # blocks indexed of the blocks due since the last stored one
    sync.following()
    board.view()[1].phase, board.view()[1].percent, board.view()[1].eta_seconds

Phases: `discovering` is a chain's first snapshot (its adapters' event cursors scan from where they stand to the
head; a unit is a block scanned, summed over the sources), `catching_up` the blocks due since the last stored one
(a unit is a block indexed), `following` the head. The rate is a moving one (units per second over the last
`RATE_WINDOW` seconds, measured up to *now*), so the ETA follows a provider's throttling, and a stall shows as a
falling rate and an old `advanced_at` rather than a frozen estimate. Nothing here reads a chain: each chunk a
discovery scan keeps reaches `ChainSync.discovered` through the indexer's `on_progress(source, scanned_to,
target)` callback (`service.discovery.DiscoveryProgress`), and `SyncWatcher` polls the indexer's status.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from defiscope.protocols.base import Adapter
from defiscope.protocols.log_cursor import LogCursor
from defiscope.service.indexer import Indexer

Phase = Literal["discovering", "catching_up", "following"]
#: Seconds of history behind the moving rate: long enough to smooth a provider's bursts, short enough to
#: follow a change of pace (a 429 storm, a dense stretch of blocks).
RATE_WINDOW: Final = 30.0
#: How often `SyncWatcher` looks at the cursors and the indexer.
POLL_SECONDS: Final = 0.25

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class SyncProgress:
    """One chain's progress as read at one moment (immutable: safe to hand to the API's thread)."""

    phase: Phase
    done: int
    total: int  # 0: not known yet (the backlog is being sized, or there is nothing to scan)
    started_at: float  # unix time the phase began
    advanced_at: float  # unix time `done` last grew (or the phase began)
    rate: float | None  # units per second over the moving window; None until two observations

    @property
    def syncing(self) -> bool:
        return self.phase != "following"

    @property
    def percent(self) -> float | None:
        """Share done, in percent (two decimals); None when the total is not known. Following: 100."""
        if self.phase == "following":
            return 100.0
        if self.total <= 0:
            return None
        return round(100 * min(self.done, self.total) / self.total, 2)

    @property
    def eta_seconds(self) -> int | None:
        """Seconds left at the moving rate; 0 when following or done; None when unknown (no rate, stalled)."""
        if self.phase == "following" or (self.total > 0 and self.done >= self.total):
            return 0
        if self.total <= 0 or not self.rate:
            return None
        return math.ceil((self.total - self.done) / self.rate)


class RateMeter:
    """Units per second over the last `window` seconds, up to the moment asked (a stall lowers it).

    >>> meter = RateMeter(window=10.0)
    >>> meter.add(0.0, 0); meter.add(5.0, 50); meter.rate(10.0)
    5.0
    >>> meter.rate(30.0)  # nothing for 20 s: the window holds no progress
    0.0
    """

    __slots__ = ("_samples", "window")

    def __init__(self, window: float = RATE_WINDOW) -> None:
        self.window = window
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, at: float, done: int) -> None:
        samples = self._samples
        samples.append((at, done))
        # Only the writer prunes (readers may be API threads): keep one sample at or before the window's start.
        while len(samples) > 2 and samples[1][0] <= at - self.window:
            samples.popleft()

    def rate(self, now: float) -> float | None:
        samples = list(self._samples)  # a copy: safe to read beside the writer
        if not samples:
            return None
        # The anchor: the newest sample at or before the window's start (the span then covers the whole window),
        # else the oldest one.
        anchor = samples[0]
        for sample in samples:
            if sample[0] > now - self.window:
                break
            anchor = sample
        if anchor is samples[-1] and now - anchor[0] < self.window:
            return None  # one observation, younger than the window: nothing to measure yet
        elapsed = now - anchor[0]
        return (samples[-1][1] - anchor[1]) / elapsed if elapsed > 0 else None


@dataclass(slots=True)
class _Span:
    """One event source's scan: from `base` (scanned when discovery began) to `target`; `scanned` so far."""

    base: int
    scanned: int
    target: int


class ChainSync:
    """The progress of one chain, updated by whoever drives it (`SyncWatcher`, a scan's callback)."""

    def __init__(self, chain_id: int, clock: Clock = time.time) -> None:
        self.chain_id = chain_id
        self.clock = clock
        self.spans: dict[str, _Span] = {}
        self._phase: Phase = "discovering"
        self._started_at = self._advanced_at = 0.0
        self._done = self._total = 0
        self._meter = RateMeter()
        self._start("discovering")

    def discovering(self, scanned: Mapping[str, int], target: int) -> None:
        """Discovery begins: each source has scanned up to `scanned[source]` and will scan up to `target`."""
        self._start("discovering")
        self.spans = {source: _Span(at, at, max(at, target)) for source, at in scanned.items()}
        self._set(*self._span_totals())

    def discovered(self, source: str, scanned_to: int, target: int) -> None:
        """A source scanned up to `scanned_to` of `target` (the `on_progress` shape). A source not announced by
        `discovering` counts from its first report."""
        span = self.spans.setdefault(source, _Span(scanned_to, scanned_to, target))
        span.scanned = max(span.scanned, scanned_to)
        span.target = max(span.target, target, span.scanned)
        if self.phase == "discovering":
            self._set(*self._span_totals())

    def catching_up(self, done: int, total: int) -> None:
        if self.phase != "catching_up":
            self._start("catching_up")
        self._set(done, total)

    def following(self) -> None:
        if self.phase != "following":
            done = max(self._done, self._total)
            self._start("following", done)
            self._total = done

    @property
    def phase(self) -> Phase:
        return self._phase

    def view(self) -> SyncProgress:
        rate = None if self._phase == "following" else self._meter.rate(self.clock())
        return SyncProgress(self._phase, self._done, self._total, self._started_at, self._advanced_at, rate)

    def _start(self, phase: Phase, done: int = 0) -> None:
        now = self.clock()
        self._phase = phase
        self._started_at = self._advanced_at = now
        self._done, self._total = done, 0
        self._meter = RateMeter()
        self._meter.add(now, done)

    def _set(self, done: int, total: int) -> None:
        self._total = total
        if done > self._done:
            now = self.clock()
            self._done = done
            self._advanced_at = now
            self._meter.add(now, done)

    def _span_totals(self) -> tuple[int, int]:
        spans = self.spans.values()
        return sum(s.scanned - s.base for s in spans), sum(s.target - s.base for s in spans)


class SyncBoard:
    """Every chain's `ChainSync`; `view()` is what the API and the terminal read."""

    def __init__(self, clock: Clock = time.time) -> None:
        self.clock = clock
        self.chains: dict[int, ChainSync] = {}

    def chain(self, chain_id: int) -> ChainSync:
        if chain_id not in self.chains:
            self.chains[chain_id] = ChainSync(chain_id, self.clock)
        return self.chains[chain_id]

    def view(self) -> dict[int, SyncProgress]:
        return {chain_id: sync.view() for chain_id, sync in self.chains.items()}

    @property
    def syncing(self) -> bool:
        return any(sync.phase != "following" for sync in self.chains.values())


def source_key(cursor: LogCursor[Any]) -> str:
    """One event source: the cursor's own stable `source` name when it has one (the name its scans report to
    `on_progress`, so polling and the callback update the same span), else its contract and topics. Two adapters
    following the same events are one source."""
    named = getattr(cursor, "source", None)
    if isinstance(named, str):
        return named
    return f"{cursor.address.lower()}:{','.join(sorted(t.lower() for t in cursor.topics))}"


def cursors_of(adapters: Iterable[Adapter]) -> dict[str, LogCursor[Any]]:
    return {source_key(cursor): cursor for adapter in adapters for cursor in adapter.log_cursors()}


class SyncWatcher:
    """Drives a `SyncBoard` from what `serve` runs: the first snapshot's cursors, then the indexer's catch-up.

    A chain is `discovering` from `discovering()` until its first block is stored (by the first snapshot,
    `stored()`, or by the indexer), `catching_up` while the indexer sizes or works off a resume's backlog,
    then `following`.
    """

    def __init__(self, board: SyncBoard, indexer: Indexer) -> None:
        self.board = board
        self.indexer = indexer
        self._stored: set[int] = set()
        for chain_id, chain in indexer.chains.items():
            # Each chunk a discovery scan keeps moves the chain's bar: its own report, as it happens.
            chain.discovery.listeners.append(board.chain(chain_id).discovered)

    def discovering(self, chain_id: int, adapters: Iterable[Adapter], target: int) -> None:
        """The first snapshot of `chain_id` at block `target` begins: its sources and where each stands."""
        cursors = cursors_of(adapters)
        self.board.chain(chain_id).discovering({k: c.scanned_to for k, c in cursors.items()}, target)

    def stored(self, chain_id: int) -> None:
        """The first snapshot of `chain_id` is stored."""
        self._stored.add(chain_id)
        self.poll()

    def poll(self) -> None:
        for chain_id, chain in self.indexer.chains.items():
            sync = self.board.chain(chain_id)
            status = chain.chain_status
            if sync.phase == "discovering" and chain_id not in self._stored and status.last_indexed is None:
                continue  # the scans' own reports move it
            catch_up = status.catch_up
            if chain.resuming:  # the indexer has not sized the backlog yet
                sync.catching_up(0, 0)
            elif catch_up is not None and catch_up.done < catch_up.total:
                sync.catching_up(catch_up.done, catch_up.total)
            else:
                sync.following()

    async def run(self, stop: asyncio.Event, every: float = POLL_SECONDS) -> None:
        """Poll until `stop` is set."""
        while not stop.is_set():
            self.poll()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
