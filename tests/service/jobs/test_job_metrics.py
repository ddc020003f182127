"""/metrics reports the jobs: counts by kind and state and run times from the ledger, and each queue's depth read
from the real RabbitMQ (messages waiting, consumers, dead letters); a broker that does not answer is `up 0`."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from defiscope.api import ApiSettings, create_app
from defiscope.service.jobs.actors import Jobs, open_broker
from defiscope.service.jobs.ledger import JobLedger
from defiscope.service.jobs.settings import BROKER_URL_ENV, JobSettings
from defiscope.service.jobs.specs import BackfillChunk
from defiscope.store import Repository


def _value(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.MULTILINE)
    assert match, f"{name}{labels} not in /metrics"
    return float(match.group(1))


@pytest.fixture
def metrics_client(sqlite_url: str, job_settings: JobSettings, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv(BROKER_URL_ENV, job_settings.broker_url)
    monkeypatch.setenv("DEFISCOPE_JOBS_QUEUE_PREFIX", job_settings.queue_prefix)
    Repository.open(sqlite_url).close()  # migrated
    with TestClient(create_app(ApiSettings(database_url=sqlite_url))) as client:
        yield client


def test_metrics_show_queue_depths_and_the_ledger(
    metrics_client: TestClient, job_settings: JobSettings, sqlite_url: str
) -> None:
    broker = open_broker(job_settings)
    try:
        jobs = Jobs(broker, job_settings)
        for first in (0, 10, 20):  # no worker: they wait in the queue
            jobs.backfill_chunk.send(BackfillChunk(1, "uniswap-v2", first, first + 9, 1).to_message())
    finally:
        broker.close()
    repo = Repository.open(sqlite_url)
    try:
        ledger = JobLedger(repo.engine)
        ledger.start("a", "backfill", "h", now=100.0)
        ledger.finish("a", {}, now=100.4)  # 0.4 s
        ledger.start("b", "backfill", "h", now=100.0)
        ledger.finish("b", {}, now=110.0)  # 10 s
        ledger.start("c", "backfill", "h", now=100.0)
        ledger.fail("c", "boom", now=101.0)
        ledger.start("d", "discovery", "h", now=100.0)
        ledger.fail("d", "bad", now=101.0, final=True)
    finally:
        repo.close()

    text = metrics_client.get("/metrics").text
    assert _value(text, "defiscope_broker_up") == 1
    assert _value(text, "defiscope_queue_messages", '{queue="backfill"}') == 3
    assert _value(text, "defiscope_queue_messages", '{queue="follow"}') == 0  # never declared: empty
    assert _value(text, "defiscope_queue_consumers", '{queue="backfill"}') == 0
    assert _value(text, "defiscope_queue_dead_messages", '{queue="backfill"}') == 0
    assert _value(text, "defiscope_jobs", '{kind="backfill",state="done"}') == 2
    assert _value(text, "defiscope_jobs", '{kind="backfill",state="failed"}') == 1
    assert _value(text, "defiscope_jobs", '{kind="discovery",state="dead"}') == 1
    assert _value(text, "defiscope_job_seconds_bucket", '{kind="backfill",le="0.5"}') == 1
    assert _value(text, "defiscope_job_seconds_bucket", '{kind="backfill",le="15.0"}') == 2
    assert _value(text, "defiscope_job_seconds_count", '{kind="backfill"}') == 2
    assert _value(text, "defiscope_job_seconds_sum", '{kind="backfill"}') == pytest.approx(10.4)


def test_a_broker_that_does_not_answer_is_down_without_depths(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BROKER_URL_ENV, "amqp://guest:guest@127.0.0.1:1/%2F")
    Repository.open(sqlite_url).close()
    with TestClient(create_app(ApiSettings(database_url=sqlite_url))) as client:
        text = client.get("/metrics").text
    assert _value(text, "defiscope_broker_up") == 0
    assert "defiscope_queue_messages{" not in text


def test_metrics_show_the_delivery_and_analytics_jobs(
    metrics_client: TestClient, job_settings: JobSettings, sqlite_url: str
) -> None:
    broker = open_broker(job_settings)
    try:
        jobs = Jobs(broker, job_settings)
        jobs.deliver_alert.send(7)  # no worker: they wait in their queues
        jobs.publish_grades.send(1, 100)
        jobs.track_index.send(1, "defi-blue-chips", 100)
    finally:
        broker.close()
    repo = Repository.open(sqlite_url)
    try:
        ledger = JobLedger(repo.engine)
        for key, kind in (("delivery:7:1", "delivery"), ("grades:1:99:1.1.0", "grades"), ("index:1:x:99", "index")):
            ledger.start(key, kind, "h", now=100.0)
            ledger.finish(key, {}, now=100.2)
        ledger.start("signals:1:99:0", "signals", "h", now=100.0)
    finally:
        repo.close()

    text = metrics_client.get("/metrics").text
    assert _value(text, "defiscope_queue_messages", '{queue="delivery"}') == 1
    assert _value(text, "defiscope_queue_messages", '{queue="analytics"}') == 2
    for kind in ("delivery", "grades", "index"):
        assert _value(text, "defiscope_jobs", f'{{kind="{kind}",state="done"}}') == 1
        assert _value(text, "defiscope_job_seconds_count", f'{{kind="{kind}"}}') == 1
    assert _value(text, "defiscope_jobs", '{kind="signals",state="running"}') == 1
