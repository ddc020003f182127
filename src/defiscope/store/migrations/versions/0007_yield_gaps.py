"""Yield gaps: rates an adapter could not read at a block, and why (issue "yields unavailable").

Revision ID: 0007_yield_gaps
Revises: 0006_lp_fee_yields
Create Date: 2026-12-06

One row per missing rate (market "*" when the protocol's rates could not be read at all), kept with the
block's yields: the block must be stored, and a reorg rollback removes its gaps with it. ``kind`` is NULL
for a whole protocol.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_yield_gaps"
down_revision: str | None = "0006_lp_fee_yields"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out: this revision keeps its meaning whatever `YieldKind` becomes.
_KIND = "kind IS NULL OR kind IN ('supply', 'borrow', 'staking', 'lp_fee')"


def upgrade() -> None:
    op.create_table(
        "yield_gaps",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(66), nullable=False),
        sa.Column("block_timestamp", sa.BigInteger(), nullable=False),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("market", sa.String(42), nullable=False),
        sa.Column("asset", sa.String(42), nullable=False),
        sa.Column("symbol", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_yield_gaps")),
        sa.ForeignKeyConstraint(
            ["chain_id", "block_number"],
            ["blocks.chain_id", "blocks.number"],
            name=op.f("fk_yield_gaps_chain_id_block_number_blocks"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(_KIND, name=op.f("ck_yield_gaps_kind")),
    )
    op.create_index(
        op.f("ix_yield_gaps_chain_id_block_number_slug"), "yield_gaps", ["chain_id", "block_number", "slug"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_yield_gaps_chain_id_block_number_slug"), table_name="yield_gaps")
    op.drop_table("yield_gaps")
