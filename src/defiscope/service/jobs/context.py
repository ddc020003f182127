"""What a worker keeps between jobs: per process the store, the ledger and the leases; per worker thread an event
loop and the chains' engines (built on first use, so warm caches and discovery cursors serve the next job).

    process = WorkerProcess.open(JobSettings.from_env())
    thread = process.thread()                 # this thread's context, created on first use
    result = thread.run(some_coroutine(thread))
    process.close()                           # each thread closes its own context at shutdown (`close_thread`)

Which chains are read follows the CLI's rules (`service.context`): RPC endpoints if configured, else the running
devnet; `DEFISCOPE_NETWORK` makes it explicit.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import uuid
from collections.abc import Callable, Coroutine, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from defiscope.config import load_settings
from defiscope.service.context import NETWORK_ENV, NETWORKS, Network, NoChainsConfigured, Runtime, open_runtime
from defiscope.service.jobs.lease import LeaseStore
from defiscope.service.jobs.ledger import JobLedger
from defiscope.service.jobs.settings import JobSettings
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine

T = TypeVar("T")


def network_from_env() -> Network:
    value = os.environ.get(NETWORK_ENV, "auto")
    for network in NETWORKS:
        if value == network:
            return network
    raise NoChainsConfigured(f"{NETWORK_ENV}={value!r}: choose one of {', '.join(NETWORKS)}")


def holder_id() -> str:
    """Who holds a lease or ran a job: host, process, thread, and a random part (a restarted pid differs)."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{uuid.uuid4().hex[:8]}"


@dataclass(slots=True)
class WorkerThread:
    """One worker thread's event loop and engines."""

    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    _stack: AsyncExitStack = field(default_factory=AsyncExitStack)
    _runtime: Runtime | None = None

    _kept: dict[str, Any] = field(default_factory=dict)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    async def engine(self, chain_id: int) -> TvlEngine:
        return (await self._opened()).engine(chain_id)

    async def engines(self) -> Mapping[int, TvlEngine]:
        """Every chain's engine (the grades read token supplies on each)."""
        return (await self._opened()).engines

    async def kept(self, name: str, opener: Callable[[], AbstractAsyncContextManager[T]]) -> T:
        """What `opener` gives, entered on first use and kept for this thread's later jobs (exited at its end)."""
        if name not in self._kept:
            self._kept[name] = await self._stack.enter_async_context(opener())
        return cast(T, self._kept[name])

    async def _opened(self) -> Runtime:
        if self._runtime is None:
            self._runtime = await self._stack.enter_async_context(
                open_runtime(load_settings(), network=network_from_env())
            )
        return self._runtime

    def close(self) -> None:
        try:
            self.loop.run_until_complete(self._stack.aclose())
        finally:
            self.loop.close()


class WorkerProcess:
    """The store, ledger and leases of one worker process, shared by its threads (SQLAlchemy pools connections)."""

    def __init__(self, settings: JobSettings, repo: Repository) -> None:
        self.settings = settings
        self.repo = repo
        self.ledger = JobLedger(repo.engine)
        self.leases = LeaseStore(repo.engine, settings.lease_seconds)
        self.stopping = threading.Event()  # set on SIGTERM: long jobs (a follow slice) end early and hand over
        self._local = threading.local()

    @classmethod
    def open(cls, settings: JobSettings) -> WorkerProcess:
        return cls(settings, Repository.open())

    def thread(self) -> WorkerThread:
        context: WorkerThread | None = getattr(self._local, "context", None)
        if context is None:
            context = self._local.context = WorkerThread()
        return context

    def close_thread(self) -> None:
        context: WorkerThread | None = getattr(self._local, "context", None)
        if context is not None:
            self._local.context = None
            context.close()

    def close(self) -> None:
        self.close_thread()
        self.repo.close()
