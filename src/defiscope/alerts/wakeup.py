"""A bell rung from any thread, heard by every task waiting on one event loop.

    >>> import asyncio
    >>> async def demo() -> int:
    ...     bell = Bell()
    ...     seen = bell.version
    ...     waiting = asyncio.create_task(bell.wait_past(seen, within=5.0))
    ...     await asyncio.sleep(0)
    ...     bell.ring()  # from the loop or from a worker thread (the evaluator commits in one)
    ...     return await waiting
    >>> asyncio.run(demo())
    1

The outbox sink rings after the transaction that wrote messages commits, so the delivery worker and every live
stream look at once instead of at their next poll. Polling stays the floor: a message committed by another
process is found within the poll interval. A ring is never lost: a waiter that saw version N returns at once
when the bell has rung since.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


class Bell:
    __slots__ = ("_event", "_lock", "_loop", "version")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None
        self.version = 0

    def ring(self) -> None:
        with self._lock:
            self.version += 1
            loop, event = self._loop, self._event
            self._event = None  # the next waiter takes a fresh event; this one wakes everyone waiting now
        if loop is None or event is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits any more
            loop.call_soon_threadsafe(event.set)

    async def wait_past(self, seen: int, within: float) -> int:
        """The version once it is past `seen`, or after `within` seconds whatever it is."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self.version > seen:
                return self.version
            if self._loop is not loop or self._event is None:
                self._loop, self._event = loop, asyncio.Event()
            event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), within)
        return self.version
