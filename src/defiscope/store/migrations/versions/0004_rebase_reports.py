"""Staking oracle reports (Lido's TokenRebased events), from which APR time series are computed.

Revision ID: 0004_rebase_reports
Revises: 0003_api_keys
Create Date: 2026-11-25

One row per (chain, protocol, report time), with the block it was read from so a reorg removes it.
Share and ether totals are uint256: exact integers (TEXT on SQLite, NUMERIC(78, 0) on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004_rebase_reports"
down_revision: str | None = "0003_api_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _exact_int() -> sa.types.TypeEngine[Any]:
    # Spelled out, as in 0001: this revision keeps its schema whatever `store.types` becomes.
    return sa.Text().with_variant(sa.Numeric(78, 0), "postgresql")


_INTS = ("pre_total_shares", "pre_total_ether", "post_total_shares", "post_total_ether", "shares_minted_as_fees")


def upgrade() -> None:
    op.create_table(
        "rebase_reports",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(66), nullable=False),
        sa.Column("report_timestamp", sa.BigInteger(), nullable=False),
        sa.Column("time_elapsed", sa.BigInteger(), nullable=False),
        *(sa.Column(name, _exact_int(), nullable=False) for name in _INTS),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rebase_reports")),
        sa.UniqueConstraint(
            "chain_id", "slug", "report_timestamp", name=op.f("uq_rebase_reports_chain_id_slug_report_timestamp")
        ),
    )
    op.create_index(
        op.f("ix_rebase_reports_chain_id_block_number"), "rebase_reports", ["chain_id", "block_number"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_rebase_reports_chain_id_block_number"), table_name="rebase_reports")
    op.drop_table("rebase_reports")
