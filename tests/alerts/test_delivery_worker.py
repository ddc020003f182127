"""The worker against a real receiver: signed, delivered once each, retried with backoff, dead-lettered, 410."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Engine

from defiscope.alerts.delivery.settings import DeliverySettings
from defiscope.alerts.delivery.worker import DeliveryWorker, open_worker
from defiscope.alerts.message import Channel
from defiscope.alerts.outbox import OutboxSink
from tests.alerts.kit import SECRET, Receiver, body_of, message, put, rows

FAST: dict[str, Any] = {
    "webhook_allow_hosts": ("127.0.0.1",),
    "retry_base": 0.05,
    "retry_max": 0.2,
    "poll": 0.1,
    "lease": 5.0,
    "webhook_timeout": 2.0,
}


@asynccontextmanager
async def running(engine: Engine, **overrides: Any) -> AsyncIterator[DeliveryWorker]:
    settings = DeliverySettings(**{**FAST, **overrides})
    stop = asyncio.Event()
    async with open_worker(engine, settings) as worker:
        task = asyncio.create_task(worker.run(stop))
        try:
            yield worker
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)


async def settled(engine: Engine, within: float = 15.0) -> None:
    """Until no outbox row is pending."""
    deadline = time.monotonic() + within
    while any(r.state == "pending" for r in rows(engine)):
        assert time.monotonic() < deadline, [(r.message_id, r.state, r.last_error) for r in rows(engine)]
        await asyncio.sleep(0.05)


async def test_each_message_is_delivered_signed_and_once(engine: Engine, receiver: Receiver) -> None:
    hook = Channel("webhook", receiver.url, SECRET)
    async with running(engine) as worker:
        sink = OutboxSink(bells=(worker.bell,))
        messages = [message(n) for n in range(6)]
        for msg in messages:
            put(engine, sink, msg, (hook,))
        await settled(engine)
    assert receiver.unverified == 0
    assert sorted(receiver.processed) == sorted(m.message_id for m in messages)
    assert [r.webhook_id for r in receiver.requests].count(messages[0].message_id) == 1
    # The body is the contract's, exactly (a 2**200 evidence integer survives the store and the wire).
    assert receiver.processed[messages[3].message_id] == body_of(messages[3])
    assert {(r.state, r.attempts, r.last_status) for r in rows(engine)} == {("delivered", 1, 204)}


async def test_failures_are_retried_then_dead_lettered_after_max_attempts(
    sqlite_engine: Engine, receiver: Receiver
) -> None:
    flaky, broken = message(1), message(2)
    receiver.statuses = {flaky.message_id: [500, 503], broken.message_id: [500] * 10}
    hook = Channel("webhook", receiver.url, SECRET)
    async with running(sqlite_engine, max_attempts=3) as worker:
        sink = OutboxSink(bells=(worker.bell,))
        put(sqlite_engine, sink, flaky, (hook,))
        put(sqlite_engine, sink, broken, (hook,))
        await settled(sqlite_engine)
    by_id = {r.message_id: r for r in rows(sqlite_engine)}
    assert (by_id[flaky.message_id].state, by_id[flaky.message_id].attempts) == ("delivered", 3)
    dead = by_id[broken.message_id]
    assert (dead.state, dead.attempts, dead.last_status, dead.last_error) == ("dead", 3, 500, "HTTP 500")
    assert receiver.attempts(broken.message_id) == 3  # no fourth try
    # Each retry waited (backoff): attempts of one message are apart in time, not back to back.
    times = [r.at for r in receiver.requests if r.webhook_id == broken.message_id]
    assert times == sorted(times)


async def test_410_gone_disables_the_endpoint_and_its_pending_messages(engine: Engine) -> None:
    with Receiver.running() as gone, Receiver.running() as fine:
        first = message(1)
        gone.statuses = {first.message_id: [410]}
        to_gone, to_fine = Channel("webhook", gone.url, SECRET), Channel("webhook", fine.url, SECRET)
        async with running(engine, concurrency=1) as worker:
            sink = OutboxSink(bells=(worker.bell,))
            put(engine, sink, first, (to_gone, to_fine))
            put(engine, sink, message(2), (to_gone, to_fine))
            await settled(engine)
            put(engine, sink, message(3), (to_gone, to_fine))  # after the 410: written disabled, never sent
            await settled(engine)
        states = {(r.message_id, r.target): r.state for r in rows(engine)}
        assert gone.attempts(message(2).message_id) + gone.attempts(message(3).message_id) == 0
        assert {s for (_, target), s in states.items() if target == gone.url} == {"disabled"}
        assert {s for (_, target), s in states.items() if target == fine.url} == {"delivered"}
        assert len(fine.processed) == 3


async def test_redirects_are_not_followed(sqlite_engine: Engine) -> None:
    with Receiver.running() as target, Receiver.running() as redirector:
        msg = message(1)
        redirector.statuses = {msg.message_id: [302] * 5}
        redirector.headers = {"location": target.url}
        async with running(sqlite_engine, max_attempts=2) as worker:
            put(sqlite_engine, OutboxSink(bells=(worker.bell,)), msg, (Channel("webhook", redirector.url, SECRET),))
            await settled(sqlite_engine)
        (row,) = rows(sqlite_engine)
        assert row.state == "dead"
        assert row.last_error == f"HTTP 302: redirect to {target.url} not followed"
        assert target.requests == []


async def test_a_huge_or_slow_answer_is_capped(sqlite_engine: Engine) -> None:
    with Receiver.running(answer=b"x" * 20_000_000) as huge, Receiver.running() as slow:
        slow.delay = lambda _id, _n: 30.0  # far beyond the bound below: a busy machine cannot blur the cut
        async with running(sqlite_engine, webhook_timeout=0.5, lease=2.0, max_attempts=1) as worker:
            sink = OutboxSink(bells=(worker.bell,))
            started = time.monotonic()
            put(sqlite_engine, sink, message(1), (Channel("webhook", huge.url, SECRET),))
            put(sqlite_engine, sink, message(2), (Channel("webhook", slow.url, SECRET),))
            await settled(sqlite_engine)
            elapsed = time.monotonic() - started
        by_target = {r.target: r for r in rows(sqlite_engine)}
        assert by_target[huge.url].state == "delivered"  # 20 MB answered; 64 KiB read
        assert (by_target[slow.url].state, by_target[slow.url].last_error) == ("dead", "no answer within 0.5 s")
        assert elapsed < 15.0  # both settled long before the slow answer would have come


async def test_a_receivers_retry_after_is_honoured(sqlite_engine: Engine, receiver: Receiver) -> None:
    msg = message(1)
    receiver.statuses = {msg.message_id: [429]}
    receiver.headers = {"retry-after": "1"}
    async with running(sqlite_engine, retry_max=5.0) as worker:  # backoff alone would wait at most 0.05 s
        put(sqlite_engine, OutboxSink(bells=(worker.bell,)), msg, (Channel("webhook", receiver.url, SECRET),))
        await settled(sqlite_engine)
    first, second = (r.at for r in receiver.requests)
    assert second - first >= 1.0
    assert rows(sqlite_engine)[0].state == "delivered"
