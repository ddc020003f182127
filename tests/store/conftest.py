"""Store fixtures: every `db_url`-based test runs on a SQLite file and on a real PostgreSQL.

PostgreSQL: one fresh database per session (`defiscope_test_<random>`), dropped at the end, on the
server named by $DEFISCOPE_TEST_PG_URL (default postgres@127.0.0.1:5432). Each test gets an empty
schema. When the server cannot be reached the PostgreSQL half is skipped with the reason, except
under CI (env `CI` set), where that is a failure: CI must prove both backends.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from defiscope.store import Repository, create_engine, migrate
from defiscope.store.database import mask_url
from defiscope.store.scratch import scratch_database

PG_ENV = "DEFISCOPE_TEST_PG_URL"
DEFAULT_PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database that lives for the test session."""
    server = os.environ.get(PG_ENV, DEFAULT_PG_SERVER)
    with ExitStack() as stack:
        try:
            url = stack.enter_context(scratch_database(server, "defiscope_test"))
        except SQLAlchemyError as exc:
            reason = f"PostgreSQL at {mask_url(server)} unreachable ({type(exc).__name__}); set {PG_ENV}"
            if os.environ.get("CI"):
                pytest.fail(f"CI requires PostgreSQL: {reason}")
            pytest.skip(reason)
        yield url


def emptied(url: str) -> str:
    """``url`` (the session's PostgreSQL database) with its public schema dropped and created again: empty,
    unmigrated."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, unmigrated database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'defiscope.db'}"
    return emptied(request.getfixturevalue("pg_database"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated database's engine."""
    eng = create_engine(db_url)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def repo(engine: Engine) -> Repository:
    return Repository(engine)
