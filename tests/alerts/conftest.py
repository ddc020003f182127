"""Alert fixtures: a store with two API keys, a sink that records what it is given, the devnet's engine.

The sink is our own interface (`AlertSink`), recorded here; the outbox that delivers is wired by `serve`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from sqlalchemy.orm import Session

from defiscope.alerts.message import AlertMessage, Channel
from defiscope.api.keys import new_key
from defiscope.store import Repository
from defiscope.store.keys import KeyStore, StoredKey
from tests.service.conftest import any_repo, cli, engine, repo, sqlite_url  # noqa: F401  (fixtures reused)
from tests.store.conftest import db_url, pg_database  # noqa: F401


@dataclass
class RecordingSink:
    """Keeps every message with its channels and owner, in the order given."""

    given: list[tuple[AlertMessage, tuple[Channel, ...], str]] = field(default_factory=list)

    def put(self, session: Session, message: AlertMessage, channels: tuple[Channel, ...], owner: str) -> None:
        assert session.in_transaction(), "the sink is called inside the transaction that stores the alert"
        self.given.append((message, channels, owner))

    def events(self) -> list[tuple[str, int]]:
        return [(m.type, m.block_number) for m, _, _ in self.given]


@dataclass(frozen=True)
class Keyed:
    key: str
    stored: StoredKey


def add_key(store: Repository, name: str) -> Keyed:
    key, stored = new_key(name)
    KeyStore(store.engine).add(stored)
    return Keyed(key, stored)


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def owner(repo: Repository) -> Keyed:  # noqa: F811
    return add_key(repo, "alerts-owner")
