"""Discovery from events: the raw logs each `LogCursor` source found, and how far it scanned (issue 13).

Revision ID: 0008_discovery
Revises: 0010_protocol_events
Create Date: 2026-12-06

``discovery_logs`` keeps raw logs per (chain, source) so a restart re-parses them instead of rescanning
from a factory's deployment block; ``discovery_cursors`` says up to which block a source's logs are all
stored. A reorg rollback deletes the logs of orphaned blocks and lowers the cursors with them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_discovery"
down_revision: str | None = "0007_yield_gaps"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RAW = sa.Text().with_variant(sa.JSON(), "postgresql")  # as ExactJson: not JSON on SQLite (NUMERIC affinity)


def upgrade() -> None:
    op.create_table(
        "discovery_logs",
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(66), nullable=False),
        sa.Column("raw", _RAW, nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "source", "block_number", "log_index", name=op.f("pk_discovery_logs")),
    )
    op.create_index(op.f("ix_discovery_logs_chain_id_block_number"), "discovery_logs", ["chain_id", "block_number"])
    op.create_table(
        "discovery_cursors",
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("scanned_to", sa.BigInteger(), nullable=False),
        sa.Column("scanned_hash", sa.String(66), nullable=True),
        sa.PrimaryKeyConstraint("chain_id", "source", name=op.f("pk_discovery_cursors")),
    )


def downgrade() -> None:
    op.drop_table("discovery_cursors")
    op.drop_index(op.f("ix_discovery_logs_chain_id_block_number"), table_name="discovery_logs")
    op.drop_table("discovery_logs")
