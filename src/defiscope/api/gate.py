"""The ASGI layer in front of every route: body size, API keys, rate limits, metrics, security headers.

A pure ASGI middleware (no BaseHTTPMiddleware: that one costs a task and a stream per request).

- Keys: `X-API-Key: ds_live_...` or `Authorization: Bearer ds_live_...` (CoinGecko clients' `x-cg-pro-api-key`
  too). A wrong or revoked key is 401 even when anonymous access is on: a client that sends a key expects it
  to count. Checked keys are remembered `key_cache_ttl` seconds, so a revocation takes effect within that.
- Cache hits: a GET answered before at the current indexed blocks is served from `BlockCache` here,
  after the key and rate checks but before routing (see `defiscope.api.cache`).
- Rate limits (`limits`, sliding-window counter): per key when a key is given, else per client address; 429 with
  `Retry-After` (seconds).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Final

from limits import RateLimitItem, parse
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from defiscope.api import keys
from defiscope.api.cache import Entry, cache_key, declared_query
from defiscope.api.context import ApiContext
from defiscope.api.errors import error_response
from defiscope.api.metrics import ApiMetrics
from defiscope.api.respond import entry_response
from defiscope.store.keys import StoredKey

QUOTE_PATH: Final = "/v1/quote"
_KEY_HEADERS: Final = (b"x-api-key", b"x-cg-pro-api-key", b"x-cg-demo-api-key")
#: On every answer: no content sniffing, no framing of the dashboard by other sites, no referrer leaks.
_SECURITY_HEADERS: Final = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


class Gate:
    def __init__(self, app: ASGIApp, ctx: ApiContext, metrics: ApiMetrics, routes: Sequence[BaseRoute] = ()) -> None:
        self.app = app
        self.routes = routes  # the app's routes: a cached answer's key needs the route's declared parameters
        self.ctx = ctx
        self.metrics = metrics
        settings = ctx.settings
        # redis-py (a dependency already) rather than limits' default coredis; the prefix separates deployments.
        options = (
            {"implementation": "redispy", "key_prefix": settings.rate_prefix}
            if "redis" in settings.rate_storage
            else {}
        )
        storage = storage_from_string(settings.rate_storage, **options)
        # Sliding-window counter: O(1) per hit (the moving window keeps every hit of the window: O(n)).
        self.limiter = SlidingWindowCounterRateLimiter(storage)
        self.per_ip: RateLimitItem = parse(settings.rate_per_ip)
        self.per_key: RateLimitItem = parse(settings.rate_per_key)
        self.per_quote: RateLimitItem = parse(settings.rate_per_quote)
        self.public = settings.public_paths
        self._known: dict[str, tuple[float, StoredKey | None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), *_SECURITY_HEADERS]}
            await send(message)

        label = ""
        try:
            refused = await self._refuse(scope)
            if refused is not None:
                await refused(scope, receive, sending)
                return
            hit = await self._cached(scope)
            if hit is not None:
                label = hit.route
                headers = dict(scope["headers"])
                none_match = headers.get(b"if-none-match")
                answer = entry_response(hit, none_match.decode("latin-1") if none_match else None)
                await answer(scope, receive, sending)
                return
            await self.app(scope, receive, sending)
        finally:
            label = label or getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.observe(label, scope["method"], status, time.perf_counter() - started)

    async def _refuse(self, scope: Scope) -> Response | None:
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        chunked = b"transfer-encoding" in headers  # a body of unknown length: refused like an oversized one
        if chunked or (
            length is not None
            and (
                not (length.isascii() and length.isdigit())
                or len(length) > 12
                or int(length) > self.ctx.settings.max_body_bytes
            )
        ):
            most = self.ctx.settings.max_body_bytes
            return error_response(413, "body", f"request body over {most} bytes (every endpoint is a GET)")
        path: str = scope["path"]
        if path in self.public or path.startswith("/docs"):
            return None
        presented = _presented_key(headers)
        if presented is not None:
            stored = await self._lookup(presented)
            if stored is None:
                return error_response(401, "X-API-Key", "unknown, malformed or revoked API key")
            who, limit = f"key:{stored.key_id}", self.per_key
        elif not self.ctx.settings.anonymous:
            return error_response(401, "X-API-Key", "an API key is required (create one: defiscope keys create)")
        else:
            client = scope.get("client")
            who, limit = f"ip:{client[0] if client else 'unknown'}", self.per_ip
        refused = await self._limit(limit, who)
        if refused is None and path == QUOTE_PATH:  # quotes read the chains: their own, tighter budget
            refused = await self._limit(self.per_quote, f"{who}:quote")
        return refused

    async def _limit(self, limit: RateLimitItem, who: str) -> Response | None:
        if await self.limiter.hit(limit, who):
            return None
        stats = await self.limiter.get_window_stats(limit, who)
        retry = max(1, math.ceil(stats.reset_time - time.time()))
        return error_response(
            429, None, f"rate limit {limit} exceeded; retry in {retry} s", headers={"Retry-After": str(retry)}
        )

    async def _cached(self, scope: Scope) -> Entry | None:
        """A response already built at this version: served before routing and validation."""
        if scope["method"] != "GET":
            return None
        route = route_of(self.routes, scope)
        if getattr(route, "dependant", None) is None:  # not an API route (or not found): nothing is cached
            return None
        return await self.ctx.cache.peek(cache_key(scope["path"], scope["query_string"], declared_query(route)))

    async def _lookup(self, presented: str) -> StoredKey | None:
        """The active stored key matching `presented`, None otherwise (remembered for key_cache_ttl)."""
        now = time.monotonic()
        fingerprint = keys.digest(presented)  # never keep the key itself in memory longer than the request
        remembered = self._known.get(fingerprint)
        if remembered is not None and now - remembered[0] < self.ctx.settings.key_cache_ttl:
            return remembered[1]
        key_id = keys.key_id_of(presented)
        stored = None if key_id is None else await run_in_threadpool(self.ctx.keys.get, key_id)
        valid = stored if keys.check(presented, stored) else None
        if len(self._known) > 10_000:  # bounded: garbage keys must not grow memory
            self._known.clear()
        self._known[fingerprint] = (now, valid)
        return valid


def route_of(routes: Sequence[BaseRoute], scope: Scope) -> BaseRoute | None:
    """The route that will answer `scope`, as routing will find it (into included routers, which FastAPI
    matches as a whole first)."""
    for route in routes:
        match, child = route.matches(scope)
        if match is not Match.FULL:
            continue
        included = getattr(route, "original_router", None)
        if included is None:
            return route
        found = route_of(included.routes, {**scope, **child})
        if found is not None:
            return found
    return None


def _presented_key(headers: dict[bytes, bytes]) -> str | None:
    for name in _KEY_HEADERS:
        if name in headers:
            return headers[name].decode("latin-1").strip()
    auth = headers.get(b"authorization", b"").decode("latin-1")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return None
