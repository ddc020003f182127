"""Alert delivery: the outbox, the live stream's log, and webhook endpoints disabled by 410 Gone.

Revision ID: 0012_alert_outbox
Revises: 0011_alert_rules
Create Date: 2026-12-06

See `defiscope.store.outbox`. No foreign key to the alerts or API keys: a message outlives both (it is delivered
even if its rule is deleted meanwhile), and delivery must not depend on the rules' tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0012_alert_outbox"
down_revision: str | None = "0011_alert_rules"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[Any]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alert_outbox",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.String(2048), nullable=False),
        sa.Column("secret", sa.String(200), nullable=True),
        sa.Column("owner", sa.String(32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("next_attempt_at", sa.Double(), nullable=False),
        sa.Column("lease_until", sa.Double(), nullable=True),
        sa.Column("finished_at", sa.Double(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_outbox")),
        sa.UniqueConstraint("message_id", "channel", "target", name=op.f("uq_alert_outbox_message_id_channel_target")),
        sa.CheckConstraint("state IN ('pending', 'delivered', 'dead', 'disabled')", name=op.f("ck_alert_outbox_state")),
        sa.CheckConstraint("channel IN ('webhook', 'email')", name=op.f("ck_alert_outbox_channel")),
    )
    op.create_index(op.f("ix_alert_outbox_state_next_attempt_at"), "alert_outbox", ["state", "next_attempt_at"])
    op.create_index(op.f("ix_alert_outbox_channel_target_state"), "alert_outbox", ["channel", "target", "state"])
    op.create_table(
        "alert_stream",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("owner", sa.String(32), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_stream")),
        sa.UniqueConstraint("owner", "message_id", name=op.f("uq_alert_stream_owner_message_id")),
    )
    op.create_index(op.f("ix_alert_stream_owner_id"), "alert_stream", ["owner", "id"])
    op.create_table(
        "alert_endpoints_disabled",
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.String(2048), nullable=False),
        sa.Column("disabled_at", sa.Double(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "target", name=op.f("pk_alert_endpoints_disabled")),
    )


def downgrade() -> None:
    op.drop_table("alert_endpoints_disabled")
    op.drop_index(op.f("ix_alert_stream_owner_id"), table_name="alert_stream")
    op.drop_table("alert_stream")
    op.drop_index(op.f("ix_alert_outbox_channel_target_state"), table_name="alert_outbox")
    op.drop_index(op.f("ix_alert_outbox_state_next_attempt_at"), table_name="alert_outbox")
    op.drop_table("alert_outbox")
