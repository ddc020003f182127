"""Fault tests of a backfill through jobs when a service it depends on goes away and comes back: the RPC endpoint
(behind the provider simulator), the broker (RabbitMQ) and the store (PostgreSQL). Each time every chunk ends done
in the ledger and every block is stored exactly once, with the figures a fresh computation gives.

Restarting RabbitMQ or PostgreSQL disturbs every other user of the machine's server, so those two run only under CI
or with DEFISCOPE_TEST_RESTART_SERVICES=1 (skipped with that reason otherwise); the service is always started again
in a `finally`.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from defiscope.devnet import Devnet, DevnetChain
from defiscope.devnet.provider_proxy import ProviderProxy
from defiscope.devnet.runfile import RunInfo
from defiscope.service.jobs.actors import Jobs, open_broker
from defiscope.service.jobs.backfill import enqueue_backfill, wait_for_chunks
from defiscope.service.jobs.ledger import JobLedger
from defiscope.service.jobs.settings import JobSettings
from defiscope.service.jobs.specs import backfill_chunks
from defiscope.store import Repository
from defiscope.store.jobs import DONE
from defiscope.store.models import TvlSnapshot
from defiscope.tvl.engine import TvlEngine
from tests.service.jobs.test_faults import job_env
from tests.service.jobs.workers import Processes, consumers, wait_until
from tests.service.test_backfill import TREASURY, assert_stored_like_fresh, grow

RESTART_ENV = "DEFISCOPE_TEST_RESTART_SERVICES"
#: How long a service stays away: longer than a chunk's first retry backoff, well inside its retries.
DOWN_SECONDS = 3.0
#: PostgreSQL stays down shorter: its stop and start take seconds themselves, and every user of the server waits.
PG_DOWN_SECONDS = 1.0
CHUNK = 10


def may_restart(tool: str) -> str:
    """The path of the service control `tool`; skipped (failed under CI) when restarts are not allowed here."""
    ci = bool(os.environ.get("CI"))
    if not ci and os.environ.get(RESTART_ENV) != "1":
        pytest.skip(f"restarts a service the whole machine shares: runs under CI or with {RESTART_ENV}=1")
    path = shutil.which(tool)
    if path is None or os.geteuid() != 0:
        reason = f"{tool} not found or not root: cannot restart the service"
        if ci:
            pytest.fail(f"CI requires a restartable service: {reason}")
        pytest.skip(reason)
    return path


def run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=60)


@contextmanager
def rabbitmq_down(rabbitmqctl: str) -> Iterator[None]:
    """RabbitMQ's application stopped (its node, durable queues and persistent messages kept), started after."""
    run(rabbitmqctl, "stop_app")
    try:
        yield
    finally:
        run(rabbitmqctl, "start_app")
        run(rabbitmqctl, "await_startup")


def postgres_cluster() -> tuple[str, str]:
    """(version, name) of the machine's PostgreSQL cluster on port 5432."""
    out = subprocess.run(["pg_lsclusters", "--no-header"], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        version, name, port = line.split()[:3]
        if port == "5432":
            return version, name
    raise AssertionError(f"no PostgreSQL cluster on port 5432:\n{out}")


@contextmanager
def postgres_down(pg_ctlcluster: str) -> Iterator[None]:
    """The PostgreSQL server stopped (fast: open sessions cut), started after."""
    version, name = postgres_cluster()
    control = (pg_ctlcluster, "--skip-systemctl-redirect", version, name)
    run(*control, "stop", "-m", "fast")
    try:
        yield
    finally:
        run(*control, "start")


@pytest.fixture
def store(pg_url: str) -> Iterator[Repository]:
    repo = Repository.open(pg_url)
    yield repo
    repo.close()


@dataclass(frozen=True, slots=True)
class Backfilled:
    blocks: list[int]
    chunks: int
    pending_at_fault: int  # chunks not done when the fault began: it hit mid-backfill
    tries: int  # runs of all chunks, in the ledger: more than `chunks` when some were retried


async def backfill_through_fault(
    chain: DevnetChain,
    env: dict[str, str],
    store: Repository,
    settings: JobSettings,
    logs: Path,
    fault: Callable[[], None],
) -> Backfilled:
    """Backfill 120 new blocks in chunks on two workers, calling `fault` (blocking) once a chunk is done. Asserts
    every chunk done in the ledger, none given up, and both workers consuming again at the end."""
    first, last = grow(chain, 120)
    processes = Processes(env, logs)
    chunks = backfill_chunks(1, TREASURY, first, last, step=1, chunk=CHUNK)
    keys = [c.key for c in chunks]
    ledger = JobLedger(store.engine)

    async def both_consume() -> bool:
        return consumers(settings, "backfill") == 2

    try:
        for i in range(2):
            processes.worker(f"worker{i}", "backfill")
        await wait_until("two workers consume the backfill queue", both_consume, 30, processes)
        broker = open_broker(settings)
        try:
            enqueue_backfill(Jobs(broker, settings).backfill_chunk.send, ledger, chunks)
        finally:
            broker.close()

        async def one_done() -> bool:
            return any(state == DONE for state, _ in ledger.states(keys).values())

        await wait_until("a chunk is done", one_done, 60, processes)
        pending = sum(1 for state, _ in ledger.states(keys).values() if state != DONE)
        await asyncio.to_thread(fault)
        outcome = await asyncio.to_thread(wait_for_chunks, ledger, chunks, retries=settings.chunk_retries, timeout=50)
        assert outcome.failed == {}, processes.tails()
        assert outcome.done == len(chunks)
        await wait_until("both workers consume again", both_consume, 15, processes)
    finally:
        processes.stop_all()
    tries = sum(tries for _, tries in ledger.states(keys).values())
    return Backfilled(list(range(first, last + 1)), len(chunks), pending, tries)


async def assert_each_block_once(engine: TvlEngine, store: Repository, blocks: list[int]) -> None:
    with store.engine.connect() as conn:
        rows, distinct = conn.execute(
            select(func.count(), func.count(TvlSnapshot.block_number.distinct())).where(
                TvlSnapshot.slug == TREASURY, TvlSnapshot.chain_id == 1
            )
        ).one()
    assert (rows, distinct) == (len(blocks), len(blocks)), "no gap, no duplicate"
    await assert_stored_like_fresh(engine, store, TREASURY, blocks)


def devnet_through(devnet: Devnet, chain_id: int, rpc_url: str, home: Path) -> Path:
    """A data dir whose running devnet reads chain `chain_id` at `rpc_url` (the workers run on the devnet)."""
    chains = tuple(c.with_rpc_url(rpc_url) if c.chain_id == chain_id else c for c in devnet.chains)
    path = home / "devnet" / "run.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(RunInfo(owner_pid=0, detached=True, nodes=devnet.nodes, chains=chains).to_json()))
    return home


async def test_a_backfill_survives_its_rpc_endpoint_killed_and_brought_back(
    engine: TvlEngine,
    devnet: Devnet,
    eth_chain: DevnetChain,
    pg_url: str,
    store: Repository,
    job_settings: JobSettings,
    tmp_path: Path,
) -> None:
    proxy = ProviderProxy(eth_chain.rpc_url, "none").start()
    port = proxy.port
    env = job_env(devnet_through(devnet, eth_chain.chain_id, proxy.url, tmp_path / "proxied"), pg_url, job_settings)
    revived: list[ProviderProxy] = []

    def kill_and_revive() -> None:
        proxy.stop()  # the endpoint is gone: connections refused
        time.sleep(DOWN_SECONDS)
        revived.append(ProviderProxy(eth_chain.rpc_url, "none", port=port).start())

    try:
        done = await backfill_through_fault(eth_chain, env, store, job_settings, tmp_path, kill_and_revive)
    finally:
        proxy.stop()
        for again in revived:
            again.stop()
    assert done.pending_at_fault > 0, "the endpoint was killed mid-backfill"
    assert done.tries > done.chunks, "chunks that met the dead endpoint failed and were retried"
    await assert_each_block_once(engine, store, done.blocks)


@pytest.mark.restarts_services
async def test_a_backfill_survives_the_broker_restarted(
    engine: TvlEngine,
    eth_chain: DevnetChain,
    devnet_home: Path,
    pg_url: str,
    store: Repository,
    job_settings: JobSettings,
    tmp_path: Path,
) -> None:
    rabbitmqctl = may_restart("rabbitmqctl")

    def restart_broker() -> None:
        with rabbitmq_down(rabbitmqctl):
            time.sleep(DOWN_SECONDS)

    env = job_env(devnet_home, pg_url, job_settings)
    done = await backfill_through_fault(eth_chain, env, store, job_settings, tmp_path, restart_broker)
    assert done.pending_at_fault > 0, "the broker was restarted mid-backfill"
    await assert_each_block_once(engine, store, done.blocks)


@pytest.mark.restarts_services
async def test_a_backfill_survives_postgresql_restarted_during_writes(
    engine: TvlEngine,
    eth_chain: DevnetChain,
    devnet_home: Path,
    pg_url: str,
    store: Repository,
    job_settings: JobSettings,
    tmp_path: Path,
) -> None:
    pg_ctlcluster = may_restart("pg_ctlcluster")

    def restart_postgres() -> None:
        with postgres_down(pg_ctlcluster):
            time.sleep(PG_DOWN_SECONDS)

    env = job_env(devnet_home, pg_url, job_settings)
    done = await backfill_through_fault(eth_chain, env, store, job_settings, tmp_path, restart_postgres)
    assert done.pending_at_fault > 0, "PostgreSQL was restarted mid-backfill"
    assert done.tries > done.chunks, "chunks cut off by the restart failed and were retried"
    await assert_each_block_once(engine, store, done.blocks)
