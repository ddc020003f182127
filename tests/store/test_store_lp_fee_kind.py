"""Revision 0006: the migrated `yields.kind` check accepts every `YieldKind` (lp_fee included) and nothing else,
on SQLite and PostgreSQL; the model's check is built from the same enum, so a kind the migrations lack fails
here rather than at the indexer's first write."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from defiscope.protocols.yields import YieldKind
from defiscope.store import create_engine, migrate

BLOCK = {"chain_id": 1, "number": 7, "hash": "0x" + "ab" * 32, "timestamp": 1_700_000_000}


def _insert(conn: object, kind: str, market: str) -> None:
    conn.execute(  # type: ignore[attr-defined]
        text(
            "INSERT INTO yields (chain_id, block_number, block_hash, block_timestamp, slug, market, asset, symbol,"
            " kind, apr, apy, method) VALUES (1, 7, :hash, 1700000000, 'uniswap-v2', :market, :market, 'A-B',"
            " :kind, '0.1', '0.1', 'test')"
        ),
        {"hash": BLOCK["hash"], "market": market, "kind": kind},
    )


def test_every_yield_kind_is_accepted_and_others_refused(db_url: str) -> None:
    migrate(db_url)
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO blocks (chain_id, number, hash, timestamp)"
                    " VALUES (:chain_id, :number, :hash, :timestamp)"
                ),
                BLOCK,
            )
            for i, kind in enumerate(YieldKind):
                _insert(conn, kind.value, f"0x{i:040x}")
        with engine.begin() as conn:
            assert sorted(conn.execute(text("SELECT kind FROM yields")).scalars()) == sorted(k.value for k in YieldKind)
        with pytest.raises(IntegrityError), engine.begin() as conn:
            _insert(conn, "lending", "0x" + "9" * 40)
    finally:
        engine.dispose()
