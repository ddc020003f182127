"""Yields of kind ``lp_fee``: swap fees earned by DEX liquidity (issue 4, LP fee APR).

Revision ID: 0006_lp_fee_yields
Revises: 0005_yields
Create Date: 2026-11-25

Only the CHECK constraint on ``yields.kind`` changes. SQLite cannot alter a constraint, so batch mode
rebuilds the table there (rows kept); PostgreSQL drops and re-adds it.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006_lp_fee_yields"
down_revision: str | None = "0005_yields"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out: this revision keeps its meaning whatever `YieldKind` becomes.
_BEFORE = "kind IN ('supply', 'borrow', 'staking')"
_AFTER = "kind IN ('supply', 'borrow', 'staking', 'lp_fee')"


def _replace_kind_check(condition: str) -> None:
    with op.batch_alter_table("yields") as batch:
        batch.drop_constraint(op.f("ck_yields_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_yields_kind"), condition)


def upgrade() -> None:
    _replace_kind_check(_AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM yields WHERE kind = 'lp_fee'")
    _replace_kind_check(_BEFORE)
