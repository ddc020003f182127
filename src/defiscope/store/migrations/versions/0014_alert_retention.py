"""Alert retention: how far each owner's stream was pruned, and the stream's creation time indexed.

Revision ID: 0014_alert_retention
Revises: 0013_call_block
Create Date: 2026-12-07

See `defiscope.alerts.retention`: delivered outbox rows and stream rows older than the retention are deleted; each
owner's highest pruned stream id is kept, so a resume from below it is told of the gap.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_alert_retention"
down_revision: str | None = "0013_call_block"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_stream_pruned",
        sa.Column("owner", sa.String(32), nullable=False),
        sa.Column("pruned_through", sa.BigInteger(), nullable=False),
        sa.Column("pruned_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("owner", name=op.f("pk_alert_stream_pruned")),
    )
    op.create_index(op.f("ix_alert_stream_created_at"), "alert_stream", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_alert_stream_created_at"), table_name="alert_stream")
    op.drop_table("alert_stream_pruned")
