"""The ASGI layer in front of every route: body size, API keys, rate limits, metrics, security headers.

A pure ASGI middleware (no BaseHTTPMiddleware: that one costs a task and a stream per request).

- Keys: `X-API-Key: ds_live_...` or `Authorization: Bearer ds_live_...` (CoinGecko clients' `x-cg-pro-api-key`
  too). A wrong or revoked key is 401 even when anonymous access is on: a client that sends a key expects it
  to count. Checked keys are remembered `key_cache_ttl` seconds, so a revocation takes effect within that.
- Cache hits: a GET answered before at the current indexed blocks is served from `BlockCache` here,
  after the key and rate checks but before routing (see `defiscope.api.cache`).
- Rate limits (`limits`, sliding-window counter) on every path: per key when a valid key is given, else per
  client address (IPv6 by its /64; through `trusted_proxies` by X-Forwarded-For); /v1/quote has a budget of
  its own too. Wrong keys count against a per-address budget of failed attempts, checked before the store is
  asked. 429 with `Retry-After`; every limited answer carries `RateLimit-Limit/-Remaining/-Reset`.
- Public paths (`public_paths`: health, metrics, docs by default) need no key but are rate-limited; remove
  them from `public_paths` to require a key for them. CORS preflights (OPTIONS) need no key.
- Traces (when `defiscope.tracing` is on): one server span per request, named by its route, joined to the
  caller's `traceparent`; the spans of what the request does (RPC calls of a quote) are its children.
- Security headers on every answer (401, 429 and 500 too): nosniff, no framing, no referrer, and a
  Content-Security-Policy (a relaxed one for /docs, whose Swagger UI loads from a CDN). An unhandled error
  becomes the JSON 500 with an error id here, so it carries them as well.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Final

import structlog
from limits import RateLimitItem, parse
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from defiscope import tracing
from defiscope.api import keys
from defiscope.api.cache import Entry, cache_key, declared_query
from defiscope.api.clients import Clients
from defiscope.api.context import ApiContext
from defiscope.api.errors import error_response, new_error_id
from defiscope.api.metrics import ApiMetrics
from defiscope.api.respond import entry_response
from defiscope.store.keys import StoredKey

log = structlog.get_logger(__name__)

QUOTE_PATH: Final = "/v1/quote"
_TRACE_HEADERS: Final = (b"traceparent", b"tracestate")
_KEY_HEADERS: Final = (b"x-api-key", b"x-cg-pro-api-key", b"x-cg-demo-api-key")
#: On every answer: no content sniffing, no framing of the dashboard by other sites, no referrer leaks.
_SECURITY_HEADERS: Final = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
#: The dashboard and the API load only their own scripts, styles and data.
CSP: Final = (
    b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    b"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
)
#: /docs: FastAPI's Swagger UI page has an inline script and loads its bundle from jsDelivr.
DOCS_CSP: Final = (
    b"default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    b"object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
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
        self.per_failed_key: RateLimitItem = parse(settings.rate_failed_keys)
        self.clients = Clients(settings.trusted_proxies)
        self.public = settings.public_paths
        self._known: dict[str, tuple[float, StoredKey | None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
        elif tracing.enabled():
            await self._traced(scope, receive, send)
        else:
            await self._handle(scope, receive, send)

    async def _traced(self, scope: Scope, receive: Receive, send: Send) -> None:
        """`_handle` inside a server span, named by the route once routing has found it."""
        carried = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"] if k in _TRACE_HEADERS}
        method: str = scope["method"]
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        attributes = {"http.request.method": method, "url.path": scope["path"]}
        with tracing.joined(carried), tracing.span(f"{method} {scope['path']}", attributes, server=True) as current:
            await self._handle(scope, receive, sending)
            if current is not None:
                current.set_attribute("http.response.status_code", status)
                route = getattr(scope.get("route"), "path", None)
                if route is not None:
                    current.set_attribute("http.route", route)
                    current.update_name(f"{method} {route}")
                if status >= 500:
                    tracing.fail(current, f"HTTP {status}")

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500
        responded = False
        path: str = scope["path"]
        policy = DOCS_CSP if path.startswith("/docs") else CSP
        limits: list[tuple[bytes, bytes]] = []  # RateLimit-* of the budget this request was counted against

        async def sending(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status = message["status"]
                responded = True
                extra = [*_SECURITY_HEADERS, (b"content-security-policy", policy), *limits]
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        label = ""
        try:
            refused = await self._refuse(scope, limits)
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
        except Exception as exc:
            if responded:
                raise
            # Here rather than in Starlette's outermost handler, so the 500 carries the headers above.
            error_id = new_error_id()
            log.error("api.unhandled", error_id=error_id, path=path, exc_info=exc)
            problem = f"internal error (error id {error_id}); it has been logged"
            await error_response(500, None, problem, None, error_id)(scope, receive, sending)
        finally:
            label = label or getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.observe(label, scope["method"], status, time.perf_counter() - started)

    async def _refuse(self, scope: Scope, limits: list[tuple[bytes, bytes]]) -> Response | None:
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        chunked = b"transfer-encoding" in headers  # a body of unknown length: refused like an oversized one
        too_long = length is not None and (
            not (length.isascii() and length.isdigit())
            or len(length) > 12
            or int(length) > self.ctx.settings.max_body_bytes
        )
        if chunked or too_long:
            most = self.ctx.settings.max_body_bytes
            return error_response(413, "body", f"request body over {most} bytes")
        path: str = scope["path"]
        peer = scope.get("client")
        forwarded = headers.get(b"x-forwarded-for")
        address = self.clients.of(peer[0] if peer else None, forwarded.decode("latin-1") if forwarded else None)
        presented = _presented_key(headers)
        if self._public(path) or scope["method"] == "OPTIONS" or presented is None:
            refused = await self._limit(self.per_ip, f"ip:{address}", limits)
            if refused is None and not (
                self._public(path) or scope["method"] == "OPTIONS" or self.ctx.settings.anonymous
            ):
                return error_response(401, "X-API-Key", "an API key is required (create one: defiscope keys create)")
            who = f"ip:{address}"
        else:
            failed = f"failed-key:{address}"
            if not await self.limiter.test(self.per_failed_key, failed):  # no store lookups for a key guesser
                return await self._limit(self.per_failed_key, failed, limits)
            stored = await self._lookup(presented)
            if stored is None:
                await self._limit(self.per_failed_key, failed, limits)
                return error_response(401, "X-API-Key", "unknown, malformed or revoked API key")
            who = f"key:{stored.key_id}"
            scope.setdefault("state", {})["api_key"] = stored  # `request.state.api_key`: whose rules (alerts)
            refused = await self._limit(self.per_key, who, limits)
        if refused is None and path == QUOTE_PATH:  # quotes read the chains: their own, tighter budget
            refused = await self._limit(self.per_quote, f"{who}:quote", limits)
        return refused

    def _public(self, path: str) -> bool:
        return path in self.public or ("/docs" in self.public and path.startswith("/docs"))

    async def _limit(self, limit: RateLimitItem, who: str, headers: list[tuple[bytes, bytes]]) -> Response | None:
        """Count one hit of `who` against `limit`; its RateLimit-* headers into `headers`; a 429 if over."""
        allowed = await self.limiter.hit(limit, who)
        stats = await self.limiter.get_window_stats(limit, who)
        reset = max(1, math.ceil(stats.reset_time - time.time()))
        headers[:] = [
            (b"ratelimit-limit", str(limit.amount).encode()),
            (b"ratelimit-remaining", str(max(0, stats.remaining)).encode()),
            (b"ratelimit-reset", str(reset).encode()),
        ]
        if allowed:
            return None
        return error_response(
            429, None, f"rate limit {limit} exceeded; retry in {reset} s", headers={"Retry-After": str(reset)}
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
