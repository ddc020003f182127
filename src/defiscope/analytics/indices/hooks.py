"""The indices' `BlockHook`: each stored block moves every tracked index on its chain, off the event loop.

    hook = IndexHook({1: [tracker, ...]}, closers=[venue.close])
    repo.on_rollback(hook.on_rollback)
    Indexer(engines, repo, hooks=(alerts, hook))

A block only records the chain's newest head and, when no tracking is running for that chain, starts it on the
hook's own thread (the trackers read the store and the chain synchronously). A run catches up to the newest head
before it ends, so a burst of blocks costs one catch-up, and the indexer never waits for the indices.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final

import structlog

from defiscope.analytics.indices.live import IndexTracker, TrackStatus

if TYPE_CHECKING:
    from defiscope.indexing_hooks import IndexedChain
    from defiscope.tvl.engine import ChainTvl

log = structlog.get_logger(__name__)

#: Blocks one tracker steps through per run: a long catch-up stores as it goes and stops promptly.
CATCH_UP_BLOCKS: Final = 500


class IndexHook:
    """Tracks indices per chain as blocks are stored (`indexing_hooks.BlockHook`)."""

    def __init__(
        self, trackers: Mapping[int, Sequence[IndexTracker]], *, closers: Sequence[Callable[[], None]] = ()
    ) -> None:
        self._trackers = {chain: tuple(found) for chain, found in trackers.items()}
        self._closers = tuple(closers)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="indices")
        self._wanted: dict[int, int] = {}
        self._runs: dict[int, asyncio.Task[None]] = {}
        self._closing = False  # set by close(): a catch-up in progress ends after the run it is in

    async def block_indexed(self, chain: IndexedChain, result: ChainTvl) -> None:
        del chain
        block = result.block
        if self._closing or block.chain_id not in self._trackers:
            return
        self._wanted[block.chain_id] = max(block.number, self._wanted.get(block.chain_id, block.number))
        running = self._runs.get(block.chain_id)
        if running is None or running.done():
            self._runs[block.chain_id] = asyncio.create_task(self._follow(block.chain_id))

    def on_rollback(self, session: Any, chain_id: int, block_number: int) -> None:
        """`Repository.on_rollback`: the trackers of the chain forget the lost blocks (their rows go with them)."""
        del session
        for tracker in self._trackers.get(chain_id, ()):
            tracker.forget_from(block_number)

    def statuses(self) -> list[TrackStatus]:
        return [tracker.status for found in self._trackers.values() for tracker in found]

    def stop(self) -> None:
        """No new catch-up starts (the one running ends with its run); then `idle` and `close`."""
        self._closing = True

    async def idle(self) -> None:
        """Wait until every chain's tracking has caught up with the newest block told (or stopped)."""
        while running := [task for task in self._runs.values() if not task.done()]:
            await asyncio.gather(*running)

    def close(self) -> None:
        self._closing = True
        self._executor.submit(self._close_venues).result()
        self._executor.shutdown()

    async def _follow(self, chain_id: int) -> None:
        loop = asyncio.get_running_loop()
        done = None
        while not self._closing and (head := self._wanted[chain_id]) != done:
            await loop.run_in_executor(self._executor, self._advance, chain_id, head)
            done = head

    def _advance(self, chain_id: int, head: int) -> None:
        for tracker in self._trackers[chain_id]:
            while not self._closing and self._step(tracker, head):
                pass

    def _step(self, tracker: IndexTracker, head: int) -> bool:
        """One bounded run of `tracker` towards `head`; whether it moved and has more to do."""
        before, last = tracker.status.state, tracker.last_block
        try:
            tracker.advance(head, CATCH_UP_BLOCKS)
        except Exception as exc:  # the next block tries again; said once per change of state
            if before != "failing":
                index, chain_id = tracker.definition.id, tracker.chain_id
                log.warning("indices.track_failed", index=index, chain_id=chain_id, error=str(exc))
            return False
        status = tracker.status
        if status.state != before:
            where = {"index": status.index, "chain_id": status.chain_id}
            log.info("indices.status", **where, state=status.state, why=status.reason)
        now = tracker.last_block
        return now is not None and now != last and now < head

    def _close_venues(self) -> None:
        for close in self._closers:
            close()
