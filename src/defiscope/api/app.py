"""The FastAPI application: /v1, the DefiLlama- and CoinGecko-compatible routes, /metrics, /docs.

    app = create_app(ApiSettings.from_env())                 # reads the store named by the environment
    uvicorn.run(app, host="127.0.0.1", port=8000)

`create_app` takes the store (or opens the one the settings name), the deployments whose tokens it names
(default: the mainnet registry) and, when the same process indexes, a `Live` view of the chains and the
chains /v1/quote reads (`QuoteChain`: the indexer's clients, shared).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Final

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from defiscope.alerts.pools import PoolChain
from defiscope.alerts.stream import StreamHub
from defiscope.api import alerts, alerts_stream, coins, errors, gecko, llama, v1
from defiscope.api.context import ApiContext, Live, QuoteChain
from defiscope.api.gate import Gate
from defiscope.api.metrics import ApiMetrics, jobs_from_env
from defiscope.api.settings import ApiSettings
from defiscope.api.shed import Admission, Shed
from defiscope.config import snapshot_settings
from defiscope.deployments import Deployment
from defiscope.governance.snapshot_settings import SnapshotSettings
from defiscope.governance.sources import OffchainSource
from defiscope.protocols.base import ProtocolInfo
from defiscope.store import Repository
from defiscope.web import mount_dashboard

DESCRIPTION = """\
DeFi TVL and prices read straight from EVM chains, every figure with the block it was read at.

* **/v1**: USD values are exact decimal strings (no float rounding); token amounts are integer strings.
* **DefiLlama-compatible** (`/protocols`, `/protocol/{slug}`, `/prices/current/{coins}`, ...) and
  **CoinGecko-compatible** (`/api/v3/...`) routes answer in those APIs' shapes, with JSON numbers.
* Responses carry an `ETag` that changes with the indexed blocks: send `If-None-Match` to get 304.
  `X-Defiscope-Blocks` names the indexed blocks an answer was built at (`1=19000000`); right after a new block an
  answer may be the previous block's while the new one builds: it then carries `X-Defiscope-Stale` (seconds).
* Errors: `{"error": {"field": "<parameter>", "problem": "<what is wrong>"}}` with a 4xx status.
* Keys: `X-API-Key: ds_live_...` (or `Authorization: Bearer`); rate limits answer 429 with `Retry-After`.
* Bounded: lists are paginated (`limit` at most 500), histories return at most 2,000 points (interval=block
  refuses more with a 400; hour/day keep the newest), DefiLlama daily series the last ten years; no answer
  exceeds 8 MiB. A 5xx carries an error `id` under which the detail was logged.
"""
#: The documented ceiling of any answer (the largest are ten-year daily series and 5,000-point charts).
MAX_RESPONSE_BYTES: Final = 8 * 1024 * 1024
#: Never shed: an overloaded server must show as overloaded, not down; a stream holds its connection for hours.
SHED_EXEMPT: Final = ("/v1/health", "/metrics", "/v1/alerts/stream")


def create_app(
    settings: ApiSettings | None = None,
    *,
    repo: Repository | None = None,
    deployments: Iterable[Deployment] | None = None,
    infos: Mapping[str, ProtocolInfo] | None = None,
    live: Live | None = None,
    quoting: Mapping[int, QuoteChain] | None = None,
    alert_stream: StreamHub | None = None,
    snapshot: SnapshotSettings | None = None,
    pools: Mapping[int, PoolChain] | None = None,
) -> FastAPI:
    settings = settings or ApiSettings.from_env()
    owned = repo is None
    store = Repository.open(settings.database_url) if repo is None else repo
    # Off unless the settings enable it; without settings passed, the environment's (DEFISCOPE_SNAPSHOT_*).
    offchain = OffchainSource(snapshot or snapshot_settings({}, os.environ))
    ctx = ApiContext.build(
        settings,
        store,
        deployments=deployments,
        infos=infos,
        live=live,
        quoting=quoting,
        offchain=offchain,
        pools=pools,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await ctx.cache.aclose()
        await offchain.aclose()
        if ctx.cache.shared is not None:
            await ctx.cache.shared.aclose()
        for chain in ctx.quoting.values():
            if chain.owned:  # clients made for quotes alone live on this app's loop: closed here
                await chain.client.aclose()
        if owned:
            store.close()

    app = FastAPI(
        title="defiscope",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        redoc_url=None,
    )
    app.state.ctx = ctx
    # Open alert streams wait on this hub: `serve` shares it with the outbox sink and closes it before stopping.
    app.state.alert_stream = alert_stream or StreamHub()
    errors.install(app)
    app.include_router(v1.router(settings))
    app.include_router(alerts.router())
    app.include_router(alerts_stream.router(app.state.alert_stream))
    app.include_router(llama.router(settings))
    app.include_router(coins.router(settings))
    app.include_router(gecko.router(settings))
    mount_dashboard(app)
    metrics = ApiMetrics(ctx, jobs_from_env())

    @app.get("/metrics", include_in_schema=False)
    async def prometheus(request: Request) -> Response:
        await ctx.cache.version()  # fresh lag figures
        # In a thread: the jobs' figures are a store query and a broker round trip.
        body = await asyncio.to_thread(generate_latest, metrics.registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    # Shed inside Gate: a cached answer is never shed, and a shed one carries Gate's headers and metrics.
    admission = Admission(limit=settings.max_in_flight, queue=settings.max_queued, max_wait=settings.max_queue_wait)
    app.add_middleware(Shed, admission=admission, counts=metrics.shed, exempt=SHED_EXEMPT)
    # Gate: refused requests cost no routing, and metrics see every answer it lets through or refuses.
    app.add_middleware(Gate, ctx=ctx, metrics=metrics, routes=app.router.routes)
    if settings.cors_origins:
        # Outermost: preflights are answered before any key check, and 401/429/500 carry CORS headers too
        # (a browser client can read why it was refused).
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET"],
            allow_headers=["X-API-Key", "Authorization", "If-None-Match"],
            expose_headers=[
                "ETag",
                "X-Defiscope-Blocks",
                "X-Defiscope-Stale",
                "Retry-After",
                "RateLimit-Limit",
                "RateLimit-Remaining",
                "RateLimit-Reset",
            ],
        )
    return app
