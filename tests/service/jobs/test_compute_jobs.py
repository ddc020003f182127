"""The follow job under workers stores and delivers what the embedded hooks do: on the devnet, one follow slice
with the hooks inline (as `index` and the embedded path run them) and one whose grades, signal rules' pass, index
tracking and alert delivery are jobs run by `defiscope worker --queues delivery,analytics` processes (real RabbitMQ,
PostgreSQL) give equal grade publications and signals, index values, alerts and webhooks. Each new job run again
stores nothing more."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Engine, select

from defiscope.alerts import manage
from defiscope.alerts.outbox import OutboxSink
from defiscope.alerts.rules import parse_rule
from defiscope.alerts.wiring import alert_engine
from defiscope.analytics.grades.formula import FORMULA_VERSION
from defiscope.config import load_settings
from defiscope.devnet import DevnetChain
from defiscope.indexing_hooks import IndexedChain
from defiscope.service.block_hooks import Dispatch
from defiscope.service.context import resolve_targets
from defiscope.service.indices import index_hook
from defiscope.service.jobs import compute, delivery, tasks
from defiscope.service.jobs.actors import Jobs, open_broker
from defiscope.service.jobs.context import WorkerProcess, holder_id
from defiscope.service.jobs.settings import JobSettings
from defiscope.service.jobs.specs import grades_key, index_key, signals_key
from defiscope.store import Repository
from defiscope.store.alerts import RuleStore
from defiscope.store.jobs import DONE, JobRunRow
from defiscope.store.models import AlertRow, GradePublicationRow, GradeSignalRow, IndexValueRow
from defiscope.tvl.engine import ChainTvl
from tests.alerts.conftest import Keyed, add_key
from tests.alerts.kit import SECRET, Receiver, rows
from tests.alerts.test_delivery_worker import running, settled
from tests.alerts.test_grade_signal_live import signal_rule
from tests.service.chainkit import head
from tests.service.conftest import clean_env
from tests.service.jobs.workers import Processes, wait_until

SLICE_SECONDS = 4


def yield_rule(repo: Repository, owner: Keyed, url: str) -> None:
    """Any Aave V3 USDC rate above 0 %: fires at the first followed block (the devnet market has borrowers)."""
    params = {"chain": "1", "protocol": "aave-v3", "asset": "USDC", "above": "0"}
    body = {"kind": "yield", "params": params, "channels": [{"type": "webhook", "url": url}]}
    stored, _secret = manage.create(parse_rule(body), owner.stored.key_id)
    RuleStore(repo.engine).add(replace(stored, webhook_secret=SECRET))


def follow_once(process: WorkerProcess, dispatch: Dispatch | None) -> None:
    """One follow slice of chain 1 on a thread of its own (its loop, engines), as a follow job runs it."""
    thread = process.thread()
    try:
        thread.run(tasks.follow_slice(process, thread, 1, holder_id(), None, dispatch))
    finally:
        process.close_thread()


def run_again(process: WorkerProcess, jobs: Jobs, published: list[int], values: list[tuple[Any, ...]]) -> None:
    """The bodies of the grades, signal, index and delivery jobs run again, past the ledger."""
    thread = process.thread()
    try:
        engine = alert_engine(process.repo, OutboxSink(dispatch=jobs.send_deliveries))
        for block in published:
            publisher = thread.run(compute.worker_publisher(process, thread))
            thread.run(compute.publish_grades_through(process.repo, publisher, 1, block))
            thread.run(compute.judge_signals_through(process.repo, engine, 1, block, 0))
        for index_id, _chain, block, *_rest in values:
            thread.run(compute.track_index_to(process, 1, index_id, block))
        for row in rows(process.repo.engine):
            thread.run(delivery.deliver_row(process, thread, row.id))
    finally:
        process.close_thread()


async def track_indices_inline(repo: Repository) -> None:
    """The index hook `serve` runs beside the others, told the stored head (it catches up to it)."""
    hook = index_hook(repo, resolve_targets(load_settings(), [1], network="devnet"))
    try:
        await hook.block_indexed(cast(IndexedChain, None), ChainTvl(repo.latest_blocks()[1], (), (), {}))
        await hook.idle()
    finally:
        hook.close()


def table(engine: Engine, model: Any, *skip: str) -> list[tuple[Any, ...]]:
    """Every row of `model`'s table but its surrogate id and `skip` columns, sorted."""
    columns = [c for c in model.__table__.columns if c.name not in {"id", *skip}]
    with engine.connect() as conn:
        return sorted(tuple(row) for row in conn.execute(select(*columns)))


def webhooks(receiver: Receiver) -> list[tuple[Any, ...]]:
    """What each processed webhook said, without the ids each store draws at random (alert, rule, evidence)."""
    return sorted(
        (b["type"], b["data"]["kind"], b["data"]["block"]["number"], b["data"]["value"], str(b["data"]["evidence"]))
        for b in receiver.processed.values()
    )


def ledger(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(JobRunRow.key, JobRunRow.state)).all())


@pytest.fixture
def processes(devnet_home: Path, tmp_path: Path, pg_url: str, job_settings: JobSettings) -> Iterator[Processes]:
    env = clean_env(
        devnet_home,
        DEFISCOPE_DATABASE_URL=pg_url,
        DEFISCOPE_NETWORK="devnet",
        DEFISCOPE_BROKER_URL=job_settings.broker_url,
        DEFISCOPE_JOBS_QUEUE_PREFIX=job_settings.queue_prefix,
        DEFISCOPE_WEBHOOK_ALLOW_HOSTS="127.0.0.1",
    )
    logs = tmp_path / "logs"
    logs.mkdir()
    started = Processes(env, logs)
    yield started
    started.stop_all()


async def test_follow_under_workers_stores_and_delivers_as_the_embedded_hooks(
    eth_chain: DevnetChain,
    devnet_home: Path,
    sqlite_url: str,
    pg_url: str,
    job_settings: JobSettings,
    processes: Processes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEFISCOPE_WEBHOOK_ALLOW_HOSTS", "127.0.0.1")  # the delivery jobs run again in this process
    settings = JobSettings(lease_seconds=3, follow_slice_seconds=SLICE_SECONDS)
    embedded = WorkerProcess(settings, Repository.open(sqlite_url))
    scaled = WorkerProcess(settings, Repository.open(pg_url))
    producer = Jobs(open_broker(job_settings), job_settings)
    try:
        with Receiver.running() as embedded_rx, Receiver.running() as scaled_rx:
            for process, rx in ((embedded, embedded_rx), (scaled, scaled_rx)):
                owner = add_key(process.repo, "alice")
                signal_rule(process.repo, owner, rx.url)  # any protocol, horizon, direction: judged by the signal pass
                yield_rule(process.repo, owner, rx.url)  # the first pass: fires at the first block
            top = head(eth_chain)

            await asyncio.to_thread(follow_once, embedded, None)
            await track_indices_inline(embedded.repo)
            async with running(embedded.repo.engine):
                await settled(embedded.repo.engine)

            processes.start("worker", "worker", "--queues", "delivery,analytics", "--concurrency", "2")
            await asyncio.to_thread(follow_once, scaled, producer.dispatch())
            assert head(eth_chain) == top, "the chain stood still: both followed the same blocks"
            wanted = table(embedded.repo.engine, IndexValueRow)
            wanted_messages = len(rows(embedded.repo.engine))

            async def caught_up() -> bool:
                return (
                    len(table(scaled.repo.engine, IndexValueRow)) >= len(wanted)
                    and len(rows(scaled.repo.engine)) >= wanted_messages
                    and all(r.state != "pending" for r in rows(scaled.repo.engine))
                    and bool(published := [row[1] for row in table(scaled.repo.engine, GradePublicationRow)])
                    and all(ledger(scaled.repo.engine).get(signals_key(1, b, 0)) == DONE for b in published)
                )

            await wait_until("the jobs caught up with the embedded hooks", caught_up, 180, processes)

            # The embedded run did each kind of work, so the comparison below compares something.
            assert table(embedded.repo.engine, GradePublicationRow), "grades published"
            assert wanted, "index values stored"
            assert embedded_rx.processed, "the yield rule's alert delivered"

            skip = ("document",)  # the publication's document carries the time it was computed
            assert table(scaled.repo.engine, GradePublicationRow, *skip) == table(
                embedded.repo.engine, GradePublicationRow, *skip
            )
            assert table(scaled.repo.engine, GradeSignalRow) == table(embedded.repo.engine, GradeSignalRow)
            assert table(scaled.repo.engine, IndexValueRow) == wanted
            alert_columns = ("rule_id", "evidence_id")
            assert table(scaled.repo.engine, AlertRow, *alert_columns) == table(
                embedded.repo.engine, AlertRow, *alert_columns
            )
            assert webhooks(scaled_rx) == webhooks(embedded_rx)
            assert scaled_rx.unverified == embedded_rx.unverified == 0

            # The jobs ran as jobs (keyed in the ledger), and each, run again past the ledger, stores and sends nothing.
            done = {key for key, state in ledger(scaled.repo.engine).items() if state == DONE}
            published = [row[1] for row in table(scaled.repo.engine, GradePublicationRow, *skip)]
            assert {grades_key(1, block, FORMULA_VERSION) for block in published} <= done
            assert {signals_key(1, block, 0) for block in published} <= done
            assert {index_key(1, row[0], row[2]) for row in wanted} <= done
            before = {m: table(scaled.repo.engine, m) for m in (GradePublicationRow, GradeSignalRow, IndexValueRow)}
            before[AlertRow] = table(scaled.repo.engine, AlertRow)
            sent_before = len(scaled_rx.requests)
            await asyncio.to_thread(run_again, scaled, producer, published, wanted)
            assert {m: table(scaled.repo.engine, m) for m in before} == before
            await asyncio.sleep(1.0)  # a delivery job sent by mistake would reach the receiver by now
            assert len(scaled_rx.requests) == sent_before
    finally:
        producer.broker.close()
        embedded.close()
        scaled.close()
