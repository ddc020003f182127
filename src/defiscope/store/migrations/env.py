"""Alembic environment: runs on the connection `defiscope.store.database.migrate` hands over.

There is no alembic.ini; `migrate()` builds the Config in code. Run by hand (e.g. to autogenerate a
new revision) with a Config whose ``sqlalchemy.url`` is set, and this opens its own connection.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from defiscope.store.database import create_engine
from defiscope.store.models import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead, on SQLite only.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Use the caller's connection if there is one, else open one from the config's URL."""
    connection = context.config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("defiscope migrations run online only; use defiscope.store.database.migrate()")
run_migrations_online()
