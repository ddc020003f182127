"""One webhook attempt, signed per the Standard Webhooks specification (the `standardwebhooks` package).

    sender = WebhookSender(guarded_client(AddressPolicy.of(()), timeout=10.0), settings)
    outcome = await sender.send(message_id="alr_1.alert.firing", url="https://hooks.example/x",
                                secret="whsec_...", body='{"type":"alert.firing",...}')

Headers: `webhook-id` (the message id: the same on every retry, so a receiver deduplicates by it),
`webhook-timestamp` (unix seconds of this attempt: receivers refuse old ones, so each retry is signed anew) and
`webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed by the rule's `whsec_` secret.
The body is sent byte for byte as stored. The whole attempt has one deadline; at most
`webhook_max_response_bytes` of the answer are read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

import httpx
from standardwebhooks import Webhook

from defiscope.alerts.delivery.outcome import Outcome
from defiscope.alerts.delivery.settings import DeliverySettings
from defiscope.alerts.delivery.ssrf import AddressRefused, url_refusal

USER_AGENT: Final = "defiscope-webhooks/1"
_DETAIL_CHARS: Final = 200


def signed_headers(message_id: str, secret: str, body: str, now: float) -> dict[str, str]:
    """The Standard Webhooks headers of `body` sent at `now`; ValueError for a secret that is not base64."""
    timestamp = int(now)
    try:
        signature = Webhook(secret).sign(message_id, datetime.fromtimestamp(timestamp, tz=UTC), body)
    except Exception as exc:  # binascii.Error, EmptyWebhookSecretError: the package raises no common type
        raise ValueError(f"webhook secret unusable: {exc}") from exc
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else None


def classify(response: httpx.Response, answer: bytes) -> Outcome:
    """An HTTP answer as an outcome (the status, and the start of what the receiver said)."""
    status = response.status_code
    said = answer[:_DETAIL_CHARS].decode("utf-8", "replace").strip()
    detail = f"HTTP {status}" + (f": {said}" if said else "")
    if 200 <= status < 300:
        return Outcome("delivered", detail, status)
    if status == 410:
        return Outcome("gone", detail, status)
    if 300 <= status < 400:
        where = response.headers.get("location", "?")
        return Outcome("failed", f"HTTP {status}: redirect to {where} not followed", status)
    return Outcome("failed", detail, status, _retry_after(response))


class WebhookSender:
    __slots__ = ("client", "clock", "settings")

    def __init__(
        self, client: httpx.AsyncClient, settings: DeliverySettings, clock: Callable[[], float] = time.time
    ) -> None:
        self.client = client
        self.settings = settings
        self.clock = clock

    async def send(self, message_id: str, url: str, secret: str | None, body: str) -> Outcome:
        refusal = url_refusal(url)
        if refusal is not None:
            return Outcome("refused", f"webhook URL refused: {refusal}")
        if not secret:
            return Outcome("refused", "no webhook signing secret")
        try:
            headers = signed_headers(message_id, secret, body, self.clock())
        except ValueError as exc:
            return Outcome("refused", str(exc))
        try:
            async with asyncio.timeout(self.settings.webhook_timeout):
                return await self._post(url, headers, body.encode())
        except AddressRefused as exc:
            return Outcome("refused", str(exc))
        except (TimeoutError, httpx.TimeoutException):
            return Outcome("failed", f"no answer within {self.settings.webhook_timeout:g} s")
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            return Outcome("refused", f"webhook URL refused: {exc}")
        except (httpx.HTTPError, OSError) as exc:
            return Outcome("failed", f"{type(exc).__name__}: {exc}".rstrip(": "))

    async def _post(self, url: str, headers: dict[str, str], content: bytes) -> Outcome:
        cap = self.settings.webhook_max_response_bytes
        async with self.client.stream("POST", url, content=content, headers=headers) as response:
            answer = bytearray()
            async for chunk in response.aiter_raw():
                answer += chunk
                if len(answer) >= cap:
                    break  # leaving the block closes the connection: the rest is not waited for
            return classify(response, bytes(answer[:cap]))
