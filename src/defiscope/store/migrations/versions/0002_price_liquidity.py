"""Price depth: `liquidity_usd` of DEX-derived quotes, on `prices` and inlined on `snapshot_tokens`.

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-26

`PriceQuote.liquidity_usd` is the USD depth of the core-asset side of the pool(s) a DEX price came
from (the engine caps a holding's value by it); NULL for feeds and oracles, and for rows written
before this revision. Exact type spelled out as in 0001: TEXT on SQLite, NUMERIC on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, column) pairs this revision adds.
COLUMNS = (("snapshot_tokens", "price_liquidity_usd"), ("prices", "liquidity_usd"))


def _exact_decimal() -> sa.types.TypeEngine[Any]:
    return sa.Text().with_variant(sa.Numeric(), "postgresql")


def upgrade() -> None:
    for table, column in COLUMNS:
        # Batch mode: a plain ADD COLUMN on PostgreSQL, a table rebuild only where SQLite needs one.
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column(column, _exact_decimal(), nullable=True))


def downgrade() -> None:
    for table, column in reversed(COLUMNS):
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column)
