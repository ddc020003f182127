"""What one delivery attempt came to, and what the worker sends: shared by every channel.

- `delivered`: the receiver took it (2xx; the SMTP server accepted it).
- `failed`: try again later (timeouts, connection errors, 5xx, 429, other 4xx, redirects, temporary SMTP errors);
  dead-lettered once out of tries.
- `gone`: 410 Gone; the endpoint is disabled and nothing more is sent to it.
- `refused`: it can never succeed as it stands (an address the SSRF policy refuses, no signing secret, a mail
  address the server rejects for good): dead-lettered at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

OutcomeKind = Literal["delivered", "failed", "gone", "refused"]


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: OutcomeKind
    detail: str  # for the record and the logs: the status and what the receiver said, or the error
    status: int | None = None  # HTTP status (or SMTP reply code) when there was one
    retry_after: float | None = None  # seconds the receiver asked us to wait (Retry-After)


@dataclass(frozen=True, slots=True)
class Envelope:
    """One outbox row as the worker hands it to a channel."""

    row_id: int
    message_id: str
    channel: str
    target: str
    secret: str | None
    body: str
    attempts: int  # including this one
