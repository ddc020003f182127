"""A worker process killed mid-delivery (SIGKILL: no clean-up) and restarted: every message arrives, none is
processed twice by a receiver that deduplicates by `webhook-id`. The database is the only state between the two."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine

from defiscope.alerts.message import Channel
from defiscope.alerts.outbox import OutboxSink
from defiscope.store import create_engine, migrate
from tests.alerts.kit import SECRET, Receiver, message, put, rows, wait_until

MESSAGES = 8
HELD = 3  # the message whose first attempt is in flight when the worker is killed


@contextmanager
def worker_process(db_url: str) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "DEFISCOPE_DATABASE_URL": db_url,
        "DEFISCOPE_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
        "DEFISCOPE_ALERTS_CONCURRENCY": "1",  # one at a time: later messages are still queued at the kill
        "DEFISCOPE_ALERTS_WEBHOOK_TIMEOUT": "5",
        "DEFISCOPE_ALERTS_LEASE": "6",  # the killed attempt's claim runs out 6 s after it was taken
        "DEFISCOPE_ALERTS_POLL": "0.1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "defiscope.alerts.delivery"],  # `defiscope delivery worker`, with fewer imports
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=120)


def test_killed_mid_delivery_then_restarted_delivers_everything_once(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'outbox.db'}"
    engine: Engine = create_engine(db_url)
    migrate(engine)
    held = message(HELD)
    # The receiver takes the held message (processes it) but answers only after 3 s: the worker is killed meanwhile.
    with Receiver.running(delay=lambda webhook_id, n: 3.0 if (webhook_id, n) == (held.message_id, 1) else 0.0) as rx:
        hook = Channel("webhook", rx.url, SECRET)
        sink = OutboxSink()
        messages = [message(n) for n in range(MESSAGES)]
        for msg in messages:
            put(engine, sink, msg, (hook,))
        with worker_process(db_url) as first:
            wait_until(lambda: rx.attempts(held.message_id) == 1, timeout=60, what="the held message in flight")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=120)
        assert len(rx.processed) == HELD + 1  # those before it, and the held one (answered too late)
        by_id = {r.message_id: r for r in rows(engine)}
        assert by_id[held.message_id].state == "pending"  # its outcome was never recorded

        with worker_process(db_url) as second:
            wait_until(lambda: all(r.state != "pending" for r in rows(engine)), timeout=60, what="all delivered")
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=120) == 0
    engine.dispose()

    assert {r.state for r in rows(engine)} == {"delivered"}
    assert sorted(rx.processed) == sorted(m.message_id for m in messages)  # every message, processed once
    assert rx.attempts(held.message_id) == 2  # sent again after the restart, with the same webhook-id
    assert {r.message_id: r.attempts for r in rows(engine)}[held.message_id] == 2
    assert rx.unverified == 0
