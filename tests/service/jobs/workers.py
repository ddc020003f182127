"""Real worker and scheduler processes for the job tests, and waits that mine the devnet while they wait."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pika
from sqlalchemy import Engine, select

from defiscope.service.jobs.settings import JobSettings
from defiscope.store.jobs import JobRunRow


class Processes:
    """Child processes started by a test, each logging to its own file; all stopped (SIGKILL) at the end."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        child = subprocess.Popen(
            [sys.executable, "-m", "defiscope.cli", *args], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        self.started.append(child)
        return child

    def worker(self, name: str, queue: str) -> subprocess.Popen[bytes]:
        return self.start(name, "worker", "--queues", queue, "--concurrency", "1")

    def stop_all(self) -> None:
        for child in self.started:
            if child.poll() is None:
                child.kill()
            child.wait(timeout=30)

    def tails(self) -> str:
        """The end of every child's log (shown when a wait fails)."""
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.logs.glob("*.log")))


def consumers(settings: JobSettings, queue: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(settings.broker_url))
    try:
        declared = connection.channel().queue_declare(settings.queue(queue), passive=True)
        return int(declared.method.consumer_count)
    except pika.exceptions.ChannelClosedByBroker:  # not declared yet: no worker is up
        return 0
    finally:
        if connection.is_open:
            connection.close()


async def wait_until(
    what: str,
    done: Callable[[], Awaitable[bool]],
    within: float,
    processes: Processes,
    every: Callable[[], None] | None = None,
) -> float:
    """Poll `done` (calling `every` between polls, e.g. to mine a block) until true; the time it became true."""
    deadline = time.monotonic() + within
    while not await done():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}\n{processes.tails()}")
        if every is not None:
            every()
        await asyncio.sleep(0.1)
    return time.time()


async def until(what: str, check: Callable[[], bool], processes: Processes, within: float = 90) -> None:
    """`wait_until` with a check that does not need awaiting."""

    async def poll() -> bool:
        return check()

    await wait_until(what, poll, within, processes)


def ledger_states(engine: Engine, kind: str) -> dict[str, str]:
    """The job ledger's keys of one kind, with their states."""
    with engine.connect() as conn:
        return dict(conn.execute(select(JobRunRow.key, JobRunRow.state).where(JobRunRow.kind == kind)).all())
