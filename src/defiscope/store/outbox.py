"""Tables of alert delivery (revision 0012): the outbox, the live stream's log, and disabled endpoints; how far
retention pruned each owner's stream (revision 0014, `defiscope.alerts.retention`).

An outbox row is one message for one channel (webhook URL or e-mail address), written in the transaction that
stores the alert, so a message exists exactly when its alert does. The worker claims due rows with a lease (a
worker that dies mid-delivery loses its claim when the lease runs out), delivers them and records the outcome.
The body is kept as the exact JSON text that is signed and sent, so every retry sends the same bytes.
The stream log holds each message once per owning API key; its `id` is the Server-Sent Event id.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import BigInteger, CheckConstraint, Double, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from defiscope.store.models import Base, SurrogateId

MESSAGE_ID_LEN: Final = 200
TARGET_LEN: Final = 2048
KEY_ID_LEN: Final = 32  # `api_keys.key_id`

PENDING: Final = "pending"
DELIVERED: Final = "delivered"
DEAD: Final = "dead"  # out of tries, or refused for good (an address the SSRF policy refuses)
DISABLED: Final = "disabled"  # its endpoint answered 410 Gone
OUTBOX_STATES: Final = (PENDING, DELIVERED, DEAD, DISABLED)


class OutboxRow(Base):
    """One message to one channel, until delivered or given up. Times are unix seconds (float)."""

    __tablename__ = "alert_outbox"
    __table_args__ = (
        UniqueConstraint("message_id", "channel", "target"),
        CheckConstraint("state IN ('pending', 'delivered', 'dead', 'disabled')", name="state"),
        CheckConstraint("channel IN ('webhook', 'email')", name="channel"),
        Index(None, "state", "next_attempt_at"),  # the worker's claim
        Index(None, "channel", "target", "state"),  # 410 Gone: the endpoint's pending rows
    )

    id: Mapped[int] = mapped_column(SurrogateId, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(MESSAGE_ID_LEN))
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(TARGET_LEN))
    secret: Mapped[str | None] = mapped_column(String(200))  # a webhook's whsec_ secret
    owner: Mapped[str] = mapped_column(String(KEY_ID_LEN))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Double)
    next_attempt_at: Mapped[float] = mapped_column(Double)
    lease_until: Mapped[float | None] = mapped_column(Double)
    finished_at: Mapped[float | None] = mapped_column(Double)
    last_status: Mapped[int | None] = mapped_column(Integer)  # the last HTTP status, if any
    last_error: Mapped[str | None] = mapped_column(Text)


class StreamRow(Base):
    """One message as the live stream shows it to its owner; `id` orders the stream and resumes it."""

    __tablename__ = "alert_stream"
    __table_args__ = (
        UniqueConstraint("owner", "message_id"),
        Index(None, "owner", "id"),
        Index(None, "created_at"),  # retention (revision 0014): rows older than the cut-off
    )

    id: Mapped[int] = mapped_column(SurrogateId, primary_key=True, autoincrement=True)
    owner: Mapped[str] = mapped_column(String(KEY_ID_LEN))
    message_id: Mapped[str] = mapped_column(String(MESSAGE_ID_LEN))
    type: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Double)


class StreamPruned(Base):
    """How far retention pruned an owner's stream (revision 0014): a resume from an id below `pruned_through` may
    have missed messages, and is told so instead of silently skipping them."""

    __tablename__ = "alert_stream_pruned"

    owner: Mapped[str] = mapped_column(String(KEY_ID_LEN), primary_key=True)
    pruned_through: Mapped[int] = mapped_column(BigInteger)  # the highest stream id pruned
    pruned_at: Mapped[float] = mapped_column(Double)


class DisabledEndpoint(Base):
    """A webhook URL that answered 410 Gone: nothing more is sent to it until it is enabled again."""

    __tablename__ = "alert_endpoints_disabled"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    target: Mapped[str] = mapped_column(String(TARGET_LEN), primary_key=True)
    disabled_at: Mapped[float] = mapped_column(Double)
    reason: Mapped[str] = mapped_column(Text)
