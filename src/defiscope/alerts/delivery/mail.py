"""One e-mail attempt over SMTP (the standard library's smtplib, in a thread).

    sender = EmailSender(DeliverySettings(smtp_host="127.0.0.1", smtp_port=8025))
    outcome = await sender.send(message_id="alr_1.alert.firing", address="ops@example.org", body='{...}')

The mail says in its subject and first lines what fired where, and carries the webhook body as an
`application/json` part. Its `Message-ID` derives from the message id, so a mail client shows a redelivery as the
same message. SMTP 5xx replies are final (`refused`), 4xx and connection errors are tried again (`failed`).
"""

from __future__ import annotations

import asyncio
import json
import smtplib
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from defiscope.alerts.delivery.outcome import Outcome
from defiscope.alerts.delivery.settings import DeliverySettings


def _address(text: str) -> Address:
    """The recipient, checked: one addr-spec, no header injection (ValueError otherwise)."""
    if any(c in text for c in "\r\n,;<>") or text.count("@") != 1:
        raise ValueError(f"not one plain e-mail address: {text!r}")
    return Address(addr_spec=text)


def _summary(body: dict[str, Any]) -> tuple[str, str]:
    data = body.get("data", {})
    block = data.get("block", {})
    subject = (
        f"[defiscope] {body.get('type')} {data.get('kind')} (rule {data.get('rule_id')}) "
        f"on chain {data.get('chain_id')} at block {block.get('number')}"
    )
    lines = [
        subject.removeprefix("[defiscope] "),
        f"value: {data.get('value')}  previous: {data.get('previous')}  threshold: {data.get('threshold')}",
        f"block hash: {block.get('hash')}",
        f"alert: {data.get('alert_id')}",
        "",
        "The attached JSON is the webhook body of this alert.",
    ]
    return subject, "\n".join(lines) + "\n"


def compose(message_id: str, address: str, body: str, sender: str) -> EmailMessage:
    subject, text = _summary(json.loads(body))
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = _address(address)
    mail["Subject"] = subject
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = f"<{message_id}@defiscope>"
    mail["X-Defiscope-Message-Id"] = message_id
    mail.set_content(text)
    mail.add_attachment(body.encode(), maintype="application", subtype="json", filename="alert.json")
    return mail


class EmailSender:
    __slots__ = ("settings",)

    def __init__(self, settings: DeliverySettings) -> None:
        self.settings = settings

    async def send(self, message_id: str, address: str, body: str) -> Outcome:
        if self.settings.smtp_host is None:
            return Outcome("failed", "no SMTP server configured (DEFISCOPE_ALERTS_SMTP_HOST)")
        try:
            mail = compose(message_id, address, body, self.settings.smtp_from)
        except ValueError as exc:
            return Outcome("refused", str(exc))
        try:
            await asyncio.to_thread(self._send, mail)
        except smtplib.SMTPRecipientsRefused as exc:
            code, refusal = next(iter(exc.recipients.values()))
            detail = f"SMTP {code}: {refusal.decode(errors='replace')}"
            return Outcome("refused" if code >= 500 else "failed", detail, code)
        except smtplib.SMTPResponseException as exc:
            final = exc.smtp_code >= 500
            reply = exc.smtp_error
            said = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
            return Outcome("refused" if final else "failed", f"SMTP {exc.smtp_code}: {said}", exc.smtp_code)
        except (smtplib.SMTPException, OSError) as exc:
            return Outcome("failed", f"SMTP {self.settings.smtp_host}:{self.settings.smtp_port}: {exc}")
        return Outcome("delivered", "accepted by the SMTP server", 250)

    def _send(self, mail: EmailMessage) -> None:
        s = self.settings
        assert s.smtp_host is not None
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_username is not None:
                smtp.login(s.smtp_username, s.smtp_password or "")
            smtp.send_message(mail)
