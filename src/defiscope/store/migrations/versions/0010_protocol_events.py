"""Protocol events: any event a protocol's adapter asks to keep, in one generic table; 0004's rebase reports move in.

Revision ID: 0010_protocol_events
Revises: 0007_yield_gaps
Create Date: 2026-12-06

One row per (chain, protocol, kind, key), with its block (number and hash, so a reorg removes it), its log
index and transaction, and its fields as JSON (integers of any size exact: TEXT on SQLite, JSON on
PostgreSQL). The rows of rebase_reports become events of kind "token_rebased" keyed by their report time,
their fields in the payload; 0004 kept no log index or transaction, so those stay NULL on migrated rows.
Downgrade moves the "token_rebased" events back into a rebase_reports table and drops the rest.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0010_protocol_events"
down_revision: str | None = "0009_uncounted"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out: this revision keeps its meaning whatever the models and `TOKEN_REBASED_KIND` become.
_KIND = "token_rebased"
_INTS = ("pre_total_shares", "pre_total_ether", "post_total_shares", "post_total_ether", "shares_minted_as_fees")
_FIELDS = ("report_timestamp", "time_elapsed", *_INTS)


def _id() -> sa.types.TypeEngine[Any]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine[Any]:
    # Not JSON on SQLite: that type name gets NUMERIC affinity, which turns big bare numbers into REAL.
    return sa.Text().with_variant(sa.JSON(), "postgresql")


def _exact_int() -> sa.types.TypeEngine[Any]:
    return sa.Text().with_variant(sa.Numeric(78, 0), "postgresql")


def _reports_table() -> sa.Table:
    return sa.Table(
        "rebase_reports",
        sa.MetaData(),
        sa.Column("chain_id", sa.BigInteger()),
        sa.Column("slug", sa.String(100)),
        sa.Column("block_number", sa.BigInteger()),
        sa.Column("block_hash", sa.String(66)),
        sa.Column("report_timestamp", sa.BigInteger()),
        sa.Column("time_elapsed", sa.BigInteger()),
        *(sa.Column(name, _exact_int()) for name in _INTS),
    )


def _events_table() -> sa.Table:
    return sa.Table(
        "protocol_events",
        sa.MetaData(),
        sa.Column("chain_id", sa.BigInteger()),
        sa.Column("slug", sa.String(100)),
        sa.Column("kind", sa.String(100)),
        sa.Column("key", sa.String(200)),
        sa.Column("block_number", sa.BigInteger()),
        sa.Column("block_hash", sa.String(66)),
        sa.Column("log_index", sa.Integer()),
        sa.Column("tx_hash", sa.String(66)),
        sa.Column("payload", _json()),
    )


def _payload_bind(payload: dict[str, int], dialect: str) -> Any:
    # SQLite's column is TEXT: write the JSON text ourselves so big integers stay exact (no float on the way).
    return payload if dialect == "postgresql" else json.dumps(payload)


def _exact_bind(value: int, dialect: str) -> Decimal | str:
    return Decimal(value) if dialect == "postgresql" else str(value)


def _payload_load(value: Any) -> dict[str, Any]:
    return dict(json.loads(value) if isinstance(value, str) else value)


def upgrade() -> None:
    op.create_table(
        "protocol_events",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=True),
        sa.Column("tx_hash", sa.String(66), nullable=True),
        sa.Column("payload", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protocol_events")),
        sa.UniqueConstraint("chain_id", "slug", "kind", "key", name=op.f("uq_protocol_events_chain_id_slug_kind_key")),
    )
    op.create_index(
        op.f("ix_protocol_events_chain_id_slug_kind_block_number"),
        "protocol_events",
        ["chain_id", "slug", "kind", "block_number"],
    )
    op.create_index(op.f("ix_protocol_events_chain_id_block_number"), "protocol_events", ["chain_id", "block_number"])

    bind = op.get_bind()
    reports, events = _reports_table(), _events_table()
    rows = [
        {
            "chain_id": row.chain_id,
            "slug": row.slug,
            "kind": _KIND,
            "key": str(row.report_timestamp),
            "block_number": row.block_number,
            "block_hash": row.block_hash,
            "log_index": None,
            "tx_hash": None,
            "payload": _payload_bind({name: int(getattr(row, name)) for name in _FIELDS}, bind.dialect.name),
        }
        for row in bind.execute(sa.select(reports).order_by(reports.c.chain_id, reports.c.block_number))
    ]
    if rows:
        bind.execute(sa.insert(events), rows)

    op.drop_index(op.f("ix_rebase_reports_chain_id_block_number"), table_name="rebase_reports")
    op.drop_table("rebase_reports")


def downgrade() -> None:
    op.create_table(
        "rebase_reports",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
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

    bind = op.get_bind()
    reports, events = _reports_table(), _events_table()
    rows = []
    for row in bind.execute(sa.select(events).where(events.c.kind == _KIND)):
        payload = _payload_load(row.payload)
        values: dict[str, Any] = {"chain_id": row.chain_id, "slug": row.slug}
        values |= {"block_number": row.block_number, "block_hash": row.block_hash}
        values |= {name: int(payload[name]) for name in ("report_timestamp", "time_elapsed")}
        # Exact-int columns: decimal text on SQLite (TEXT), a Decimal on PostgreSQL, as `ExactInt` binds them.
        values |= {name: _exact_bind(int(payload[name]), bind.dialect.name) for name in _INTS}
        rows.append(values)
    if rows:
        bind.execute(sa.insert(reports), rows)

    op.drop_index(op.f("ix_protocol_events_chain_id_block_number"), table_name="protocol_events")
    op.drop_index(op.f("ix_protocol_events_chain_id_slug_kind_block_number"), table_name="protocol_events")
    op.drop_table("protocol_events")
