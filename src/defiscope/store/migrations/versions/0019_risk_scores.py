"""Risk scores: each protocol's risk score per scored block and every score change with its cause (issue 18).

Revision ID: 0019_risk_scores
Revises: 0018_index_values
Create Date: 2026-12-07

`risk_scores`: one row per (protocol, chain, block) scored: the composite, the score (pillars with their rules and
inputs) and the profile document. `risk_score_changes`: one row per pillar or composite score that moved at a
block, naming the input that changed and the rule that set the new score. Both follow their block: a reorg
rollback removes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0019_risk_scores"
down_revision: str | None = "0018_index_values"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    # Not JSON on SQLite: that type name gets NUMERIC affinity, which turns big bare numbers into REAL.
    return sa.Text().with_variant(sa.JSON(), "postgresql")


def _id() -> sa.Column[Any]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False)


def _block_key(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["chain_id", "block_number"],
        ["blocks.chain_id", "blocks.number"],
        name=op.f(f"fk_{table}_chain_id_block_number_blocks"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "risk_scores",
        _id(),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("formula_version", sa.String(100), nullable=False),
        sa.Column("composite", sa.Integer(), nullable=True),
        sa.Column("score", _json(), nullable=False),
        sa.Column("profile", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_scores")),
        sa.UniqueConstraint("slug", "chain_id", "block_number", name=op.f("uq_risk_scores_slug_chain_id_block_number")),
        _block_key("risk_scores"),
    )
    op.create_index(op.f("ix_risk_scores_chain_id_block_number"), "risk_scores", ["chain_id", "block_number"])
    op.create_table(
        "risk_score_changes",
        _id(),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("subject", sa.String(100), nullable=False),
        sa.Column("input", sa.Text(), nullable=False),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("before", sa.Integer(), nullable=True),
        sa.Column("after", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_score_changes")),
        _block_key("risk_score_changes"),
    )
    op.create_index(
        op.f("ix_risk_score_changes_slug_chain_id_block_number"),
        "risk_score_changes",
        ["slug", "chain_id", "block_number"],
    )
    op.create_index(
        op.f("ix_risk_score_changes_chain_id_block_number"), "risk_score_changes", ["chain_id", "block_number"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_risk_score_changes_chain_id_block_number"), table_name="risk_score_changes")
    op.drop_index(op.f("ix_risk_score_changes_slug_chain_id_block_number"), table_name="risk_score_changes")
    op.drop_table("risk_score_changes")
    op.drop_index(op.f("ix_risk_scores_chain_id_block_number"), table_name="risk_scores")
    op.drop_table("risk_scores")
