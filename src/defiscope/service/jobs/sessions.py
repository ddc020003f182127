"""Sessions of the job tables: reads, and writes that run in one transaction on the store's write path."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from defiscope.store.database import WRITE_OPTION


class JobSessions:
    """The ledger's and the lease store's sessions: `_reads` for queries, `_write()` for one committed change."""

    __slots__ = ("_reads", "_writes")

    def __init__(self, engine: Engine) -> None:
        self._writes = sessionmaker(engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False)
        self._reads = sessionmaker(engine)

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with self._writes.begin() as session:
            yield session
