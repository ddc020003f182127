"""Alert delivery as a job, with real worker processes, RabbitMQ and PostgreSQL: the outbox's new rows are sent as
`deliver_alert` jobs; a worker SIGKILLed mid-delivery loses nothing (the broker redelivers its job, which sends
again once the row's lease runs out, with the same `webhook-id`), and each webhook is processed once by a receiver
deduplicating by it. Jobs delivered again after the rows are settled send nothing."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from defiscope.alerts.message import Channel
from defiscope.alerts.outbox import OutboxSink
from defiscope.service.jobs.actors import Jobs
from defiscope.service.jobs.settings import JobSettings
from defiscope.service.jobs.specs import delivery_key
from defiscope.store.jobs import DONE, RUNNING
from tests.alerts.kit import SECRET, Receiver, message, put, rows
from tests.service.conftest import clean_env
from tests.service.jobs.workers import Processes, consumers, ledger_states, until

MESSAGES = 8
HELD = 3  # the message whose first attempt is in flight when its worker is killed
LEASE_SECONDS = 6  # the killed attempt's claim runs out this long after it was taken


@pytest.fixture
def processes(tmp_path: Path, pg_url: str, job_settings: JobSettings) -> Iterator[Processes]:
    env = clean_env(
        tmp_path / "home",
        DEFISCOPE_DATABASE_URL=pg_url,
        DEFISCOPE_BROKER_URL=job_settings.broker_url,
        DEFISCOPE_JOBS_QUEUE_PREFIX=job_settings.queue_prefix,
        DEFISCOPE_WEBHOOK_ALLOW_HOSTS="127.0.0.1",
        DEFISCOPE_ALERTS_WEBHOOK_TIMEOUT="5",
        DEFISCOPE_ALERTS_LEASE=str(LEASE_SECONDS),
    )
    started = Processes(env, tmp_path)
    yield started
    started.stop_all()


async def test_delivery_worker_killed_mid_delivery_each_webhook_once(
    pg_engine: Engine, processes: Processes, jobs: Jobs, job_settings: JobSettings
) -> None:
    held = message(HELD)
    first_try_of_held = {(held.message_id, 1)}
    # The receiver processes the held message's first attempt but answers only after 3 s: its worker dies meanwhile.
    with Receiver.running(delay=lambda webhook_id, n: 3.0 if (webhook_id, n) in first_try_of_held else 0.0) as rx:
        hook = Channel("webhook", rx.url, SECRET)
        sink = OutboxSink(dispatch=jobs.send_deliveries)  # the sink the follow job's alert pass writes through
        doomed = processes.worker("doomed", "delivery")
        await until("the first worker consumes", lambda: consumers(job_settings, "delivery") == 1, processes)
        messages = [message(n) for n in range(MESSAGES)]
        for msg in messages:
            put(pg_engine, sink, msg, (hook,))
        await until("the held message in flight", lambda: rx.attempts(held.message_id) == 1, processes)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=30)
        assert len(rx.processed) == HELD + 1  # one at a time: those before it, and the held one (answered too late)
        by_id = {r.message_id: r for r in rows(pg_engine)}
        assert by_id[held.message_id].state == "pending"  # its outcome was never recorded
        held_row = by_id[held.message_id].id
        assert ledger_states(pg_engine, "delivery")[delivery_key(held_row, 1)] == RUNNING

        processes.worker("survivor", "delivery")
        await until(
            "every row settled", lambda: all(r.state != "pending" for r in rows(pg_engine)), processes, within=120
        )
        assert {r.state for r in rows(pg_engine)} == {"delivered"}
        assert sorted(rx.processed) == sorted(m.message_id for m in messages)  # every message, processed once
        assert rx.attempts(held.message_id) == 2  # sent again after the lease ran out, with the same webhook-id
        others = [m.message_id for m in messages if m.message_id != held.message_id]
        assert all(rx.attempts(mid) == 1 for mid in others)

        # Every job delivered again (as the broker may): nothing is sent twice. A last new message, behind them on
        # the one-thread worker, tells when they have all run.
        for row in rows(pg_engine):
            jobs.deliver_alert.send(row.id)
        last = message(MESSAGES)
        put(pg_engine, sink, last, (hook,))
        await until("the last message delivered", lambda: last.message_id in rx.processed, processes)
        await asyncio.sleep(0.5)
    assert rx.attempts(held.message_id) == 2
    assert all(rx.attempts(mid) == 1 for mid in others)
    assert rx.unverified == 0
    states = ledger_states(pg_engine, "delivery")
    by_id = {r.message_id: r for r in rows(pg_engine)}
    assert states[delivery_key(held_row, 2)] == DONE  # the attempt after the kill, one ledger key per attempt
    assert all(states[delivery_key(by_id[mid].id, 1)] == DONE for mid in others)
    assert len(states) == MESSAGES + 2  # one key per attempt made: none for the jobs that found their row settled
