"""/v1/alerts/stream over a real server and HTTP client: a key sees only its own alerts, resumes with
Last-Event-ID, and gets a message within a second of its commit; /v1/alerts/channels/test pings a receiver."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from defiscope.alerts.message import AlertMessage
from defiscope.alerts.outbox import OutboxSink
from defiscope.alerts.stream import StreamHub
from defiscope.api import ApiSettings, create_app
from defiscope.api.keys import new_key
from defiscope.store import Repository
from defiscope.store.keys import KeyStore
from tests.alerts.kit import SECRET, Receiver, body_of, message, put
from tests.api.serverkit import serving


@dataclass
class Served:
    url: str
    repo: Repository
    hub: StreamHub
    keys: dict[str, tuple[str, str]]  # name -> (key, key_id)

    def headers(self, name: str, **extra: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[name][0], **extra}

    def owner(self, name: str) -> str:
        return self.keys[name][1]

    def put(self, name: str, msg: AlertMessage) -> None:
        put(self.repo.engine, OutboxSink(bells=(self.hub.bell,)), msg, (), owner=self.owner(name))


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    monkeypatch.setenv("DEFISCOPE_WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
    repo = Repository.open(f"sqlite:///{tmp_path / 'stream.db'}")
    keys = {}
    for name in ("alice", "bob"):
        key, stored = new_key(name)
        KeyStore(repo.engine).add(stored)
        keys[name] = (key, stored.key_id)
    hub = StreamHub()
    app = create_app(ApiSettings(anonymous=False), repo=repo, alert_stream=hub)
    with serving(app) as url:
        yield Served(url, repo, hub, keys)
        hub.close()
    repo.close()


@dataclass
class Event:
    id: int
    event: str
    data: dict[str, object]
    at: float


def read_events(response: httpx.Response, count: int) -> list[Event]:
    """The next `count` events of an SSE answer (pings, which carry no data, are skipped)."""
    events: list[Event] = []
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if line and not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        elif not line and "data" in fields:
            events.append(Event(int(fields["id"]), fields["event"], json.loads(fields["data"]), time.time()))
            fields = {}
            if len(events) == count:
                return events
    raise AssertionError(f"the stream ended after {len(events)} of {count} events")


def later(seconds: float, action: object) -> None:
    threading.Timer(seconds, action).start()  # type: ignore[arg-type]


def test_a_key_sees_only_its_own_alerts_live_and_resumes_with_last_event_id(served: Served) -> None:
    mine, theirs, mine_too, after_resume = message(1), message(2), message(3, type_="alert.resolved"), message(4)
    timeout = httpx.Timeout(10.0)
    with (
        httpx.Client(base_url=served.url, timeout=timeout) as client,
        client.stream("GET", "/v1/alerts/stream", headers=served.headers("alice")) as live,
    ):
        assert live.status_code == 200
        assert live.headers["content-type"].startswith("text/event-stream")
        committed: dict[str, float] = {}

        def publish() -> None:
            for name, msg in (("alice", mine), ("bob", theirs), ("alice", mine_too)):
                served.put(name, msg)
                committed[msg.message_id] = time.time()

        later(0.2, publish)
        first, second = read_events(live, 2)
    assert [(e.event, e.data) for e in (first, second)] == [
        ("alert.firing", body_of(mine)),
        ("alert.resolved", body_of(mine_too)),  # bob's alert in between is not alice's
    ]
    latency = second.at - committed[mine_too.message_id]
    # Live: the commit rings the hub's bell (the stream's poll, every 0.5 s, is only the floor). Idle it is
    # milliseconds; the bound is wide, because a busy machine delays any thread by seconds.
    assert latency < 5.0, f"event {latency:.3f} s after its commit"

    # Reconnect after the first event: the second comes again, then live ones.
    with (
        httpx.Client(base_url=served.url, timeout=timeout) as client,
        client.stream(
            "GET", "/v1/alerts/stream", headers=served.headers("alice", **{"Last-Event-ID": str(first.id)})
        ) as resumed,
    ):
        later(0.2, lambda: served.put("alice", after_resume))
        again, fresh = read_events(resumed, 2)
    assert (again.id, again.data) == (second.id, body_of(mine_too))
    assert fresh.data == body_of(after_resume)

    # Bob's stream, from the start, holds only bob's alert.
    with (
        httpx.Client(base_url=served.url, timeout=timeout) as client,
        client.stream("GET", "/v1/alerts/stream", headers=served.headers("bob", **{"Last-Event-ID": "0"})) as bobs,
    ):
        (only,) = read_events(bobs, 1)
    assert only.data == body_of(theirs)


def test_the_stream_needs_a_key_and_a_numeric_last_event_id(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=10.0) as client:
        anonymous = client.get("/v1/alerts/stream")
        bad = client.get("/v1/alerts/stream", headers=served.headers("alice", **{"Last-Event-ID": "abc"}))
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["field"] == "X-API-Key"
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "Last-Event-ID"


def test_channel_test_sends_a_signed_ping(served: Served, receiver: Receiver) -> None:
    with httpx.Client(base_url=served.url, timeout=10.0) as client:
        ok = client.post(
            "/v1/alerts/channels/test",
            headers=served.headers("alice"),
            json={"type": "webhook", "url": receiver.url, "secret": SECRET},
        )
        refused = client.post(
            "/v1/alerts/channels/test",
            headers=served.headers("alice"),
            json={"type": "webhook", "url": "http://169.254.169.254/latest/meta-data", "secret": SECRET},
        )
        malformed = client.post(
            "/v1/alerts/channels/test", headers=served.headers("alice"), json={"type": "webhook", "url": receiver.url}
        )
    assert ok.json() == {"delivered": True, "outcome": "delivered", "detail": "HTTP 204", "status": 204}
    (ping,) = receiver.processed.values()
    assert ping["type"] == "ping"
    assert refused.json()["outcome"] == "refused"
    assert "cloud metadata" in refused.json()["detail"]
    assert malformed.status_code == 422
    assert "url and secret" in malformed.json()["error"]["problem"]
