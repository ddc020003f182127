"""Storage for snapshots, prices and blocks: SQLite (WAL) by default, PostgreSQL by URL.

    >>> import tempfile
    >>> from defiscope.store import Repository
    >>> repo = Repository.open(f"sqlite:///{tempfile.mkdtemp()}/defiscope.db")  # doctest: +ELLIPSIS
    2...store.migrated...from_revision=None...to_revision=...
    >>> repo.protocol_slugs()
    []
    >>> repo.close()

`Repository.open()` with no URL uses the settings' database (`defiscope.config`: `$DEFISCOPE_DATABASE_URL`,
`[store] url`, else ``defiscope.db`` in the data directory).
Token amounts and USD values round-trip exactly on both backends (see `defiscope.store.types`).
"""

from defiscope.store import jobs as _jobs  # noqa: F401  (its tables join the metadata)
from defiscope.store import outbox as _outbox  # noqa: F401  (its tables join the metadata)
from defiscope.store.convert import ChainPoint, HistoryPoint
from defiscope.store.database import connect, create_engine, database_url, mask_url, migrate
from defiscope.store.errors import BlockConflictError, DatabaseUnavailableError, DatabaseUrlError, StoreError
from defiscope.store.repository import Repository

__all__ = [
    "BlockConflictError",
    "ChainPoint",
    "DatabaseUnavailableError",
    "DatabaseUrlError",
    "HistoryPoint",
    "Repository",
    "StoreError",
    "connect",
    "create_engine",
    "database_url",
    "mask_url",
    "migrate",
]
