"""The app of one API process of `defiscope serve --api-only`, built from the environment.

uvicorn starts each worker process on its own and calls `app_from_env` there (`factory=True`), so everything a
worker needs comes from the environment the command left: the store (`DEFISCOPE_DATABASE_URL` or the data
dir), Redis (`DEFISCOPE_REDIS_URL`: shared limits and cache) and tracing (`DEFISCOPE_TRACE_*`).

    uvicorn.run("defiscope.api.process:app_from_env", factory=True, workers=4, port=8000)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Final

from fastapi import FastAPI

from defiscope import tracing
from defiscope.api.app import create_app
from defiscope.api.settings import ApiSettings

FACTORY: Final = "defiscope.api.process:app_from_env"
Lifespan = Callable[[Any], AbstractAsyncContextManager[Any]]


def app_from_env() -> FastAPI:
    """Tracing as `DEFISCOPE_TRACE_*` says (each process exports its own spans), then the app over the store."""
    tracing.configure(tracing.TraceSettings.from_env(service="defiscope-api"))
    app = create_app(ApiSettings.from_env())
    app.router.lifespan_context = _flushing(app.router.lifespan_context)
    return app


def _flushing(lifespan: Lifespan) -> Lifespan:
    """`lifespan`, then the spans still batched are exported: uvicorn ends a worker by re-raising SIGTERM
    after its shutdown, so the exporter's own exit hook never runs."""

    @asynccontextmanager
    async def flushed(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with lifespan(app):
                yield
        finally:
            tracing.shutdown()

    return flushed
