"""Yields per block: lending supply/borrow and staking rates, as exact decimals.

Revision ID: 0005_yields
Revises: 0004_rebase_reports
Create Date: 2026-11-25

One row per (chain, block, protocol, market, asset, kind); the block must be stored (a reorg rollback
removes its yields with it). APR and APY are exact decimals (TEXT on SQLite, NUMERIC on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005_yields"
down_revision: str | None = "0004_rebase_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _exact_decimal() -> sa.types.TypeEngine[Any]:
    # Spelled out, as in 0001: this revision keeps its schema whatever `store.types` becomes.
    return sa.Text().with_variant(sa.Numeric(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "yields",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(66), nullable=False),
        sa.Column("block_timestamp", sa.BigInteger(), nullable=False),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("market", sa.String(42), nullable=False),
        sa.Column("asset", sa.String(42), nullable=False),
        sa.Column("symbol", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("apr", _exact_decimal(), nullable=False),
        sa.Column("apy", _exact_decimal(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_yields")),
        sa.UniqueConstraint(
            "chain_id",
            "block_number",
            "slug",
            "market",
            "asset",
            "kind",
            name=op.f("uq_yields_chain_id_block_number_slug_market_asset_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["chain_id", "block_number"],
            ["blocks.chain_id", "blocks.number"],
            name=op.f("fk_yields_chain_id_block_number_blocks"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("kind IN ('supply', 'borrow', 'staking')", name=op.f("ck_yields_kind")),
    )


def downgrade() -> None:
    op.drop_table("yields")
