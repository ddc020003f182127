"""Serve a cached, serialized-once body with its ETag; answer 304 when the client has it already.

An answer kept per version names the indexed blocks it was built at (`X-Defiscope-Blocks: 1=19000000,56=...`);
one served stale while the current version's builds (`api.cache`) also says for how long a newer block has been
seen (`X-Defiscope-Stale: 1.3`, seconds). Its ETag stays its own: a client holding it gets 304 for it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import pydantic_core
from starlette.requests import Request
from starlette.responses import Response

from defiscope.api.cache import Entry, Key, cache_key, declared_query, etag_of, matches
from defiscope.api.context import ApiContext

JSON = "application/json"


def context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


async def index_now(request: Request) -> int:
    """ "Now" for refusing future timestamps: the clock, or the newest stored block's time when it is ahead
    (a devnet's clock can run ahead of the wall clock; its blocks are not in the future of the index)."""
    cache = context(request).cache
    await cache.version()
    return max([int(time.time()), *(b.timestamp for b in cache.blocks.values())])


def to_bytes(value: Any) -> bytes:
    """Models, lists of models and plain data to JSON bytes (pydantic's Rust serializer).

    Not orjson here: provenance documents carry uint256 call results, and orjson refuses integers beyond
    64 bits. Speed is the same either way, since a body is serialized once per indexed block.
    """
    return pydantic_core.to_json(value)


async def cached(request: Request, build: Callable[[], Any]) -> Response:
    """`build()` runs in a worker thread at most once per (path, query, indexed blocks)."""
    ctx = context(request)
    key, route = _key(request)
    entry = await ctx.cache.get(key, lambda: to_bytes(build()), route)
    return entry_response(entry, request.headers.get("if-none-match"))


async def cached_async(request: Request, build: Callable[[], Awaitable[bytes]], *, stale: bool = True) -> Response:
    """`cached` for a body built on the event loop (it reads the chains): `build()` returns the JSON bytes.
    `stale=False`: never the previous block's answer (a quote is acted on)."""
    key, route = _key(request)
    entry = await context(request).cache.get_async(key, build, route, stale=stale)
    return entry_response(entry, request.headers.get("if-none-match"))


def fresh_entry(body: bytes, request: Request) -> Entry:
    """An answer built for this request alone and not kept (its data changes without the blocks); its ETag
    still lets a client revalidate."""
    return Entry(body, etag_of(body), _key(request)[1])


def _key(request: Request) -> tuple[Key, str]:
    """The cache key of a routed request, and its route's path template (the metrics label)."""
    route = request.scope.get("route")
    key = cache_key(request.scope["path"], request.scope["query_string"], declared_query(route))
    return key, getattr(route, "path", "")


def entry_response(entry: Entry, if_none_match: str | None) -> Response:
    headers = {"ETag": entry.etag, "Cache-Control": "no-cache"}
    if entry.version:
        headers["X-Defiscope-Blocks"] = ",".join(f"{chain}={number}" for chain, number, _ in entry.version)
    if entry.stale is not None:
        headers["X-Defiscope-Stale"] = f"{entry.stale:.1f}"
    if matches(if_none_match, entry.etag):
        return Response(status_code=304, headers=headers)
    return Response(entry.body, media_type=JSON, headers=headers)
