"""`defiscope serve --api-only`: API processes only, over a store that other processes fill.

No devnet and no indexer: N uvicorn worker processes behind one port read the configured store
(PostgreSQL via `DEFISCOPE_DATABASE_URL`; a SQLite file for a single process) and share rate limits and
the response cache through Redis (`DEFISCOPE_REDIS_URL`). A configuration that cannot work is refused with
one line and exit 2 before anything starts (`check_processes`).
"""

from __future__ import annotations

from collections.abc import Callable

import redis
import uvicorn
from sqlalchemy.engine import make_url

from defiscope import tracing
from defiscope.api.process import FACTORY
from defiscope.api.settings import REDIS_ENV, ApiSettings
from defiscope.cli.common import out
from defiscope.errors import InputError
from defiscope.store import Repository
from defiscope.store.database import database_url, mask_url


class ApiProcessesRefused(InputError):
    """`--api-only` asked for a combination of processes, store and limits that cannot work."""


def check_processes(settings: ApiSettings, store_url: str, workers: int) -> None:
    """Refuse what several processes cannot share: per-process rate limits (each would allow the whole
    budget, N times over in all) and a SQLite store (one writer at a time, and a file one machine sees)."""
    backend = make_url(store_url).get_backend_name()
    database = make_url(store_url).database
    if backend == "sqlite" and (not database or database == ":memory:"):
        raise ApiProcessesRefused(
            "--api-only serves a store other processes fill: an in-memory SQLite store has nothing to serve; "
            "set DEFISCOPE_DATABASE_URL",
            field="DEFISCOPE_DATABASE_URL",
        )
    if workers == 1:
        return
    if "memory" in settings.rate_storage:
        raise ApiProcessesRefused(
            f"--workers {workers} needs rate limits shared through Redis (each process would count its own: "
            f"{workers} times the budget); set {REDIS_ENV}=redis://127.0.0.1:6379/0",
            field=REDIS_ENV,
        )
    if backend != "postgresql":
        raise ApiProcessesRefused(
            f"--workers {workers} needs PostgreSQL (DEFISCOPE_DATABASE_URL=postgresql+psycopg://...); "
            "a SQLite store serves a single API process",
            field="DEFISCOPE_DATABASE_URL",
        )


def check_redis(url: str) -> None:
    """Redis answers, or one line saying it does not (rather than 500s on the first request)."""
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        raise ApiProcessesRefused(f"Redis at {mask_url(url)} does not answer ({exc}); check {REDIS_ENV}") from None
    finally:
        client.close()


def serve_api_only(host: str, port: int, workers: int, *, check_port: Callable[[], None]) -> None:
    """Check, migrate the store once (not N processes racing), then run the worker processes until stopped."""
    settings = ApiSettings.from_env()
    tracing.check(tracing.TraceSettings.from_env())  # bad tracing settings: one line here, not N crashed workers
    store_url = settings.database_url or database_url()
    check_processes(settings, store_url, workers)
    if settings.redis_url is not None:
        check_redis(settings.redis_url)
    check_port()
    Repository.open(store_url).close()
    shared = "limits and cache shared through Redis" if settings.redis_url else "limits and cache per process"
    out.print(
        f"API on http://{host}:{port}, {workers} process{'es' if workers > 1 else ''} over {mask_url(store_url)} "
        f"({shared}); no indexer in this command; Ctrl-C stops",
        highlight=False,
    )
    uvicorn.run(FACTORY, factory=True, host=host, port=port, workers=workers, log_level="warning", access_log=False)
