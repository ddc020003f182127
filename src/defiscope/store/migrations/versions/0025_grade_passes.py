"""Grade passes: the blocks the grades publisher was told of under workers, and which of them are judged (issue 19).

Revision ID: 0025_grade_passes
Revises: 0021_signal_passes
Create Date: 2026-12-07

Embedded, the publisher judges each block of chain 1 as the indexer stores it: publish if due. Under workers the
follow job records each such block here (not judged) and sends a grades job where one looks due; a grades job,
holding the chain's lease, judges the recorded blocks in block order after the newest judged one, up to its own, so
jobs that run out of order publish what the embedded publisher would. Blocks stored without the publisher (a
backfill) have no row and are never judged, as embedded. A block whose publication keeps failing is given up after
a few tries (embedded: one), judged unpublished with the reason kept in `error`, so the chain's grades go on.
A rollback drops the rows with their blocks.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025_grade_passes"
down_revision: str | None = "0021_signal_passes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "grade_passes",
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("formula_version", sa.String(100), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("judged", sa.Boolean(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["chain_id", "block_number"], ["blocks.chain_id", "blocks.number"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("chain_id", "formula_version", "block_number"),
    )


def downgrade() -> None:
    op.drop_table("grade_passes")
