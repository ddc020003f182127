"""Fault tests with real processes, a real RabbitMQ and a real PostgreSQL: nothing lost, nothing duplicated.

- a worker SIGKILLed in the middle of a chunk: the broker redelivers the chunk to another worker; every block of
  the range is stored exactly once, with the figures a fresh computation gives;
- the head-follower's worker SIGKILLed: the other worker takes the chain's lease within the lease time and goes on
  from the last stored block, so no block is skipped.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from defiscope.devnet import DevnetChain
from defiscope.service.jobs.actors import Jobs, open_broker
from defiscope.service.jobs.backfill import enqueue_backfill, wait_for_chunks
from defiscope.service.jobs.lease import LeaseStore
from defiscope.service.jobs.ledger import JobLedger
from defiscope.service.jobs.settings import JobSettings
from defiscope.service.jobs.specs import backfill_chunks, head_lease
from defiscope.store import Repository
from defiscope.store.jobs import RUNNING, JobRunRow, LeaseRow
from defiscope.store.models import Block, TvlSnapshot
from defiscope.tvl.engine import TvlEngine
from tests.service.chainkit import mine
from tests.service.conftest import clean_env
from tests.service.jobs.workers import Processes, consumers, wait_until
from tests.service.test_backfill import TREASURY, assert_stored_like_fresh, grow

LEASE_SECONDS = 4


def job_env(devnet_home: Path, pg_url: str, settings: JobSettings) -> dict[str, str]:
    return clean_env(
        devnet_home,
        DEFISCOPE_DATABASE_URL=pg_url,
        DEFISCOPE_NETWORK="devnet",
        DEFISCOPE_BROKER_URL=settings.broker_url,
        DEFISCOPE_JOBS_QUEUE_PREFIX=settings.queue_prefix,
        DEFISCOPE_JOBS_LEASE_SECONDS=str(LEASE_SECONDS),
    )


def pid_of(holder: str) -> int:
    """The process id in a holder id (`host:pid:thread:random`)."""
    return int(holder.split(":")[1])


@pytest.fixture
def store(pg_url: str) -> Iterator[Repository]:
    repo = Repository.open(pg_url)
    yield repo
    repo.close()


async def test_a_worker_killed_mid_chunk_loses_and_duplicates_nothing(
    engine: TvlEngine,
    eth_chain: DevnetChain,
    devnet_home: Path,
    pg_url: str,
    store: Repository,
    job_settings: JobSettings,
    tmp_path: Path,
) -> None:
    first, last = grow(eth_chain, 120)
    processes = Processes(job_env(devnet_home, pg_url, job_settings), tmp_path)
    broker = open_broker(job_settings)
    try:
        workers = {w.pid: w for w in (processes.worker(f"worker{i}", "backfill") for i in range(2))}

        async def both_consume() -> bool:
            return consumers(job_settings, "backfill") == 2

        await wait_until("two workers consume the backfill queue", both_consume, 30, processes)
        chunks = backfill_chunks(1, TREASURY, first, last, step=1, chunk=15)
        ledger = JobLedger(store.engine)
        enqueue_backfill(Jobs(broker, job_settings).backfill_chunk.send, ledger, chunks)

        running: list[tuple[str, str]] = []

        async def a_chunk_runs_after_one_is_done() -> bool:
            with store.engine.connect() as conn:
                rows = conn.execute(select(JobRunRow.key, JobRunRow.holder, JobRunRow.state)).all()
            running[:] = [(k, h) for k, h, s in rows if s == RUNNING and pid_of(h) in workers]
            return bool(running) and any(s == "done" for _, _, s in rows)

        await wait_until("a chunk runs, after one is done", a_chunk_runs_after_one_is_done, 60, processes)
        key, holder = running[0]
        victim = workers[pid_of(holder)]
        victim.kill()  # SIGKILL: no cleanup; its unacknowledged message goes back to the queue
        victim.wait(timeout=30)

        outcome = await asyncio.to_thread(
            wait_for_chunks, ledger, chunks, retries=job_settings.chunk_retries, timeout=60
        )
        assert outcome.failed == {}
        assert outcome.done == len(chunks)
        assert ledger.states([key])[key][1] >= 2, "the killed worker's chunk was run again elsewhere"
    finally:
        broker.close()
        processes.stop_all()
    blocks = list(range(first, last + 1))
    with store.engine.connect() as conn:
        rows, distinct = conn.execute(
            select(func.count(), func.count(TvlSnapshot.block_number.distinct())).where(
                TvlSnapshot.slug == TREASURY, TvlSnapshot.chain_id == 1
            )
        ).one()
    assert (rows, distinct) == (len(blocks), len(blocks)), "no gap, no duplicate"
    await assert_stored_like_fresh(engine, store, TREASURY, blocks)


async def test_the_head_follower_fails_over_within_the_lease_and_skips_no_block(
    eth_chain: DevnetChain,
    devnet_home: Path,
    pg_url: str,
    store: Repository,
    job_settings: JobSettings,
    tmp_path: Path,
) -> None:
    processes = Processes(job_env(devnet_home, pg_url, job_settings), tmp_path)
    leases = LeaseStore(store.engine, LEASE_SECONDS)
    lease = head_lease(1)
    last_mined = [time.monotonic()]

    def mine_each_second() -> None:
        if time.monotonic() - last_mined[0] >= 1.0:
            mine(eth_chain, 1)
            last_mined[0] = time.monotonic()

    def stored() -> list[int]:
        with store.engine.connect() as conn:
            return list(conn.scalars(select(Block.number).where(Block.chain_id == 1).order_by(Block.number)))

    try:
        workers = {w.pid: w for w in (processes.worker(f"follower{i}", "follow") for i in range(2))}
        processes.start("scheduler", "scheduler", "--chain", "1")

        async def following() -> bool:
            return len(stored()) >= 3

        await wait_until("the chain is followed (3 blocks stored)", following, 60, processes, mine_each_second)
        holder = leases.current(lease)
        assert holder is not None
        assert pid_of(holder.holder) in workers
        workers[pid_of(holder.holder)].kill()
        killed_at = time.time()

        async def taken_over() -> bool:
            now = leases.current(lease)
            return now is not None and now.token > holder.token

        await wait_until("another worker holds the lease", taken_over, 3 * LEASE_SECONDS, processes, mine_each_second)
        with store.engine.connect() as conn:
            acquired_at = conn.scalar(select(LeaseRow.acquired_at).where(LeaseRow.name == lease))
        assert acquired_at is not None
        assert acquired_at - killed_at <= LEASE_SECONDS + 0.5, "taken over within the lease time"
        top = mine(eth_chain, 2)

        async def caught_up() -> bool:
            return bool(stored()) and stored()[-1] == top

        await wait_until("the new holder catches up with the head", caught_up, 60, processes)
    finally:
        processes.stop_all()
    numbers = stored()
    assert numbers == list(range(numbers[0], top + 1)), "no block skipped"
    assert len(numbers) >= 5
