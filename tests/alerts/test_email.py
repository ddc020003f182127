"""E-mail delivery against a real SMTP server (aiosmtpd) started by the test."""

from __future__ import annotations

import email
import email.policy
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import Engine

from defiscope.alerts.delivery.mail import EmailSender
from defiscope.alerts.delivery.settings import DeliverySettings
from defiscope.alerts.message import Channel
from defiscope.alerts.outbox import OutboxSink
from tests.alerts.kit import body_of, message, put, rows
from tests.alerts.test_delivery_worker import running, settled

REJECTED = "nobody@example.org"


@dataclass
class Mailbox:
    received: list[EmailMessage] = field(default_factory=list)

    async def handle_RCPT(  # noqa: N802  (aiosmtpd's hook names)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address == REJECTED:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw: Any = envelope.content
        self.received.append(email.message_from_bytes(raw, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox, port = Mailbox(), _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


async def test_alerts_are_mailed_with_a_summary_and_the_json_body(
    sqlite_engine: Engine, smtp_server: tuple[Mailbox, int]
) -> None:
    engine = sqlite_engine
    mailbox, port = smtp_server
    msg = message(7)
    async with running(engine, smtp_host="127.0.0.1", smtp_port=port, smtp_from="alerts@defiscope.test") as worker:
        sink = OutboxSink(bells=(worker.bell,))
        put(engine, sink, msg, (Channel("email", "ops@example.org"), Channel("email", REJECTED)))
        await settled(engine)
    (mail,) = mailbox.received
    assert mail["To"] == "ops@example.org"
    assert mail["From"] == "alerts@defiscope.test"
    assert mail["Message-ID"] == f"<{msg.message_id}@defiscope>"
    # A long subject is folded after "Subject:"; unfolding leaves the fold's space.
    assert mail["Subject"].strip() == "[defiscope] alert.firing price_move (rule rul_1) on chain 1 at block 107"
    text = mail.get_body(preferencelist=("plain",))
    assert text is not None
    assert "value: 2950.123456789012345678" in text.get_content()
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/json"
    assert json.loads(attachment.get_content()) == body_of(msg)
    by_target = {r.target: r for r in rows(engine)}
    assert (by_target["ops@example.org"].state, by_target["ops@example.org"].attempts) == ("delivered", 1)
    rejected = by_target[REJECTED]
    assert (rejected.state, rejected.attempts, rejected.last_status) == ("dead", 1, 550)  # 5xx: final, not retried
    assert rejected.last_error == "SMTP 550: 5.1.1 no such mailbox"


async def test_without_an_smtp_server_the_message_fails_with_why() -> None:
    outcome = await EmailSender(DeliverySettings()).send("m", "ops@example.org", json.dumps(message(1).body()))
    assert (outcome.kind, outcome.detail) == ("failed", "no SMTP server configured (DEFISCOPE_ALERTS_SMTP_HOST)")


async def test_header_injection_in_an_address_is_refused() -> None:
    sender = EmailSender(DeliverySettings(smtp_host="127.0.0.1"))
    outcome = await sender.send("m", "ops@example.org\r\nBcc: all@example.org", json.dumps(message(1).body()))
    assert outcome.kind == "refused"
