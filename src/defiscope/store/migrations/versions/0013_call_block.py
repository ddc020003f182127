"""The block each provenance call was pinned to (issue 13): `provenance_calls.block_number`.

Revision ID: 0013_call_block
Revises: 0012_alert_outbox
Create Date: 2026-12-07

A call is read at its snapshot's block unless an adapter read an older one (`Reader.at`); rows stored before
this revision were all read at their snapshot's block, so they take it from `tvl_snapshots`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_call_block"
down_revision: str | None = "0012_alert_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("provenance_calls", sa.Column("block_number", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE provenance_calls SET block_number = "
        "(SELECT tvl_snapshots.block_number FROM tvl_snapshots WHERE tvl_snapshots.id = provenance_calls.snapshot_id)"
    )
    with op.batch_alter_table("provenance_calls") as batch:
        batch.alter_column("block_number", existing_type=sa.BigInteger(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("provenance_calls") as batch:
        batch.drop_column("block_number")
