"""OutboxSink: messages are written in the caller's transaction (with the alert or not at all), once, and the
worker and streams are rung only after the commit."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from defiscope.alerts.message import Channel
from defiscope.alerts.outbox import OutboxSink, body_text
from defiscope.alerts.stream import StreamLog
from defiscope.alerts.wakeup import Bell
from defiscope.store.database import WRITE_OPTION
from defiscope.store.outbox import DisabledEndpoint, StreamRow
from tests.alerts.kit import OWNER, SECRET, message, put, rows

HOOK = Channel("webhook", "https://hooks.example/a", SECRET)
MAIL = Channel("email", "ops@example.org")


def test_one_row_per_channel_and_one_stream_entry_committed_with_the_caller(engine: Engine) -> None:
    bell = Bell()
    msg = message(1)
    with Session(engine.execution_options(**{WRITE_OPTION: True})) as session, session.begin():
        OutboxSink(bells=(bell,)).put(session, msg, (HOOK, MAIL), OWNER)
        assert bell.version == 0  # not before the commit: the worker would find nothing yet
    assert bell.version == 1
    assert [(r.channel, r.target, r.state, r.attempts, r.secret) for r in rows(engine)] == [
        ("webhook", HOOK.target, "pending", 0, SECRET),
        ("email", MAIL.target, "pending", 0, None),
    ]
    assert {r.body for r in rows(engine)} == {body_text(msg)}
    (entry,) = StreamLog(engine).after(OWNER, 0, 10)
    assert (entry.type, entry.body) == ("alert.firing", body_text(msg))


def test_a_rolled_back_transaction_leaves_no_message_and_rings_nothing(engine: Engine) -> None:
    bell = Bell()

    def store_alert_then_fail() -> None:
        with Session(engine.execution_options(**{WRITE_OPTION: True})) as session, session.begin():
            OutboxSink(bells=(bell,)).put(session, message(1), (HOOK,), OWNER)
            raise RuntimeError("the alert could not be stored")

    with pytest.raises(RuntimeError, match="the alert could not be stored"):
        store_alert_then_fail()
    assert rows(engine) == []
    assert StreamLog(engine).latest(OWNER) == 0
    assert bell.version == 0


def test_putting_a_message_again_changes_nothing(engine: Engine) -> None:
    sink = OutboxSink()
    for _ in range(2):
        put(engine, sink, message(1), (HOOK, MAIL))
    put(engine, sink, message(1, type_="alert.resolved"), (HOOK,))  # another event of the alert: a new message
    assert [r.message_id for r in rows(engine)] == ["alr_0001.alert.firing"] * 2 + ["alr_0001.alert.resolved"]
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(StreamRow)) == 2


def test_a_disabled_endpoint_gets_its_row_disabled_with_why(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        session.add(DisabledEndpoint(channel="webhook", target=HOOK.target, disabled_at=1.0, reason="HTTP 410"))
    put(engine, OutboxSink(), message(1), (HOOK, MAIL))
    assert [(r.target, r.state, r.last_error) for r in rows(engine)] == [
        (HOOK.target, "disabled", "endpoint disabled (410 Gone)"),
        (MAIL.target, "pending", None),
    ]
