"""Revenue knobs (issue 16): each rate's fee share, read from the protocol's knob at the rate's block.

Revision ID: 0024_revenue_knobs
Revises: 0018_index_values
Create Date: 2026-12-07

`yields.fee_share` is the protocol's share of the fees the rate pays as an exact fraction "numerator/denominator"
(a reserve factor 1000 bps is "1/10"), `fee_share_source` the knob and its raw value, or — with `fee_share` NULL —
why the knob could not be read. Both NULL: no knob splits this rate (supply rates; rows stored before this revision).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_revenue_knobs"
down_revision: str | None = "0022_index_state"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("yields", sa.Column("fee_share", sa.Text(), nullable=True))
    op.add_column("yields", sa.Column("fee_share_source", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("yields") as batch:
        batch.drop_column("fee_share_source")
        batch.drop_column("fee_share")
