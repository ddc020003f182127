"""Alert delivery fixtures: the store fixtures (SQLite and PostgreSQL), and a real webhook receiver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from defiscope.store import create_engine, migrate
from tests.alerts.kit import Receiver
from tests.service.conftest import cli  # noqa: F401  (a CliRunner that restores structlog)
from tests.store.conftest import db_url, engine, pg_database  # noqa: F401  (fixtures used here too)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite store, for tests whose subject is not the backend (the `engine` ones run on both)."""
    eng = create_engine(f"sqlite:///{tmp_path / 'alerts.db'}")
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver.running() as running:
        yield running
