"""Alert rules (owned by an API key) and the alerts they raised.

Revision ID: 0011_alert_rules
Revises: 0010_protocol_events
Create Date: 2026-12-06

`alert_rules`: kind, chain, params as validated JSON, confirmations ("finalized" or a block count as text),
cool-down, channels, the webhook signing secret and a revision counter the evaluator polls. `alerts`: one row per
alert with its block (number, hash, time), value, previous value, threshold and evidence, its state
(firing/resolved/retracted) and the block that resolved it. Alerts have no foreign key to `blocks`: a retracted
alert stays after its block is rolled back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0011_alert_rules"
down_revision: str | None = "0010_protocol_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    # Not JSON on SQLite: that type name gets NUMERIC affinity, which turns big bare numbers into REAL.
    return sa.Text().with_variant(sa.JSON(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("owner_key_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("params", _json(), nullable=False),
        sa.Column("confirmations", sa.String(16), nullable=False),
        sa.Column("cooldown_blocks", sa.BigInteger(), nullable=False),
        sa.Column("channels", _json(), nullable=False),
        sa.Column("webhook_secret", sa.String(100), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_key_id"],
            ["api_keys.key_id"],
            name=op.f("fk_alert_rules_owner_key_id_api_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_rules")),
    )
    op.create_index(op.f("ix_alert_rules_owner_key_id"), "alert_rules", ["owner_key_id"])
    op.create_index(op.f("ix_alert_rules_chain_id"), "alert_rules", ["chain_id"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("rule_id", sa.String(32), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(66), nullable=False),
        sa.Column("block_timestamp", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("previous", sa.Text(), nullable=True),
        sa.Column("threshold", sa.Text(), nullable=True),
        sa.Column("evidence", _json(), nullable=False),
        sa.Column("resolved_block_number", sa.BigInteger(), nullable=True),
        sa.Column("resolved_block_hash", sa.String(66), nullable=True),
        sa.Column("resolved_block_timestamp", sa.BigInteger(), nullable=True),
        sa.Column("resolved_value", sa.Text(), nullable=True),
        sa.CheckConstraint("state IN ('firing', 'resolved', 'retracted')", name=op.f("ck_alerts_state")),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["alert_rules.id"], name=op.f("fk_alerts_rule_id_alert_rules"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index(
        op.f("ix_alerts_rule_id_chain_id_subject_block_number"),
        "alerts",
        ["rule_id", "chain_id", "subject", "block_number"],
    )
    op.create_index(op.f("ix_alerts_chain_id_block_number"), "alerts", ["chain_id", "block_number"])
    op.create_index(op.f("ix_alerts_chain_id_resolved_block_number"), "alerts", ["chain_id", "resolved_block_number"])


def downgrade() -> None:
    op.drop_index(op.f("ix_alerts_chain_id_resolved_block_number"), table_name="alerts")
    op.drop_index(op.f("ix_alerts_chain_id_block_number"), table_name="alerts")
    op.drop_index(op.f("ix_alerts_rule_id_chain_id_subject_block_number"), table_name="alerts")
    op.drop_table("alerts")
    op.drop_index(op.f("ix_alert_rules_chain_id"), table_name="alert_rules")
    op.drop_index(op.f("ix_alert_rules_owner_key_id"), table_name="alert_rules")
    op.drop_table("alert_rules")
