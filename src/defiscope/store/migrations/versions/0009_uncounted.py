"""What a snapshot did not count: positions left out of its totals, and why (issue 13, item 3).

Revision ID: 0009_uncounted
Revises: 0007_yield_gaps
Create Date: 2026-12-06

``snapshot_uncounted`` holds one row per `NotCounted` (a position the adapter could not read, a blacklisted
token, a long-tail side left out by rule); ``amount`` is NULL when it could not be read, the price columns
when the token had none. ``tvl_snapshots.uncounted_count`` keeps their number beside ``unpriced_count``
(0 for snapshots stored before). Types spelled out as in 0001.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0009_uncounted"
down_revision: str | None = "0007_yield_gaps"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _exact_int() -> sa.types.TypeEngine[Any]:
    return sa.Text().with_variant(sa.Numeric(78, 0), "postgresql")


def _exact_decimal() -> sa.types.TypeEngine[Any]:
    return sa.Text().with_variant(sa.Numeric(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("tvl_snapshots") as batch:
        batch.add_column(sa.Column("uncounted_count", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "snapshot_uncounted",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("snapshot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("holder", sa.Text(), nullable=False),
        sa.Column("token", sa.String(42), nullable=True),
        sa.Column("symbol", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("cause", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("amount", _exact_int(), nullable=True),
        sa.Column("decimals", sa.Integer(), nullable=True),
        sa.Column("price_chain_id", sa.BigInteger(), nullable=True),
        sa.Column("price_token", sa.String(42), nullable=True),
        sa.Column("price_usd", _exact_decimal(), nullable=True),
        sa.Column("price_source", sa.String(200), nullable=True),
        sa.Column("price_timestamp", sa.BigInteger(), nullable=True),
        sa.Column("price_confidence", sa.Double(), nullable=True),
        sa.Column("price_block_number", sa.BigInteger(), nullable=True),
        sa.Column("price_liquidity_usd", _exact_decimal(), nullable=True),
        sa.Column("value_usd", _exact_decimal(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snapshot_uncounted")),
        sa.UniqueConstraint("snapshot_id", "ordinal", name=op.f("uq_snapshot_uncounted_snapshot_id_ordinal")),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["tvl_snapshots.id"],
            name=op.f("fk_snapshot_uncounted_snapshot_id_tvl_snapshots"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("kind IN ('tvl', 'borrowed', 'staking', 'pool2')", name=op.f("ck_snapshot_uncounted_kind")),
    )


def downgrade() -> None:
    op.drop_table("snapshot_uncounted")
    with op.batch_alter_table("tvl_snapshots") as batch:
        batch.drop_column("uncounted_count")
