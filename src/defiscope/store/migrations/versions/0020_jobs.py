"""Scale-out jobs: the job ledger by idempotency key and the leases of single-holder roles (issue 19).

Revision ID: 0020_jobs
Revises: 0018_index_values
Create Date: 2026-12-07

`job_runs`: one row per job key (state running/done/failed/dead, tries, holder, result or error): a job delivered
again after it is done returns at once. `job_leases`: a named role (a chain's head-follower) held by one worker
until it expires unless renewed; `token` grows at every change of holder.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_jobs"
down_revision: str | None = "0024_revenue_knobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("started_at", sa.Double(), nullable=False),
        sa.Column("finished_at", sa.Double(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_job_runs")),
        sa.CheckConstraint("state IN ('running', 'done', 'failed', 'dead')", name=op.f("ck_job_runs_state")),
    )
    op.create_index(op.f("ix_job_runs_kind_state"), "job_runs", ["kind", "state"])
    op.create_table(
        "job_leases",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.Column("acquired_at", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_leases")),
    )


def downgrade() -> None:
    op.drop_table("job_leases")
    op.drop_index(op.f("ix_job_runs_kind_state"), table_name="job_runs")
    op.drop_table("job_runs")
