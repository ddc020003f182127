"""A real webhook receiver (an HTTP server on loopback, in a thread) and builders of alert messages.

The receiver verifies every request with the `standardwebhooks` package's `Webhook.verify`, deduplicates by
`webhook-id` as the specification asks receivers to, and answers what the test scripts (a status per attempt,
a delay, a body).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from defiscope.alerts.message import AlertMessage, Channel
from defiscope.alerts.outbox import OutboxSink
from defiscope.store.database import WRITE_OPTION
from defiscope.store.outbox import OutboxRow

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OWNER = "k_owner1"


def message(n: int, *, type_: str = "alert.firing", rule: str = "rul_1") -> AlertMessage:
    return AlertMessage(
        type=type_,  # type: ignore[arg-type]
        timestamp=1_700_000_000 + 12 * n,
        alert_id=f"alr_{n:04d}",
        rule_id=rule,
        kind="price_move",
        chain_id=1,
        block_number=100 + n,
        block_hash="0x" + f"{n:064x}",
        value="2950.123456789012345678",
        previous="3010.0",
        threshold="0.5",
        evidence={"window_blocks": 10, "price_source": "chainlink", "big": 2**200},
    )


def put(engine: Engine, sink: OutboxSink, msg: AlertMessage, channels: tuple[Channel, ...], owner: str = OWNER) -> None:
    """The evaluator's side: the message put inside a write transaction, committed."""
    with Session(engine.execution_options(**{WRITE_OPTION: True})) as session, session.begin():
        sink.put(session, msg, channels, owner)


def rows(engine: Engine) -> list[OutboxRow]:
    with Session(engine) as session:
        return list(session.scalars(select(OutboxRow).order_by(OutboxRow.id)))


@dataclass
class Received:
    webhook_id: str
    body: dict[str, Any]
    at: float  # time.time() when the request arrived


@dataclass
class Receiver:
    """Scripted answers: `statuses[webhook_id]` is consumed one per attempt (default 204)."""

    url: str = ""
    secret: str = SECRET
    statuses: dict[str, list[int]] = field(default_factory=dict)
    delay: Callable[[str, int], float] = lambda _id, _n: 0.0  # seconds to hold attempt n of an id
    answer: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)  # every verified request, duplicates too
    processed: dict[str, dict[str, Any]] = field(default_factory=dict)  # deduplicated by webhook-id
    unverified: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def attempts(self, webhook_id: str) -> int:
        with self.lock:
            return sum(1 for r in self.requests if r.webhook_id == webhook_id)

    def handle(self, headers: dict[str, str], raw: bytes) -> tuple[int, bytes, dict[str, str]]:
        try:
            body = Webhook(self.secret).verify(raw, headers)
        except Exception:
            with self.lock:
                self.unverified += 1
            return 400, b"bad signature", {}
        webhook_id = headers["webhook-id"]
        with self.lock:
            self.requests.append(Received(webhook_id, body, time.time()))
            n = sum(1 for r in self.requests if r.webhook_id == webhook_id)
            script = self.statuses.get(webhook_id, [])
            status = script.pop(0) if script else 204
            if 200 <= status < 300:
                self.processed.setdefault(webhook_id, body)  # a duplicate is acknowledged, not processed again
        hold = self.delay(webhook_id, n)
        if hold:
            time.sleep(hold)
        return status, self.answer, self.headers

    @classmethod
    @contextmanager
    def running(cls, **kwargs: Any) -> Iterator[Receiver]:
        receiver = cls(**kwargs)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        try:
            yield receiver
        finally:
            server.shutdown()
            server.server_close()


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length", "0")))
            status, answer, extra = receiver.handle({k.lower(): v for k, v in self.headers.items()}, raw)
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the sender stopped reading (a cap)
                self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def wait_until(predicate: Callable[[], bool], timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def body_of(msg: AlertMessage) -> dict[str, Any]:
    return json.loads(json.dumps(msg.body()))
