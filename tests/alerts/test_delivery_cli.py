"""`defiscope delivery ping|status|enable`: a signed ping now, the outbox's states, one-line errors (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from defiscope.alerts.message import Channel
from defiscope.alerts.outbox import OutboxSink
from defiscope.cli import app
from defiscope.store import Repository
from defiscope.store.outbox import DisabledEndpoint
from tests.alerts.kit import SECRET, Receiver, message, put


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repository:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DEFISCOPE_DATABASE_URL", url)
    monkeypatch.setenv("DEFISCOPE_WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
    return Repository.open(url)


def test_ping_delivers_a_signed_ping_or_says_why_not(
    cli: CliRunner, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEFISCOPE_WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
    done = cli.invoke(app, ["delivery", "ping", receiver.url, "--secret", SECRET, "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {"delivered": True, "outcome": "delivered", "detail": "HTTP 204", "status": 204}
    (body,) = receiver.processed.values()
    assert body["type"] == "ping"

    refused = cli.invoke(app, ["delivery", "ping", "http://10.0.0.1/hook", "--secret", SECRET])
    assert refused.exit_code == 1
    assert refused.stdout.strip() == "refused: 10.0.0.1 resolves to 10.0.0.1: private (refused: SSRF policy)"


def test_bad_input_is_one_line_and_exit_2(cli: CliRunner) -> None:
    unsigned = cli.invoke(app, ["delivery", "ping", "https://hooks.example/x"])
    both = cli.invoke(app, ["delivery", "ping", "https://hooks.example/x", "--email", "a@b.org"])
    assert (unsigned.exit_code, both.exit_code) == (2, 2)
    assert unsigned.stderr.strip().splitlines() == [
        "error: --secret: a webhook ping is signed with the rule's whsec_ secret"
    ]
    assert both.stderr.strip() == "error: give a webhook URL or --email, not both"


def test_a_bad_retention_setting_stops_the_worker_with_one_line(
    cli: CliRunner, store: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEFISCOPE_ALERT_RETENTION_DAYS", "-1")
    refused = cli.invoke(app, ["delivery", "worker"])
    assert refused.exit_code == 2
    assert refused.stderr.strip() == "error: DEFISCOPE_ALERT_RETENTION_DAYS: Input should be greater than 0"
    store.close()


def test_status_lists_states_and_enable_reopens_a_gone_endpoint(cli: CliRunner, store: Repository) -> None:
    hook = Channel("webhook", "https://gone.example/x", SECRET)
    with Session(store.engine) as session, session.begin():
        session.add(DisabledEndpoint(channel="webhook", target=hook.target, disabled_at=1.0, reason="HTTP 410"))
    put(store.engine, OutboxSink(), message(1), (hook,))
    put(store.engine, OutboxSink(), message(2), (Channel("email", "ops@example.org"),))
    status = cli.invoke(app, ["delivery", "status", "--json"])
    assert status.exit_code == 0, status.output
    doc = json.loads(status.stdout)
    assert doc["counts"] == {"pending": 1, "delivered": 0, "dead": 0, "disabled": 1}
    assert [(u["target"], u["state"], u["last_error"]) for u in doc["undelivered"]] == [
        (hook.target, "disabled", "endpoint disabled (410 Gone)")
    ]
    assert cli.invoke(app, ["delivery", "enable", hook.target]).exit_code == 0
    again = cli.invoke(app, ["delivery", "enable", hook.target])
    assert again.exit_code == 2
    assert again.stderr.strip() == f"error: {hook.target} is not disabled"
    store.close()
