"""Index run state: at each rebalance row, what a live tracker carries on, so a restart resumes there (issue 17).

Revision ID: 0022_index_state
Revises: 0018_index_values
Create Date: 2026-12-07

A nullable JSON column on `index_values`: the raw holdings, the benchmarks' units, the level's scale and the last
rebalance's time and weights (exact fractions as text). Rows without a rebalance keep NULL; a reorg rollback
drops the state with its row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0022_index_state"
down_revision: str | None = "0019_risk_scores"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    # Not JSON on SQLite: that type name gets NUMERIC affinity, which turns big bare numbers into REAL.
    return sa.Text().with_variant(sa.JSON(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("index_values") as batch:
        batch.add_column(sa.Column("run_state", _json(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("index_values") as batch:
        batch.drop_column("run_state")
