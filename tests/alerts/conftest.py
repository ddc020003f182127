"""Alert delivery fixtures: the store fixtures (SQLite and PostgreSQL), and a real webhook receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.alerts.kit import Receiver
from tests.store.conftest import db_url, engine, pg_database  # noqa: F401  (fixtures used here too)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver.running() as running:
        yield running
