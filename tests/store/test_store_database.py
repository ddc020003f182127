"""Finding and opening the database: URLs, defaults, SQLite settings, and errors worth reading."""

from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest
from sqlalchemy import Engine, text

from defiscope.store import DatabaseUnavailableError, DatabaseUrlError, connect, create_engine, database_url, migrate
from defiscope.store.database import mask_url, parse_url


def test_database_url_prefers_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DEFISCOPE_DATABASE_URL", "postgresql://u@db/x")
    monkeypatch.setenv("DEFISCOPE_DATA_DIR", str(tmp_path))
    assert database_url() == "postgresql://u@db/x"

    monkeypatch.delenv("DEFISCOPE_DATABASE_URL")
    assert database_url() == f"sqlite:///{tmp_path / 'defiscope.db'}"

    monkeypatch.delenv("DEFISCOPE_DATA_DIR")
    assert database_url() == f"sqlite:///{Path(platformdirs.user_data_dir('defiscope')) / 'defiscope.db'}"


def test_default_sqlite_location_is_created_on_first_use(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DEFISCOPE_DATABASE_URL", raising=False)
    monkeypatch.setenv("DEFISCOPE_DATA_DIR", str(tmp_path / "not" / "yet"))
    migrate()
    assert (tmp_path / "not" / "yet" / "defiscope.db").is_file()


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}", busy_timeout_s=2.5)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() == 2500
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg"),
        ("postgres://u@h/db", "postgresql+psycopg"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg"),
        ("sqlite:////tmp/x.db", "sqlite"),
    ],
)
def test_postgresql_urls_go_through_psycopg3(given: str, driver: str) -> None:
    assert parse_url(given).drivername == driver


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "cannot parse database URL 'not a url'"),
        ("mysql://root:s3cret@db/defi", "database URL 'mysql://root:***@db/defi' uses unsupported backend 'mysql'"),
        (
            "postgresql+nodriver://root:s3cret@db/defi",
            "no driver for database URL 'postgresql+nodriver://root:***@db/defi'",
        ),
    ],
)
def test_bad_urls_raise_a_typed_one_line_error_without_the_password(url: str, expected: str) -> None:
    with pytest.raises(DatabaseUrlError) as info:
        create_engine(url)
    message = str(info.value)
    assert message.startswith(expected)
    assert "\n" not in message
    assert "s3cret" not in message
    assert "DEFISCOPE_DATABASE_URL" in message


def test_unreachable_postgresql_raises_a_typed_one_line_error() -> None:
    url = "postgresql://bob:s3cret@127.0.0.1:1/defiscope?connect_timeout=2"  # nothing listens on port 1
    for attempt in (connect, migrate):
        with pytest.raises(DatabaseUnavailableError) as info:
            attempt(url)
        message = str(info.value)
        assert message.startswith("cannot use database 'postgresql+psycopg://bob:***@127.0.0.1:1/defiscope")
        assert "\n" not in message
        assert "s3cret" not in message
        assert "check that it is running" in message


def test_unopenable_sqlite_file_raises_a_typed_error(tmp_path: Path) -> None:
    (tmp_path / "a-directory.db").mkdir()
    with pytest.raises(DatabaseUnavailableError, match=r"a-directory\.db"):
        connect(f"sqlite:///{tmp_path / 'a-directory.db'}")


def test_mask_url_hides_passwords_even_in_unparseable_urls() -> None:
    assert mask_url("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"
    assert mask_url("weird://u:pw@") == "weird://u:***@"


def test_connect_returns_a_working_engine(db_url: str) -> None:
    engine: Engine = connect(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()
