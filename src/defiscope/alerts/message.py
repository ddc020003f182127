"""What an alert says to the outside world, and where the evaluator hands it over.

The body is the webhook payload (also the Server-Sent Event's data and the e-mail's JSON part):

    {"type": "alert.firing", "timestamp": 1700000000,
     "data": {"alert_id": "...", "rule_id": "...", "kind": "price_move", "chain_id": 1,
              "block": {"number": 123, "hash": "0x..."}, "value": "2950.1", "previous": "3010.0",
              "threshold": "0.5", "evidence": {...}}}

Values are decimal strings (exact; JSON numbers would round them); `previous` and `threshold` may be null.

An evidence entry that many messages of one block carry alike (a protocol's snapshot detail, ~4 KB) comes with its
JSON text encoded once for all of them (`SharedJson`, in `AlertMessage.shared`), so the outbox encodes the body
around it instead of the whole detail again for each message (`outbox.body_text`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from sqlalchemy.orm import Session

MessageType = Literal["alert.firing", "alert.resolved", "alert.retracted", "ping"]


@dataclass(frozen=True, slots=True)
class Channel:
    """Where a rule's alerts go: a webhook URL (signed with the rule's `whsec_` secret) or an e-mail address.
    Server-Sent Events need no channel: the stream carries every alert of the key's rules."""

    type: Literal["webhook", "email"]
    target: str  # the URL or the address
    secret: str | None = None  # a webhook's `whsec_...` signing secret (Standard Webhooks)


def compact_json(value: Any) -> str:
    """The JSON text of a message body or a part of it: compact, in the keys' order, not ASCII-escaped."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


class SharedJson:
    """A JSON value several messages carry alike, encoded (`compact_json`) once, when first asked."""

    __slots__ = ("_text", "value")

    def __init__(self, value: Any) -> None:
        self.value = value
        self._text: str | None = None

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = compact_json(self.value)
        return self._text


@dataclass(slots=True)
class AlertMessage:
    """One event of one alert's life (firing, resolved, retracted) or a channel test (ping). Never changed once
    built; not frozen: a block can raise a thousand, and a frozen dataclass costs several times as much to build."""

    type: MessageType
    timestamp: int  # unix seconds: the block's time (a ping: the time it was sent)
    alert_id: str
    rule_id: str
    kind: str
    chain_id: int
    block_number: int
    block_hash: str
    value: str | None
    previous: str | None
    threshold: str | None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    #: Evidence entries shared with other messages: key -> the entry's value (the same object) with its JSON text.
    shared: Mapping[str, SharedJson] = field(default_factory=dict)

    @property
    def message_id(self) -> str:
        """Stable per (alert, event): a receiver deduplicates by it (Standard Webhooks' `webhook-id`)."""
        return f"{self.alert_id}.{self.type}"

    def body(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "timestamp": self.timestamp,
            "data": {
                "alert_id": self.alert_id,
                "rule_id": self.rule_id,
                "kind": self.kind,
                "chain_id": self.chain_id,
                "block": {"number": self.block_number, "hash": self.block_hash},
                "value": self.value,
                "previous": self.previous,
                "threshold": self.threshold,
                "evidence": dict(self.evidence),
            },
        }


class AlertSink(Protocol):
    """Takes a message inside the caller's transaction (`session`), so an alert and its delivery are stored
    together or not at all (the outbox), for each of the rule's channels. `owner` is the public id of the API key
    that owns the rule (`store.keys.StoredKey.key_id`): the live stream shows a key only its own rules' alerts."""

    def put(self, session: Session, message: AlertMessage, channels: tuple[Channel, ...], owner: str) -> None: ...
