"""The migration builds exactly the models' schema, and exact types really are exact in the database."""

from __future__ import annotations

import doctest
from decimal import Decimal

import pytest
import structlog
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

import defiscope.store
import defiscope.tvl.model
from defiscope.store import Repository, create_engine, database, factors, migrate, repository, risk, types
from defiscope.store.models import Base
from defiscope.tvl.model import PriceQuote
from tests.store.storekit import WETH, make_snapshot, quote

TABLES = {"alembic_version", "blocks", "tvl_snapshots", "snapshot_tokens", "provenance_calls", "prices", "api_keys"}
TABLES |= {"protocol_events"}  # 0010: events protocols keep (0004's rebase_reports moved in)
TABLES |= {"yields"}  # 0005: yields per block (issue 7)
TABLES |= {"yield_gaps"}  # 0007: rates that could not be read, and why
TABLES |= {"snapshot_uncounted"}  # 0009: positions left out of a snapshot's totals, and why
TABLES |= {"discovery_logs", "discovery_cursors"}  # 0008: discovery from events, persisted (issue 13)
TABLES |= {"alert_rules", "alerts"}  # 0011: alert rules and the alerts they raised (issue 15)
TABLES |= {"alert_outbox", "alert_stream", "alert_endpoints_disabled"}  # 0012: alert delivery (issue 15)
TABLES |= {"alert_stream_pruned"}  # 0014: alert retention (issue 15)
TABLES |= {"grade_factors"}  # 0015: grade factors per block (issue 16)
TABLES |= {"grade_publications", "grade_signals"}  # 0016: published grades and signals (issue 16)
TABLES |= {"alert_evidence"}  # 0017: alert evidence shared per block (issue 15)
TABLES |= {"index_values"}  # 0018: index values per block (issue 17)
TABLES |= {"risk_scores", "risk_score_changes"}  # 0019: risk scores and their changes (issue 18)
TABLES |= {"job_runs", "job_leases"}  # 0020: scale-out job ledger and leases (issue 19)
TABLES |= {"signal_passes"}  # 0021: the signal rules' passes run as jobs (issue 19)
TABLES |= {"grade_passes"}  # 0025: the blocks the grades jobs judge in block order (issue 19)


def _script_head() -> str:
    """The newest revision of the migration chain (one head: several engineers add revisions)."""
    config = Config()
    config.set_main_option("script_location", "defiscope.store:migrations")
    (head,) = ScriptDirectory.from_config(config).get_heads()
    return str(head)


def _diff(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return list(compare_metadata(context, Base.metadata))


def test_upgrade_head_matches_the_models_exactly(engine: Engine) -> None:
    assert set(inspect(engine).get_table_names()) == TABLES
    assert _diff(engine) == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == _script_head()


def test_the_schema_comparison_notices_drift(engine: Engine) -> None:
    # Negative control: without it, an empty diff could just mean the comparison sees nothing.
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_prices_chain_id_token_timestamp"))
    assert [d[0] for d in _diff(engine) if isinstance(d, tuple)] == ["add_index"]


def test_migrate_twice_is_a_no_op(db_url: str) -> None:
    migrate(db_url)
    migrate(db_url)
    engine = create_engine(db_url)
    try:
        assert _diff(engine) == []
    finally:
        engine.dispose()


def test_0002_adds_nullable_depth_columns_to_existing_rows(db_url: str) -> None:
    config = Config()
    config.set_main_option("script_location", "defiscope.store:migrations")
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0001")
            conn.execute(
                text(
                    "INSERT INTO prices (chain_id, token, block_number, timestamp, usd, source, confidence) "
                    "VALUES (1, :token, 7, 70, '3000.5', 'chainlink:ETH/USD', 0.99)"
                ),
                {"token": WETH},
            )
        migrate(engine)
        assert _diff(engine) == []
        assert Repository(engine).prices(1, WETH) == [
            PriceQuote(1, WETH, Decimal("3000.5"), "chainlink:ETH/USD", 70, 0.99, block_number=7, liquidity_usd=None)
        ]
        with engine.begin() as conn:  # and back down: the columns go, the row stays
            config.attributes["connection"] = conn
            command.downgrade(config, "0001")
        columns = {c["name"] for c in inspect(engine).get_columns("prices")}
        assert "liquidity_usd" not in columns
        assert "price_liquidity_usd" not in {c["name"] for c in inspect(engine).get_columns("snapshot_tokens")}
    finally:
        engine.dispose()


def test_exact_columns_hold_text_on_sqlite_and_numeric_on_postgresql(repo: Repository, engine: Engine) -> None:
    repo.save_snapshot(make_snapshot())
    repo.save_prices([quote(WETH, "0.1", ts=1)])
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            amount_type, amount = conn.execute(
                text("SELECT typeof(amount), amount FROM snapshot_tokens WHERE symbol = 'stETH'")
            ).one()
            assert (amount_type, amount) == ("text", str(2**256 - 1))
            assert conn.execute(text("SELECT typeof(usd), usd FROM prices")).one() == ("text", "0.1")
            # A bare huge number as a call result must not have been turned into a REAL.
            assert conn.execute(text("SELECT result FROM provenance_calls WHERE ordinal = 1")).scalar_one() == str(
                2**255 + 12345
            )
        else:
            types_: dict[str, str] = dict(
                conn.execute(
                    text(
                        "SELECT column_name, format_type(atttypid, atttypmod) FROM information_schema.columns "
                        "JOIN pg_attribute ON attrelid = 'snapshot_tokens'::regclass AND attname = column_name "
                        "WHERE table_name = 'snapshot_tokens' AND column_name IN ('amount', 'value_usd')"
                    )
                ).all()
            )
            assert types_ == {"amount": "numeric(78,0)", "value_usd": "numeric"}
            # The database itself compares the stored value as the exact integer.
            assert (
                conn.execute(
                    text("SELECT count(*) FROM snapshot_tokens WHERE amount = CAST(:v AS numeric)"),
                    {"v": str(2**256 - 1)},
                ).scalar_one()
                == 1
            )
            assert conn.execute(text("SELECT usd FROM prices")).scalar_one() == Decimal("0.1")


@pytest.mark.parametrize("module", [defiscope.store, database, types, repository, factors, risk, defiscope.tvl.model])
def test_module_docstring_examples_run(module: object, tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEFISCOPE_DATABASE_URL", raising=False)
    monkeypatch.setenv("DEFISCOPE_DATA_DIR", str(tmp_path))
    # The examples show structlog's default output; a CLI test run before may have configured it otherwise.
    structlog.reset_defaults()
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert result.failed == 0
    assert result.attempted > 0
