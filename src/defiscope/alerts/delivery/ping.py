"""A test message (`type: "ping"`) sent to one channel now, through the same signing, SSRF checks and caps.

    outcome = await ping(Channel("webhook", "https://hooks.example/x", "whsec_..."), DeliverySettings.from_env())
    outcome.kind, outcome.detail      # ("delivered", "HTTP 204") or why not

Not queued: whoever asks for a ping wants to know now whether the endpoint works.
"""

from __future__ import annotations

import secrets
import time

from defiscope.alerts.delivery.mail import EmailSender
from defiscope.alerts.delivery.outcome import Outcome
from defiscope.alerts.delivery.settings import DeliverySettings
from defiscope.alerts.delivery.ssrf import Resolver
from defiscope.alerts.delivery.webhook import WebhookSender
from defiscope.alerts.delivery.worker import webhook_client
from defiscope.alerts.message import AlertMessage, Channel
from defiscope.alerts.outbox import body_text


def ping_message(now: float | None = None) -> AlertMessage:
    """A ping in the webhook body's shape: no rule, no chain, no block (zeros and empty strings say so)."""
    return AlertMessage(
        type="ping",
        timestamp=int(time.time() if now is None else now),
        alert_id=f"ping_{secrets.token_hex(8)}",
        rule_id="",
        kind="ping",
        chain_id=0,
        block_number=0,
        block_hash="",
        value=None,
        previous=None,
        threshold=None,
    )


async def ping(channel: Channel, settings: DeliverySettings, resolver: Resolver | None = None) -> Outcome:
    message = ping_message()
    body = body_text(message)
    if channel.type == "email":
        return await EmailSender(settings).send(message.message_id, channel.target, body)
    async with webhook_client(settings, resolver) as client:
        return await WebhookSender(client, settings).send(message.message_id, channel.target, channel.secret, body)
