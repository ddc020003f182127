"""Retention: delivered outbox rows and stream events older than the retention are pruned (by the worker, on its
schedule); undelivered, dead-lettered and disabled rows never are; a stream resumed from a pruned id is told of the
gap (a `stream.gap` event naming the last pruned id) before the messages after it."""

from __future__ import annotations

import asyncio
import time

import httpx
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from defiscope.alerts.delivery.settings import DeliverySettings
from defiscope.alerts.delivery.worker import open_worker
from defiscope.alerts.message import Channel
from defiscope.alerts.outbox import OutboxSink
from defiscope.alerts.retention import DAY, RetentionSettings, prune
from defiscope.alerts.stream import StreamLog
from defiscope.store.database import WRITE_OPTION
from defiscope.store.outbox import DEAD, DELIVERED, DISABLED, OutboxRow, StreamPruned, StreamRow
from tests.alerts.kit import OWNER, message, put, rows
from tests.alerts.test_stream import Served, read_events, served  # noqa: F401  (fixture)

HOOK = Channel("webhook", "https://hooks.example/a", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
OTHER = "k_other01"
KEEP = RetentionSettings(days=2)


def age(engine: Engine, message_id: str, state: str, days: float, now: float) -> None:
    """Make a message's outbox rows `state`, finished, and its stream rows written `days` before `now`."""
    then = now - days * DAY
    with Session(engine.execution_options(**{WRITE_OPTION: True})) as session, session.begin():
        session.execute(
            update(OutboxRow).where(OutboxRow.message_id == message_id).values(state=state, finished_at=then)
        )
        session.execute(update(StreamRow).where(StreamRow.message_id == message_id).values(created_at=then))


def stream_ids(engine: Engine, owner: str) -> list[int]:
    with Session(engine) as session:
        return list(session.scalars(select(StreamRow.id).where(StreamRow.owner == owner).order_by(StreamRow.id)))


def test_only_delivered_rows_and_stream_events_older_than_the_retention_are_pruned(engine: Engine) -> None:
    now, sink = time.time(), OutboxSink()
    fates = {1: (DELIVERED, 3), 2: (DELIVERED, 1), 3: ("pending", 3), 4: (DEAD, 3), 5: (DISABLED, 3), 6: (DELIVERED, 5)}
    for n, (state, days) in fates.items():
        put(engine, sink, message(n), (HOOK,))
        age(engine, message(n).message_id, state, days, now)
    put(engine, sink, message(7), (HOOK,), owner=OTHER)  # another key's, just written
    ids = stream_ids(engine, OWNER)

    pruned = prune(engine, KEEP, now)

    assert (pruned.outbox, pruned.stream) == (2, 5)  # delivered 3 and 5 days ago; stream rows of 1, 3, 4, 5, 6
    kept = [(message(n).message_id, fates[n][0]) for n in (2, 3, 4, 5)] + [(message(7).message_id, "pending")]
    assert sorted((r.message_id, r.state) for r in rows(engine)) == sorted(kept)
    assert stream_ids(engine, OWNER) == [ids[1]]  # message 2's: one day old
    with Session(engine) as session:
        marks = {m.owner: m.pruned_through for m in session.scalars(select(StreamPruned))}
    assert marks == {OWNER: ids[-1]}  # the other key lost nothing

    assert prune(engine, KEEP, now) == type(pruned)(0, 0)  # nothing more; the mark is not lowered
    log = StreamLog(engine)
    resumed = log.read(OWNER, ids[0], 10)  # a client that saw only message 1
    assert resumed.gap_through == ids[-1]  # messages 3 to 6 are gone ...
    assert [e.id for e in resumed.entries] == [ids[1]]  # ... message 2 (younger) survives in the gap
    assert log.read(OWNER, ids[1], 10).gap_through == ids[-1]
    assert log.read(OWNER, ids[-1], 10).gap_through is None  # resumed after the mark: no gap
    assert log.read(OTHER, 0, 10).gap_through is None


def test_a_stream_resumed_from_a_pruned_id_gets_a_gap_event_then_the_rest(served: Served) -> None:  # noqa: F811
    now, engine = time.time(), served.repo.engine
    for n in (1, 2, 3):
        served.put("alice", message(n))
    first, second, third = stream_ids(engine, served.owner("alice"))
    for n in (1, 2):
        age(engine, message(n).message_id, DELIVERED, 40, now)  # older than the default 30 days
    prune(engine, RetentionSettings(), now)

    with (
        httpx.Client(timeout=10) as client,
        client.stream(
            "GET", f"{served.url}/v1/alerts/stream", headers=served.headers("alice", **{"Last-Event-ID": str(first)})
        ) as response,
    ):
        assert response.status_code == 200
        gap, after = read_events(response, 2)
    assert (gap.event, gap.id) == ("stream.gap", second)
    assert (gap.data["after"], gap.data["pruned_through"], gap.data["retention_days"]) == (first, second, 30.0)
    assert (after.event, after.id) == ("alert.firing", third)

    with (
        httpx.Client(timeout=10) as client,
        client.stream(
            "GET", f"{served.url}/v1/alerts/stream", headers=served.headers("alice", **{"Last-Event-ID": str(second)})
        ) as response,
    ):
        (only,) = read_events(response, 1)
    assert (only.event, only.id) == ("alert.firing", third)  # resumed at the mark: no gap to tell


async def test_the_worker_prunes_on_its_schedule(sqlite_engine: Engine) -> None:
    now, sink = time.time(), OutboxSink()
    put(sqlite_engine, sink, message(1), (HOOK,))
    age(sqlite_engine, message(1).message_id, DELIVERED, 3, now)
    settings = DeliverySettings(poll=0.05)
    stop = asyncio.Event()
    async with open_worker(sqlite_engine, settings, retention=RetentionSettings(days=2, interval_seconds=0.3)) as w:
        running = asyncio.create_task(w.run(stop))
        await asyncio.sleep(0.2)
        assert rows(sqlite_engine) == []  # pruned at the first pass
        put(sqlite_engine, sink, message(2), (HOOK,))
        age(sqlite_engine, message(2).message_id, DELIVERED, 3, now)
        assert len(rows(sqlite_engine)) == 1  # not before the interval has passed ...
        await asyncio.sleep(0.6)
        stop.set()
        await running
    assert rows(sqlite_engine) == []  # ... and then
