"""Alert evidence shared per block, apart from the alert's mutable state (issue 15): `alert_evidence`.

Revision ID: 0017_alert_evidence
Revises: 0016_grades
Create Date: 2026-12-07

A TVL rule's evidence carries its protocol's snapshot detail (priced tokens and calls, ~4 KB), the same for every
rule watching that protocol at that block. It moves to one `alert_evidence` row per (chain, block, detail) that
the alerts refer to (`alerts.evidence_id`); the alert's own evidence keeps the entry's key with null, so the
entry's place among the keys is kept. Resolving or retracting an alert then rewrites a small row. Existing
alerts' details move on upgrade (identical ones shared) and back into each alert on downgrade.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0017_alert_evidence"
down_revision: str | None = "0016_grades"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHARED: str = "snapshot_detail"  # the evidence entry 0017 moves out of existing alerts
_FK: str = "fk_alerts_evidence_id_alert_evidence"


def _json() -> sa.types.TypeEngine[Any]:
    # Not JSON on SQLite: that type name gets NUMERIC affinity, which turns big bare numbers into REAL.
    return sa.Text().with_variant(sa.JSON(), "postgresql")


_alerts = sa.table(
    "alerts",
    sa.column("id", sa.String()),
    sa.column("chain_id", sa.BigInteger()),
    sa.column("block_number", sa.BigInteger()),
    sa.column("evidence", _json()),
    sa.column("evidence_id", sa.String()),
)
_evidence = sa.table(
    "alert_evidence",
    sa.column("id", sa.String()),
    sa.column("chain_id", sa.BigInteger()),
    sa.column("block_number", sa.BigInteger()),
    sa.column("name", sa.String()),
    sa.column("body", _json()),
)


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _load(value: Any) -> Any:
    return json.loads(value) if _sqlite() else value  # SQLite: text; PostgreSQL: decoded JSON


def _dump(value: Any) -> Any:
    return json.dumps(value, allow_nan=False) if _sqlite() else value


def upgrade() -> None:
    op.create_table(
        "alert_evidence",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("body", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_evidence")),
    )
    column = sa.Column("evidence_id", sa.String(32), sa.ForeignKey("alert_evidence.id", name=_FK), nullable=True)
    op.add_column("alerts", column, inline_references=_sqlite())  # SQLite cannot add a constraint afterwards
    op.create_index(op.f("ix_alerts_evidence_id"), "alerts", ["evidence_id"])
    _move_out()


def _move_out() -> None:
    """Each existing alert's snapshot detail into a shared row (one per identical detail at a block)."""
    conn = op.get_bind()
    shared: dict[tuple[int, int, str], str] = {}
    rows = conn.execute(sa.select(_alerts.c.id, _alerts.c.chain_id, _alerts.c.block_number, _alerts.c.evidence))
    for alert_id, chain_id, number, stored in rows.fetchall():
        evidence = _load(stored)
        if not isinstance(evidence, dict) or evidence.get(SHARED) is None:
            continue
        key = (chain_id, number, json.dumps(evidence[SHARED], sort_keys=True))
        if key not in shared:
            shared[key] = "evd_" + secrets.token_hex(12)
            values = {"id": shared[key], "chain_id": chain_id, "block_number": number, "name": SHARED}
            conn.execute(sa.insert(_evidence).values(**values, body=_dump(evidence[SHARED])))
        evidence[SHARED] = None  # the key keeps its place among the others
        conn.execute(
            sa.update(_alerts).where(_alerts.c.id == alert_id).values(evidence=_dump(evidence), evidence_id=shared[key])
        )


def downgrade() -> None:
    conn = op.get_bind()
    joined = sa.select(_alerts.c.id, _alerts.c.evidence, _evidence.c.name, _evidence.c.body).join(
        _evidence, _evidence.c.id == _alerts.c.evidence_id
    )
    for alert_id, stored, name, body in conn.execute(joined).fetchall():
        evidence = _load(stored)
        evidence[name] = _load(body)
        conn.execute(sa.update(_alerts).where(_alerts.c.id == alert_id).values(evidence=_dump(evidence)))
    op.drop_index(op.f("ix_alerts_evidence_id"), table_name="alerts")
    with op.batch_alter_table("alerts") as batch:  # SQLite drops a referencing column only by copying the table
        if not _sqlite():
            batch.drop_constraint(_FK, type_="foreignkey")
        batch.drop_column("evidence_id")
    op.drop_table("alert_evidence")
