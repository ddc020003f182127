"""/v1/alerts/stream (Server-Sent Events) and /v1/alerts/channels/test (a ping now).

GET /v1/alerts/stream   with an API key; `Last-Event-ID: N` resumes after event N (browsers send it when they
                        reconnect), without it the stream starts with the next message. Each event: `id` (resume
                        point), `event` (alert.firing / alert.resolved / alert.retracted), `data` (the webhook body).
                        A key sees only its own rules' alerts. Events are kept DEFISCOPE_ALERT_RETENTION_DAYS (30):
                        a resume within that misses nothing; one from a pruned id first gets a `stream.gap` event
                        (data: after, pruned_through, retention_days, detail; id: pruned_through), never a silent gap.
POST /v1/alerts/channels/test  {"type": "webhook", "url": "https://...", "secret": "whsec_..."}
                            or {"type": "email", "address": "ops@example.org"}
                        -> 200 {"delivered": true, "outcome": "delivered", "detail": "HTTP 204", "status": 204}
                        (a delivery that failed is still a 200: the request was fine, the endpoint was not).
"""

# No `from __future__ import annotations`: FastAPI evaluates the body and header annotations.

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Final, Literal

from fastapi import APIRouter, Body, Header
from pydantic import BaseModel, Field, model_validator
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request

from defiscope.alerts.delivery.ping import ping
from defiscope.alerts.delivery.settings import DeliverySettings
from defiscope.alerts.message import Channel
from defiscope.alerts.retention import RetentionSettings
from defiscope.alerts.stream import StreamHub, StreamLog
from defiscope.api.errors import ApiError
from defiscope.api.models import COMMON_ERRORS
from defiscope.api.respond import context
from defiscope.store.keys import StoredKey

#: Seconds between looks at the stream log when nothing rang (messages committed by another process).
POLL_SECONDS: Final = 0.5
_BATCH: Final = 100
#: The event a client resuming from a pruned id gets first (retention): it names the gap, never skips it silently.
GAP_EVENT: Final = "stream.gap"
#: An event id as the stream sends them (Last-Event-ID must be one): a whole number.
EVENT_ID: Final = r"^[0-9]{1,18}$"


class ChannelTest(BaseModel):
    type: Literal["webhook", "email"]
    url: str | None = Field(default=None, max_length=2000, description="webhook: http(s) URL")
    secret: str | None = Field(default=None, max_length=200, description="webhook: the rule's whsec_ secret")
    address: str | None = Field(default=None, max_length=254, description="email: recipient address")

    @model_validator(mode="after")
    def _one_target(self) -> "ChannelTest":
        if self.type == "webhook" and (self.url is None or self.secret is None or self.address is not None):
            raise ValueError("a webhook test takes url and secret (and no address)")
        if self.type == "email" and (self.address is None or self.url is not None):
            raise ValueError("an email test takes address (and no url)")
        return self


class ChannelTestResult(BaseModel):
    delivered: bool
    outcome: str = Field(description="delivered, failed, gone (410) or refused (e.g. by the SSRF policy)")
    detail: str
    status: int | None


def _owner(request: Request) -> str:
    key = getattr(request.state, "api_key", None)
    if not isinstance(key, StoredKey):
        raise ApiError(401, "X-API-Key", "an API key is required: the stream shows the alerts of the key's rules")
    return key.key_id


def _gap(after: int, through: int, days: float) -> ServerSentEvent:
    """The notice a client resuming from a pruned id gets before the rest (its id: resume after the gap)."""
    detail = (
        f"messages after event {after} up to event {through} were pruned (kept {days:g} days): "
        "their alerts are listed at /v1/alerts/rules/{id}/alerts"
    )
    body = {"type": GAP_EVENT, "after": after, "pruned_through": through, "retention_days": days, "detail": detail}
    return ServerSentEvent(data=json.dumps(body), event=GAP_EVENT, id=str(through))


async def _events(
    log: StreamLog, hub: StreamHub, owner: str, cursor: int, days: float
) -> AsyncIterator[ServerSentEvent]:
    while not hub.closed:
        seen = hub.bell.version
        batch = await asyncio.to_thread(log.read, owner, cursor, _BATCH)
        gap, full = batch.gap_through, len(batch.entries) == _BATCH
        for entry in batch.entries:
            if gap is not None and entry.id > gap:  # survivors below the gap first, ids always increasing
                yield _gap(cursor, gap, days)
                cursor, gap = gap, None
            yield ServerSentEvent(data=entry.body, event=entry.type, id=str(entry.id))
            cursor = entry.id
        if gap is not None and not full:  # a full page may hold more survivors below the gap: read them first
            yield _gap(cursor, gap, days)
            cursor = gap
        if not full:
            await hub.bell.wait_past(seen, POLL_SECONDS)


def router(hub: StreamHub, delivery: DeliverySettings | None = None) -> APIRouter:
    api = APIRouter(prefix="/v1/alerts", tags=["alerts"], responses=COMMON_ERRORS)
    settings = delivery or DeliverySettings.from_env()
    retention = RetentionSettings.from_env()

    @api.get(
        "/stream",
        summary="Live alerts of the key's rules (Server-Sent Events; resumable with Last-Event-ID)",
        response_class=EventSourceResponse,
    )
    async def stream(
        request: Request, last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", pattern=EVENT_ID)] = None
    ) -> EventSourceResponse:
        owner = _owner(request)
        log = StreamLog(context(request).repo.engine)
        after = None if last_event_id is None else int(last_event_id)
        if after is None:  # taken before the answer starts: a message committed once the client is connected is shown
            after = await asyncio.to_thread(log.latest, owner)
        return EventSourceResponse(_events(log, hub, owner, after, retention.days), ping=15)

    @api.post("/channels/test", response_model=ChannelTestResult, summary="Send a signed test message (ping) now")
    async def test_channel(request: Request, body: Annotated[ChannelTest, Body()]) -> ChannelTestResult:
        _owner(request)
        target = body.url if body.type == "webhook" else body.address
        outcome = await ping(Channel(body.type, str(target), body.secret), settings)
        return ChannelTestResult(
            delivered=outcome.kind == "delivered", outcome=outcome.kind, detail=outcome.detail, status=outcome.status
        )

    return api
