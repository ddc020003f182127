"""Initial schema: blocks, tvl_snapshots, snapshot_tokens, provenance_calls, prices.

Revision ID: 0001
Revises:
Create Date: 2025-11-25

Column types are spelled out here rather than imported from `defiscope.store.types`, so this
revision keeps creating the same schema whatever those classes become later. The exact types are
TEXT on SQLite and NUMERIC on PostgreSQL (see `defiscope.store.types` for why).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _exact_int() -> sa.types.TypeEngine[Any]:
    return sa.Text().with_variant(sa.Numeric(78, 0), "postgresql")


def _exact_decimal() -> sa.types.TypeEngine[Any]:
    return sa.Text().with_variant(sa.Numeric(), "postgresql")


def _json() -> sa.types.TypeEngine[Any]:
    # Not JSON on SQLite: that type name gets NUMERIC affinity, which turns big bare numbers into REAL.
    return sa.Text().with_variant(sa.JSON(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "blocks",
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(66), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "number", name="pk_blocks"),
    )
    op.create_table(
        "tvl_snapshots",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(66), nullable=False),
        sa.Column("block_timestamp", sa.BigInteger(), nullable=False),
        sa.Column("tvl_usd", _exact_decimal(), nullable=False),
        sa.Column("borrowed_usd", _exact_decimal(), nullable=False),
        sa.Column("staking_usd", _exact_decimal(), nullable=False),
        sa.Column("pool2_usd", _exact_decimal(), nullable=False),
        sa.Column("unpriced_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tvl_snapshots"),
        sa.UniqueConstraint("slug", "chain_id", "block_number", name="uq_tvl_snapshots_slug_chain_id_block_number"),
        sa.ForeignKeyConstraint(
            ["chain_id", "block_number"],
            ["blocks.chain_id", "blocks.number"],
            name="fk_tvl_snapshots_chain_id_block_number_blocks",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_tvl_snapshots_slug_chain_id_block_timestamp",
        "tvl_snapshots",
        ["slug", "chain_id", "block_timestamp"],
    )
    op.create_index("ix_tvl_snapshots_slug_block_timestamp", "tvl_snapshots", ["slug", "block_timestamp"])
    op.create_index("ix_tvl_snapshots_chain_id_block_number", "tvl_snapshots", ["chain_id", "block_number"])

    op.create_table(
        "snapshot_tokens",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("snapshot_id", _id(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(42), nullable=False),
        sa.Column("symbol", sa.Text(), nullable=False),
        sa.Column("decimals", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount", _exact_int(), nullable=False),
        sa.Column("price_chain_id", sa.BigInteger(), nullable=True),
        sa.Column("price_token", sa.String(42), nullable=True),
        sa.Column("price_usd", _exact_decimal(), nullable=True),
        sa.Column("price_source", sa.String(200), nullable=True),
        sa.Column("price_timestamp", sa.BigInteger(), nullable=True),
        sa.Column("price_confidence", sa.Double(), nullable=True),
        sa.Column("price_block_number", sa.BigInteger(), nullable=True),
        sa.Column("value_usd", _exact_decimal(), nullable=True),
        sa.Column("unpriced_reason", sa.Text(), nullable=True),
        sa.Column("receipt_of", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_snapshot_tokens"),
        sa.UniqueConstraint("snapshot_id", "ordinal", name="uq_snapshot_tokens_snapshot_id_ordinal"),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["tvl_snapshots.id"],
            name="fk_snapshot_tokens_snapshot_id_tvl_snapshots",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("kind IN ('tvl', 'borrowed', 'staking', 'pool2')", name="ck_snapshot_tokens_kind"),
    )
    op.create_table(
        "provenance_calls",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("snapshot_id", _id(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(42), nullable=False),
        sa.Column("function", sa.Text(), nullable=False),
        sa.Column("args", _json(), nullable=False),
        sa.Column("result", _json(), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_provenance_calls"),
        sa.UniqueConstraint("snapshot_id", "ordinal", name="uq_provenance_calls_snapshot_id_ordinal"),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["tvl_snapshots.id"],
            name="fk_provenance_calls_snapshot_id_tvl_snapshots",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "prices",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.String(42), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("usd", _exact_decimal(), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("confidence", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_prices"),
        sa.UniqueConstraint(
            "chain_id", "token", "source", "timestamp", name="uq_prices_chain_id_token_source_timestamp"
        ),
    )
    op.create_index("ix_prices_chain_id_token_timestamp", "prices", ["chain_id", "token", "timestamp"])
    op.create_index("ix_prices_chain_id_block_number", "prices", ["chain_id", "block_number"])


def downgrade() -> None:
    op.drop_table("prices")
    op.drop_table("provenance_calls")
    op.drop_table("snapshot_tokens")
    op.drop_table("tvl_snapshots")
    op.drop_table("blocks")
