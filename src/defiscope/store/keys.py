"""Rows of API keys: the store keeps a key's public id, name and SHA-256 — never the key.

    >>> import tempfile
    >>> from defiscope.store import Repository
    >>> repo = Repository.open(f"sqlite:///{tempfile.mkdtemp()}/keys.db")  # doctest: +ELLIPSIS
    2...
    >>> keys = KeyStore(repo.engine)
    >>> keys.add(StoredKey("a1b2", "ci", "00" * 32, 1_700_000_000))
    >>> keys.get("a1b2").name, keys.revoke("ci"), keys.get("a1b2").active
    ('ci', True, False)

Generating and checking keys is `defiscope.api.keys`; this module only reads and writes rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from defiscope.errors import InputError
from defiscope.store.errors import StoreError
from defiscope.store.models import ApiKey


class DuplicateKeyName(StoreError, InputError):
    """A key with this name exists already (names identify keys in `keys list` / `keys revoke`): the caller
    chose a taken name, the store did not fail."""

    field = "name"


@dataclass(frozen=True, slots=True)
class StoredKey:
    key_id: str
    name: str
    sha256: str
    created_at: int
    revoked_at: int | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class KeyStore:
    """The `api_keys` table over one (migrated) Engine."""

    __slots__ = ("_sessions",)

    def __init__(self, engine: Engine) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def add(self, key: StoredKey) -> None:
        try:
            with self._sessions.begin() as session:
                session.add(ApiKey(**_values(key)))
        except IntegrityError as exc:
            raise DuplicateKeyName(f"an API key named {key.name!r} exists already; choose another name") from exc

    def get(self, key_id: str) -> StoredKey | None:
        with self._sessions() as session:
            row = session.get(ApiKey, key_id)
            return None if row is None else _stored(row)

    def all(self) -> list[StoredKey]:
        with self._sessions() as session:
            return [_stored(r) for r in session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.name))]

    def revoke(self, name_or_id: str, *, now: int | None = None) -> bool:
        """Revoke the active key with this name or id; False when there is none."""
        with self._sessions.begin() as session:
            result = session.execute(
                update(ApiKey)
                .where(or_(ApiKey.name == name_or_id, ApiKey.key_id == name_or_id), ApiKey.revoked_at.is_(None))
                .values(revoked_at=int(time.time()) if now is None else now)
            )
            return bool(getattr(result, "rowcount", 0))


def _values(key: StoredKey) -> dict[str, object]:
    return {
        "key_id": key.key_id,
        "name": key.name,
        "sha256": key.sha256,
        "created_at": key.created_at,
        "revoked_at": key.revoked_at,
    }


def _stored(row: ApiKey) -> StoredKey:
    return StoredKey(row.key_id, row.name, row.sha256, row.created_at, row.revoked_at)
