"""Grade factor fixtures: the store fixtures (SQLite and PostgreSQL) and the devnet's."""

from __future__ import annotations

from tests.store.conftest import db_url, engine, pg_database, repo  # noqa: F401  (fixtures reused)
