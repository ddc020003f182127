"""Published grades: the grades document of each published block of the clock chain, and the signals it raised.

Revision ID: 0016_grades
Revises: 0015_factors
Create Date: 2026-12-07

`grade_publications` keeps the document exactly as it was published (JSON text, verbatim), so `grades --at-block`
returns the same bytes however much was indexed since. `grade_signals` keeps one row per (block, entity, horizon)
that changed state there. Both hang off their block: a reorg rollback removes them with it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_grades"
down_revision: str | None = "0015_factors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _surrogate_id() -> sa.Column[int]:
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
        "grade_publications",
        _surrogate_id(),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("formula_version", sa.String(100), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grade_publications")),
        sa.UniqueConstraint("chain_id", "block_number", name=op.f("uq_grade_publications_chain_id_block_number")),
        _block_key("grade_publications"),
    )
    op.create_table(
        "grade_signals",
        _surrogate_id(),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("entity", sa.String(100), nullable=False),
        sa.Column("horizon", sa.String(20), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grade_signals")),
        sa.UniqueConstraint(
            "chain_id",
            "block_number",
            "entity",
            "horizon",
            name=op.f("uq_grade_signals_chain_id_block_number_entity_horizon"),
        ),
        _block_key("grade_signals"),
    )
    op.create_index(op.f("ix_grade_signals_entity_block_number"), "grade_signals", ["entity", "block_number"])


def downgrade() -> None:
    op.drop_index(op.f("ix_grade_signals_entity_block_number"), table_name="grade_signals")
    op.drop_table("grade_signals")
    op.drop_table("grade_publications")
