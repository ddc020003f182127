"""Grade factors: each graded entity's factor values per block of the clock chain (issue 16).

Revision ID: 0015_factors
Revises: 0014_alert_retention
Create Date: 2026-12-07

One row per (chain, block, entity, factor): an exact decimal value, or NULL and the reason it is missing, with
the newest input block (chain and number, and the clock chain's block at or before its time). The block must be
stored: a reorg rollback removes its factors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0015_factors"
down_revision: str | None = "0014_alert_retention"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _exact_decimal() -> sa.types.TypeEngine[Any]:
    # Spelled out, as in 0001: this revision keeps its schema whatever `store.types` becomes.
    return sa.Text().with_variant(sa.Numeric(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "grade_factors",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("entity", sa.String(100), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("value", _exact_decimal(), nullable=True),
        sa.Column("missing_reason", sa.Text(), nullable=True),
        sa.Column("inputs_chain_id", sa.BigInteger(), nullable=True),
        sa.Column("inputs_block_number", sa.BigInteger(), nullable=True),
        sa.Column("inputs_clock_block", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grade_factors")),
        sa.UniqueConstraint(
            "chain_id",
            "block_number",
            "entity",
            "name",
            name=op.f("uq_grade_factors_chain_id_block_number_entity_name"),
        ),
        sa.ForeignKeyConstraint(
            ["chain_id", "block_number"],
            ["blocks.chain_id", "blocks.number"],
            name=op.f("fk_grade_factors_chain_id_block_number_blocks"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "(value IS NULL) <> (missing_reason IS NULL)", name=op.f("ck_grade_factors_value_or_reason")
        ),
    )


def downgrade() -> None:
    op.drop_table("grade_factors")
