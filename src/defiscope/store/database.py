"""Where the database is, how to open it, and how to bring its schema up to date.

    >>> import os, tempfile
    >>> os.environ.pop("DEFISCOPE_DATABASE_URL", None) and None
    >>> os.environ["DEFISCOPE_DATA_DIR"] = tempfile.mkdtemp()
    >>> url = database_url(); url.startswith("sqlite:///") and url.endswith("/defiscope.db")
    True
    >>> mask_url("postgresql+psycopg://bob:hunter2@db:5432/defiscope")
    'postgresql+psycopg://bob:***@db:5432/defiscope'

SQLite is the embedded default, put in WAL mode so readers never block the writer. PostgreSQL is
reached through psycopg 3: a bare ``postgresql://`` URL is pointed at it, because SQLAlchemy would
otherwise pick psycopg2, which we do not ship.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final

import structlog
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import URL, Engine, event, make_url, text
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session

from defiscope import config
from defiscope.store.errors import DatabaseUnavailableError, DatabaseUrlError

log = structlog.get_logger(__name__)

URL_ENV: Final = config.DATABASE_URL_ENV
DATA_DIR_ENV: Final = config.DATA_DIR_ENV
DB_FILENAME: Final = config.DB_FILENAME
DEFAULT_BUSY_TIMEOUT_S: Final = 30.0
# Connection option a write transaction sets so SQLite begins it IMMEDIATE (see _sqlite_begin).
WRITE_OPTION: Final = "defiscope_write"
_MIGRATIONS: Final = "defiscope.store:migrations"
_MIGRATION_LOCK_KEY: Final = 0x64656669  # "defi": any constant, shared by all defiscope migrators
_BACKENDS: Final = ("sqlite", "postgresql")
_FIX_HINT: Final = f"set {URL_ENV} to a sqlite:/// or postgresql:// URL"


def data_dir() -> Path:
    """The settings' data directory (`defiscope.config`: `~` expanded there). Creates nothing."""
    return config.data_dir()


def database_url() -> str:
    """The settings' database: `$DEFISCOPE_DATABASE_URL`, `[store] url`, else a SQLite file in `data_dir()`."""
    return config.database_url()


def mask_url(url: str | URL) -> str:
    """The URL with its password replaced by ``***``, safe for logs and error messages."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        # Unparseable: mask anything that looks like user:password@ by hand.
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def parse_url(url: str | URL) -> URL:
    """Parse and check a database URL, pointing plain ``postgresql://`` at psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUrlError(f"cannot parse database URL {mask_url(url)!r}; {_FIX_HINT}") from exc
    backend = parsed.get_backend_name()
    if backend == "postgres":  # Heroku-style alias
        parsed = parsed.set(drivername="postgresql")
        backend = "postgresql"
    if backend not in _BACKENDS:
        raise DatabaseUrlError(f"database URL {mask_url(parsed)!r} uses unsupported backend {backend!r}; {_FIX_HINT}")
    if backend == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_engine(url: str | URL | None = None, *, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> Engine:
    """An Engine for `url` (default `database_url()`). Lazy: connects on first use.

    For a SQLite file the parent directory is created, so the default location works on a fresh machine.
    """
    parsed = parse_url(url if url is not None else database_url())
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        kwargs["pool_pre_ping"] = True  # a restarted server should cost a reconnect, not an error
    elif parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
        # SQLite would open a literal "~" folder: a home-relative file is expanded here, like the data dir.
        file = Path(parsed.database).expanduser()
        parsed = parsed.set(database=str(file))
        file.parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = sa_create_engine(parsed, **kwargs)
    except NoSuchModuleError as exc:
        raise DatabaseUrlError(
            f"no driver for database URL {mask_url(parsed)!r}; {_FIX_HINT} (PostgreSQL via psycopg)"
        ) from exc
    except (ArgumentError, ImportError) as exc:
        raise DatabaseUrlError(f"cannot use database URL {mask_url(parsed)!r}: {_one_line(exc)}") from exc
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, busy_timeout_s)
    return engine


def connect(url: str | URL | None = None, *, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> Engine:
    """Like `create_engine`, but proves the database answers; raises `DatabaseUnavailableError` if not."""
    engine = create_engine(url, busy_timeout_s=busy_timeout_s)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except DBAPIError as exc:
        engine.dispose()
        raise unavailable(engine.url, exc) from exc
    return engine


def migrate(url: str | URL | Engine | None = None) -> None:
    """Run Alembic ``upgrade head`` on `url` (or an existing Engine), from the migrations in this package.

    Needs no alembic.ini, so an installed defiscope can migrate its own database.
    """
    engine = url if isinstance(url, Engine) else create_engine(url)
    config = Config()
    config.set_main_option("script_location", _MIGRATIONS)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(**{WRITE_OPTION: True})
            conn.begin()
            if conn.dialect.name == "postgresql":
                # Two processes starting at once must not both create the tables; the lock ends with
                # the transaction. SQLite gets the same from BEGIN IMMEDIATE.
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
            before = MigrationContext.configure(conn).get_current_revision()
            # env.py runs the migration on this connection, inside this transaction.
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            after = MigrationContext.configure(conn).get_current_revision()
            conn.commit()
    except DBAPIError as exc:
        raise unavailable(engine.url, exc) from exc
    finally:
        if not isinstance(url, Engine):
            engine.dispose()
    if after != before:
        log.info("store.migrated", url=mask_url(engine.url), from_revision=before, to_revision=after)


def unavailable(url: URL, exc: BaseException) -> DatabaseUnavailableError:
    """The typed, one-line error for a database that did not answer or refused us."""
    return DatabaseUnavailableError(
        f"cannot use database {mask_url(url)!r}: {_one_line(exc)}; check that it is running and reachable "
        f"and that the database exists, or {_FIX_HINT}"
    )


def _one_line(exc: BaseException) -> str:
    """The first line of the driver's message, without SQLAlchemy's background-link footer."""
    original = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(original).strip().splitlines()
    return lines[0] if lines else type(original).__name__


def _configure_sqlite(engine: Engine, busy_timeout_s: float) -> None:
    """WAL, foreign keys and a busy timeout on every connection; SQLAlchemy, not sqlite3, emits BEGIN.

    Python's sqlite3 (before 3.12's `autocommit`) starts transactions lazily, only at the first DML,
    so a read-then-write transaction takes the write lock late and can fail with "database is
    locked" without waiting. We turn that off and begin write transactions IMMEDIATE: they take
    the write lock up front and a second writer waits `busy_timeout_s` for it instead.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
            # Safe in WAL mode (a crash loses at most the last commits, never corrupts) and much faster.
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def dialect_insert(session: Session, table: Any) -> postgresql.Insert | sqlite.Insert:
    """The dialect's INSERT into ``table``, which is what offers ON CONFLICT (same API on SQLite and PostgreSQL)."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
