"""The scheduler's outbox sweep and retention job.

In-process (SQLite and PostgreSQL): the sweep picks the pending rows due and free for longer than the grace, once
per row and attempt, only while it holds its lease; /metrics counts the rows swept.

With real processes, RabbitMQ and PostgreSQL: alerts stored while the broker refuses the follow job's sends stay
pending under a delivery worker (negative control); two `defiscope scheduler`s then sweep them, one at a time, and
each reaches a receiver deduplicating by `webhook-id` exactly once, while a row whose job holds it in flight is left
alone. The retention job the schedulers send deletes the delivered rows older than the retention.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from defiscope.alerts.delivery.outcome import Outcome
from defiscope.alerts.delivery.queue import OutboxQueue
from defiscope.alerts.delivery.settings import DeliverySettings
from defiscope.alerts.message import Channel
from defiscope.alerts.outbox import OutboxSink
from defiscope.alerts.retention import DAY
from defiscope.api import ApiSettings, create_app
from defiscope.service.jobs.actors import Jobs, open_broker
from defiscope.service.jobs.ledger import JobLedger
from defiscope.service.jobs.settings import JobSettings
from defiscope.service.jobs.specs import SWEEP_LEASE, delivery_key, sweep_key
from defiscope.service.jobs.sweep import OutboxSweep
from defiscope.store.database import WRITE_OPTION
from defiscope.store.jobs import DONE
from defiscope.store.outbox import OutboxRow
from tests.alerts.kit import SECRET, Receiver, message, put, rows
from tests.service.conftest import clean_env
from tests.service.jobs.workers import Processes, consumers, ledger_states, until

STRANDED = 6  # alerts stored while the broker refused the delivery jobs' sends
HELD = STRANDED  # the message stored with its job sent, held in flight by the receiver while the sweeps run
HOLD_SECONDS = 50.0  # at most: the test lets it go once the sweeps have run
SWEEP_SECONDS = 1
GRACE_SECONDS = 2
RETENTION_INTERVAL_SECONDS = 2


def test_the_sweep_sends_stranded_rows_once_per_attempt_while_it_holds_the_lease(
    store_engine: Engine, db_url: str
) -> None:
    settings = JobSettings(outbox_sweep_seconds=10, outbox_sweep_grace_seconds=60, outbox_sweep_resend_seconds=100)
    hook = Channel("webhook", "http://127.0.0.1:9/hook", SECRET)
    for n in range(3):
        put(store_engine, OutboxSink(), message(n), (hook,))  # no dispatch: as if each job's send had failed
    leased, delivered, stranded = (r.id for r in rows(store_engine))
    t0 = max(r.created_at for r in rows(store_engine))
    sweeper = OutboxSweep(store_engine, settings, "scheduler-a")
    other = OutboxSweep(store_engine, settings, "scheduler-b")
    sent: list[int] = []

    assert sweeper.run(t0 + 30, sent.append) == 0  # within the grace: the row's own job may be about to claim it
    assert sweeper.run(t0 + 61, sent.append) == 3
    assert sent == [leased, delivered, stranded]
    assert other.run(t0 + 61, sent.append) == 0  # one sweep at a time: the lease is scheduler-a's
    assert sweeper.run(t0 + 71, sent.append) == 0  # sent already: not again within the resend time

    queue = OutboxQueue(store_engine, DeliverySettings(lease=30))
    assert queue.claim_row(leased, t0 + 72) is not None  # a job claims it: leased until t0 + 102
    claimed = queue.claim_row(delivered, t0 + 72)
    assert claimed is not None
    queue.record(claimed, Outcome("delivered", "HTTP 204", 204), t0 + 73)
    assert sweeper.run(t0 + 150, sent.append) == 0  # the claim ended less than the grace ago; the other is settled

    sent.clear()
    assert sweeper.run(t0 + 163, sent.append) == 2
    assert sent == [leased, stranded]  # the claim ended long ago (a new attempt count); the resend time passed
    assert other.run(t0 + 194, sent.append) == 2  # scheduler-a stopped sweeping at 163: its lease ran out at 193
    other.release()  # a clean stop gives the sweep up at once
    assert sweeper.run(t0 + 195, sent.append) == 0  # its rows were sent within its resend time...
    lease = other.leases.current(SWEEP_LEASE)
    assert lease is not None
    assert lease.holder == "scheduler-a"  # ...but the sweep is scheduler-a's again

    ledger = JobLedger(store_engine)
    swept = [sweep_key(leased, 0), sweep_key(delivered, 0), sweep_key(stranded, 0), sweep_key(leased, 1)]
    assert ledger.states(swept) == {key: (DONE, 1) for key in swept}  # each row and attempt once, resends too
    assert ledger.counts()[("sweep", DONE)] == 4
    with TestClient(create_app(ApiSettings(database_url=db_url))) as client:
        metrics = client.get("/metrics").text
    assert re.search(r"^defiscope_outbox_swept_rows_total 4\.0$", metrics, re.MULTILINE)


@pytest.fixture
def processes(tmp_path: Path, pg_url: str, job_settings: JobSettings) -> Iterator[Processes]:
    env = clean_env(
        tmp_path / "home",
        DEFISCOPE_DATABASE_URL=pg_url,
        DEFISCOPE_BROKER_URL=job_settings.broker_url,
        DEFISCOPE_JOBS_QUEUE_PREFIX=job_settings.queue_prefix,
        PYTHONUNBUFFERED="1",  # each child's log complete up to its kill
        DEFISCOPE_RPC_1="http://127.0.0.1:9",  # the schedulers' chain: its follow jobs wait unconsumed
        DEFISCOPE_JOBS_OUTBOX_SWEEP_SECONDS=str(SWEEP_SECONDS),
        DEFISCOPE_JOBS_OUTBOX_SWEEP_GRACE_SECONDS=str(GRACE_SECONDS),
        DEFISCOPE_ALERT_RETENTION_INTERVAL_SECONDS=str(RETENTION_INTERVAL_SECONDS),
        DEFISCOPE_WEBHOOK_ALLOW_HOSTS="127.0.0.1",
        DEFISCOPE_ALERTS_WEBHOOK_TIMEOUT=str(HOLD_SECONDS + 5),  # the held attempt is answered, not timed out
        DEFISCOPE_ALERTS_LEASE=str(HOLD_SECONDS + 10),
    )
    started = Processes(env, tmp_path)
    yield started
    started.stop_all()


@pytest.fixture
def refused(job_settings: JobSettings) -> Iterator[Jobs]:
    """The producer's side with the broker refusing connections (a closed port): each send fails after the commit."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = replace(job_settings, broker_url=f"amqp://guest:guest@127.0.0.1:{port}/%2F")
    producer = Jobs(open_broker(settings), settings)
    yield producer
    producer.broker.close()


async def test_alerts_stored_while_the_broker_refused_are_swept_and_delivered_once(
    pg_engine: Engine, processes: Processes, jobs: Jobs, refused: Jobs, job_settings: JobSettings
) -> None:
    held = message(HELD)
    answer_held = threading.Event()

    def hold(webhook_id: str, _attempt: int) -> float:
        if webhook_id == held.message_id:
            answer_held.wait(HOLD_SECONDS)
        return 0.0

    with Receiver.running(delay=hold) as rx:
        hook = Channel("webhook", rx.url, SECRET)
        processes.worker("deliverer", "delivery")
        await until("the worker consumes", lambda: consumers(job_settings, "delivery") == 1, processes)
        stranded = [message(n) for n in range(STRANDED)]
        for msg in stranded:
            put(pg_engine, OutboxSink(dispatch=refused.send_deliveries), msg, (hook,))
        stranded_rows = {r.id for r in rows(pg_engine)}

        # Negative control: no scheduler, so no sweep. Past the grace, under a consuming worker, nothing moved.
        await asyncio.sleep(GRACE_SECONDS + 2)
        assert {r.state for r in rows(pg_engine)} == {"pending"}
        assert all(r.attempts == 0 for r in rows(pg_engine))
        assert rx.requests == []

        # A message whose job was sent: the receiver holds its first attempt while the sweeps run.
        put(pg_engine, OutboxSink(dispatch=jobs.send_deliveries), held, (hook,))
        await until("the held message in flight", lambda: rx.attempts(held.message_id) == 1, processes)
        processes.start("scheduler-a", "scheduler")
        processes.start("scheduler-b", "scheduler")
        swept = {sweep_key(row_id, 0) for row_id in stranded_rows}
        await until("the stranded rows swept", lambda: set(ledger_states(pg_engine, "sweep")) == swept, processes)
        await asyncio.sleep(3 * SWEEP_SECONDS)  # more sweeps, by either scheduler, while the held row is in flight
        assert set(ledger_states(pg_engine, "sweep")) == swept  # its row leased: the sweeps left it alone
        answer_held.set()

        await until("every row delivered", lambda: {r.state for r in rows(pg_engine)} == {"delivered"}, processes)
        every = [*stranded, held]
        assert sorted(rx.processed) == sorted(m.message_id for m in every)
        assert all(rx.attempts(m.message_id) == 1 for m in every)  # once each: one sweep for both schedulers

        # Each job delivered again (as the broker may): the rows are settled, nothing is sent. A last message
        # behind them on the one-thread worker tells when they have all run.
        for row in rows(pg_engine):
            jobs.deliver_alert.send(row.id)
        last = message(HELD + 1)
        put(pg_engine, OutboxSink(dispatch=jobs.send_deliveries), last, (hook,))
        await until("the last message delivered", lambda: last.message_id in rx.processed, processes)
        await asyncio.sleep(0.5)
        assert all(rx.attempts(m.message_id) == 1 for m in every)
        assert rx.unverified == 0
    assert set(ledger_states(pg_engine, "sweep")) == swept  # the schedulers swept nothing more
    # One attempt at each row (the last message's too): the jobs that found their row settled made none.
    assert set(ledger_states(pg_engine, "delivery")) == {delivery_key(r.id, 1) for r in rows(pg_engine)}

    # Retention, as jobs the schedulers send every period: delivered rows finished before the retention go.
    old = time.time() - 31 * DAY
    expired = sorted(stranded_rows)[:3]
    dead = sorted(stranded_rows)[3]
    with Session(pg_engine.execution_options(**{WRITE_OPTION: True})) as session, session.begin():
        session.execute(update(OutboxRow).where(OutboxRow.id.in_(expired)).values(finished_at=old))
        session.execute(update(OutboxRow).where(OutboxRow.id == dead).values(state="dead", finished_at=old))
    left = {r.id for r in rows(pg_engine)} - set(expired)
    await until("the expired rows pruned", lambda: {r.id for r in rows(pg_engine)} == left, processes)
    retention = ledger_states(pg_engine, "retention")
    assert DONE in retention.values()  # the period's job that pruned; the others found nothing more or were done
