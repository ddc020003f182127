"""Job bodies in-process (no broker): a keyed job runs once, discovery is kept, the scheduler's watch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from defiscope.devnet import DevnetChain
from defiscope.service.jobs import tasks
from defiscope.service.jobs.backfill import wait_for_chunks
from defiscope.service.jobs.context import WorkerProcess
from defiscope.service.jobs.lease import LeaseStore
from defiscope.service.jobs.scheduler import HeadWatch
from defiscope.service.jobs.settings import JobSettings
from defiscope.service.jobs.specs import BackfillChunk, JobInputError, discovery_key, head_lease
from defiscope.store import Repository
from tests.service.chainkit import head
from tests.service.test_backfill import TREASURY, grow


@pytest.fixture
def process(devnet_home: Path, sqlite_url: str) -> Iterator[WorkerProcess]:
    worker = WorkerProcess(JobSettings(), Repository.open(sqlite_url))
    yield worker
    worker.close()


def test_a_chunk_runs_once_and_stores_each_block_once(eth_chain: DevnetChain, process: WorkerProcess) -> None:
    first, last = grow(eth_chain, 12)
    chunk = BackfillChunk(1, TREASURY, first, last, 3)

    def run() -> object:
        return tasks.run_keyed(process, chunk.key, "backfill", lambda t: tasks.backfill_chunk(process, t, chunk))

    result = run()
    assert result is not None
    assert dict(result) | {"seconds": 0} == {"stored": 4, "skipped": 0, "seconds": 0}
    assert run() is None  # done: the second delivery does nothing
    assert process.ledger.states([chunk.key]) == {chunk.key: ("done", 1)}
    assert process.repo.stored_blocks(TREASURY, 1, first, last) == set(range(first, last + 1, 3))


def test_discovery_scan_keeps_the_cursors(eth_chain: DevnetChain, process: WorkerProcess) -> None:
    top = head(eth_chain)
    key = discovery_key(1, top)
    result = tasks.run_keyed(process, key, "discovery", lambda t: tasks.discovery_scan(process, t, 1, top))
    assert result is not None
    assert int(str(result["sources"])) > 0
    assert int(str(result["logs"])) > 0
    cursors = process.repo.discovery_cursors(1)
    assert cursors
    assert {scanned_to for scanned_to, _ in cursors.values()} == {top}


def test_a_failing_job_is_recorded_and_raised(process: WorkerProcess) -> None:
    async def broken(_: object) -> dict[str, object]:
        raise RuntimeError("provider answered 502")

    with pytest.raises(RuntimeError):
        tasks.run_keyed(process, "backfill:1:x:1-2/1", "backfill", broken)
    assert process.ledger.errors(["backfill:1:x:1-2/1"]) == {
        "backfill:1:x:1-2/1": "RuntimeError: provider answered 502"
    }


def test_bad_input_is_dead_at_once_and_ends_the_wait(process: WorkerProcess) -> None:
    chunk = BackfillChunk(1, "no-such-protocol", 1, 2, 1)

    async def refused(_: object) -> dict[str, object]:
        raise JobInputError("unknown protocol 'no-such-protocol'")

    with pytest.raises(JobInputError):
        tasks.run_keyed(process, chunk.key, "backfill", refused)
    outcome = wait_for_chunks(process.ledger, [chunk], retries=5, timeout=5)
    assert outcome.failed == {chunk.key: "JobInputError: unknown protocol 'no-such-protocol'"}
    assert outcome.done == 0


def test_the_scheduler_sends_a_follow_job_only_while_the_lease_is_free(sqlite_url: str) -> None:
    repo = Repository.open(sqlite_url)
    try:
        leases = LeaseStore(repo.engine, seconds=10)
        watch = HeadWatch(leases, [1, 56], resend_after=10)
        assert watch.due(now=100.0) == [1, 56]
        assert watch.due(now=105.0) == []  # sent already: a worker may be slow to take it
        assert leases.acquire(head_lease(1), "w1", now=106.0) is not None
        assert watch.due(now=111.0) == [56]  # chain 1 is followed; 56 still has nobody
        assert watch.due(now=117.0) == [1]  # chain 1's holder stopped renewing at 106: expired at 116
    finally:
        repo.close()
