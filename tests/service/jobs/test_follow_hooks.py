"""The head-follower job runs `defiscope index`'s hooks (grades, alerts, risk) on the devnet; a job's span joins
the trace of the command that sent it, through the real broker."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from dramatiq import Worker
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from defiscope import tracing
from defiscope.devnet import DevnetChain
from defiscope.service.jobs import tasks
from defiscope.service.jobs.actors import Jobs, open_broker
from defiscope.service.jobs.context import WorkerProcess, holder_id
from defiscope.service.jobs.settings import JobSettings
from defiscope.service.jobs.specs import BackfillChunk
from defiscope.store import Repository
from defiscope.store.grades import GradeStore
from defiscope.store.risk import RiskStore
from tests.service.test_backfill import TREASURY, grow


@pytest.fixture
def process(devnet_home: Path, sqlite_url: str) -> Iterator[WorkerProcess]:
    worker = WorkerProcess(JobSettings(lease_seconds=3, follow_slice_seconds=3), Repository.open(sqlite_url))
    yield worker
    worker.close()


def test_a_follow_slice_stores_grades_and_risk_as_index_does(eth_chain: DevnetChain, process: WorkerProcess) -> None:
    thread = process.thread()
    held = thread.run(tasks.follow_slice(process, thread, 1, holder_id(), None))
    assert held is not None  # the slice ended on time, its lease still held for the continuation
    stored = process.repo.latest_blocks()[1]
    assert GradeStore(process.repo.engine).publications(1)  # the grades publisher ran (under the alert hooks)
    risk = RiskStore(process.repo.engine)
    scored = risk.scored_slugs(1)
    assert scored  # the risk hook scored the chain's protocols at a followed block
    latest = risk.latest(scored[0], 1)
    assert latest is not None
    assert latest.block.number <= stored.number


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing.configure(tracing.TraceSettings(), SimpleSpanProcessor(exporter))
    yield exporter
    tracing.shutdown()


def test_a_job_span_is_a_child_of_the_senders_span(
    eth_chain: DevnetChain, process: WorkerProcess, job_settings: JobSettings, spans: InMemorySpanExporter
) -> None:
    settings = replace(job_settings, lease_seconds=3)
    broker = open_broker(settings)
    jobs = Jobs(broker, settings, process)
    worker = Worker(broker, queues={settings.queue("backfill")}, worker_threads=1)
    worker.start()
    try:
        first, last = grow(eth_chain, 4)
        chunk = BackfillChunk(1, TREASURY, first, last, 1)
        with tracing.span("cli backfill") as sender:
            jobs.backfill_chunk.send(chunk.to_message())
        deadline = time.monotonic() + 60
        while process.ledger.states([chunk.key]).get(chunk.key, ("", 0))[0] != "done":
            assert time.monotonic() < deadline, "the backfill job did not finish"
            time.sleep(0.2)
    finally:
        worker.stop(timeout=10_000)
        broker.close()
    assert sender is not None
    finished = spans.get_finished_spans()
    (job,) = [s for s in finished if s.name == "job backfill_chunk"]
    assert job.parent is not None
    assert job.parent.span_id == sender.get_span_context().span_id
    assert job.context.trace_id == sender.get_span_context().trace_id
    rpc = [s for s in finished if s.name.startswith("rpc ") and s.parent is not None]
    assert any(s.parent.span_id == job.context.span_id for s in rpc if s.parent)  # the job's RPC calls under it
