"""Index values: each shipped index's live value, benchmarks and holdings per stored block (issue 17).

Revision ID: 0018_index_values
Revises: 0017_alert_evidence
Create Date: 2026-12-07

One row per (index, chain, block): the index level (exact decimal), its raw holdings and their weights at the
block's prices, or NULL and the reason
(not built yet: the eligibility rule leaves nothing; a held token has no price there). The block must be stored:
a reorg rollback removes its values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0018_index_values"
down_revision: str | None = "0017_alert_evidence"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _exact_decimal() -> sa.types.TypeEngine[Any]:
    # Spelled out, as in 0001: this revision keeps its schema whatever `store.types` becomes.
    return sa.Text().with_variant(sa.Numeric(), "postgresql")


def _json() -> sa.types.TypeEngine[Any]:
    # Not JSON on SQLite: that type name gets NUMERIC affinity, which turns big bare numbers into REAL.
    return sa.Text().with_variant(sa.JSON(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "index_values",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("index_id", sa.String(100), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("value", _exact_decimal(), nullable=True),
        sa.Column("equal_weight", _exact_decimal(), nullable=True),
        sa.Column("weth", _exact_decimal(), nullable=True),
        sa.Column("holdings", _json(), nullable=False),
        sa.Column("weights", _json(), nullable=False),
        sa.Column("rebalanced", sa.Boolean(), nullable=False),
        sa.Column("missing_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_index_values")),
        sa.UniqueConstraint(
            "index_id", "chain_id", "block_number", name=op.f("uq_index_values_index_id_chain_id_block_number")
        ),
        sa.ForeignKeyConstraint(
            ["chain_id", "block_number"],
            ["blocks.chain_id", "blocks.number"],
            name=op.f("fk_index_values_chain_id_block_number_blocks"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("(value IS NULL) <> (missing_reason IS NULL)", name=op.f("ck_index_values_value_or_reason")),
    )
    # rollback_from deletes by (chain, block >= n) over every index
    op.create_index(op.f("ix_index_values_chain_id_block_number"), "index_values", ["chain_id", "block_number"])


def downgrade() -> None:
    op.drop_index(op.f("ix_index_values_chain_id_block_number"), table_name="index_values")
    op.drop_table("index_values")
