"""Alert fixtures: the store fixtures (SQLite and PostgreSQL), a real webhook receiver (delivery), a sink that records
what rule evaluation gives it, API keys, and chain 1's TVL engine on the devnet (`tvl_engine`: `engine` is the
store's SQLAlchemy engine here).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from defiscope.alerts.message import AlertMessage, Channel
from defiscope.api.keys import new_key
from defiscope.devnet import DevnetChain
from defiscope.devnet.deployment import devnet_deployment
from defiscope.store import Repository, create_engine, migrate
from defiscope.store.keys import KeyStore, StoredKey
from defiscope.tvl.engine import TvlEngine
from tests.alerts.kit import Receiver
from tests.service.conftest import any_repo, cli, devnet_home, make_engine, repo, sqlite_url  # noqa: F401  (fixtures reused)
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


@pytest.fixture
async def tvl_engine(eth_chain: DevnetChain) -> AsyncIterator[TvlEngine]:
    """Chain 1's TVL engine on the devnet registry."""
    built = make_engine(devnet_deployment(eth_chain), eth_chain.rpc_url)
    yield built
    await built.client.aclose()


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
