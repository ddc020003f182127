"""A PostgreSQL database for one run: created under a random name on a server, dropped (with its connections)
when the run ends. The test session and the benchmarks that start API processes each take one.

    with scratch_database("postgresql+psycopg://postgres@127.0.0.1:5432/postgres", "defiscope_bench") as url:
        migrate(url)
        ...
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from defiscope.store.database import create_engine, parse_url


@contextmanager
def scratch_database(server_url: str, prefix: str) -> Iterator[str]:
    """A fresh database ``<prefix>_<random>`` on the server of ``server_url`` (its URL, password kept), dropped
    after. An unreachable server raises SQLAlchemy's error from the CREATE, before anything is yielded."""
    server = parse_url(server_url)
    admin = create_engine(server.update_query_dict({"connect_timeout": "3"}))
    name = f"{prefix}_{secrets.token_hex(4)}"
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except BaseException:
        admin.dispose()
        raise
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
