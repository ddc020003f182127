"""Signal passes: which grade publications the signal rules have judged, per confirmation depth (issue 19).

Revision ID: 0021_signal_passes
Revises: 0020_jobs
Create Date: 2026-12-07

Under workers the signal rules judge each publication in a job of their own (`service.jobs.compute`); a row here
says the pass at that block, for the rules of that depth, is done. The key makes a pass run twice store once, and
the newest row is the cursor the next pass continues from, in block order. A rollback drops the rows with their
blocks.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_signal_passes"
down_revision: str | None = "0020_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signal_passes",
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("depth", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["chain_id", "block_number"], ["blocks.chain_id", "blocks.number"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("chain_id", "depth", "block_number"),
    )


def downgrade() -> None:
    op.drop_table("signal_passes")
