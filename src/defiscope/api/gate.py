"""The ASGI layer in front of every route: body size, API keys, rate limits, metrics, security headers.

A pure ASGI middleware (no BaseHTTPMiddleware: that one costs a task and a stream per request).

- Keys: `X-API-Key: ds_live_...` or `Authorization: Bearer ds_live_...` (CoinGecko clients' `x-cg-pro-api-key`
  too). A wrong or revoked key is 401 even when anonymous access is on: a client that sends a key expects it
  to count. Checked keys are remembered `key_cache_ttl` seconds, so a revocation takes effect within that.
- Cache hits: a GET answered before at the current indexed blocks is served from `BlockCache` here,
  after the key and rate checks but before routing (see `defiscope.api.cache`); so is the previous block's
  answer, marked stale, while the current one builds in the background.
- Rate limits (sliding-window counter, `api.rate_limits`) on every path: per key when a valid key is given, else
  per client address (IPv6 by its /64; through `trusted_proxies` by X-Forwarded-For); /v1/quote has a budget of
  its own too. Wrong keys count against a per-address budget of failed attempts, checked before the store is
  asked. 429 with `Retry-After`; every limited answer carries `RateLimit-Limit/-Remaining/-Reset`. A request's
  budgets are counted in one step: with Redis, one round trip (a key checked within `key_cache_ttl` included).
- Public paths (`public_paths`: health, metrics, docs by default) need no key but are rate-limited; remove
  them from `public_paths` to require a key for them. CORS preflights (OPTIONS) need no key.
- Traces (when `defiscope.tracing` is on): one server span per request, named by its route, joined to the
  caller's `traceparent`; the spans of what the request does (RPC calls of a quote) are its children.
- Security headers on every answer (401, 429 and 500 too): nosniff, no framing, no referrer, and a
  Content-Security-Policy (a relaxed one for /docs, whose Swagger UI loads from a CDN). An unhandled error
  becomes the JSON 500 with an error id here, so it carries them as well.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Final

import structlog
from limits import RateLimitItem, parse
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
from defiscope.api.rate_limits import Budget, Verdict, rate_limits
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
        # Sliding-window counter: O(1) per hit (the moving window keeps every hit of the window: O(n)); the prefix
        # separates deployments sharing a Redis.
        self.limits = rate_limits(settings.rate_storage, prefix=settings.rate_prefix)
        self.per_ip: RateLimitItem = parse(settings.rate_per_ip)
        self.per_key: RateLimitItem = parse(settings.rate_per_key)
        self.per_quote: RateLimitItem = parse(settings.rate_per_quote)
        self.per_failed_key: RateLimitItem = parse(settings.rate_failed_keys)
        self.clients = Clients(settings.trusted_proxies)
        self.public = settings.public_paths
        self._known: dict[str, tuple[float, StoredKey | None]] = {}  # key digest: (when checked, the stored key)
        # A GET path's route's declared parameters (None: no API route): matching every route per hit cost an eighth
        # of a busy API's time. A GET's route depends on its path alone (one app, one root path); bounded like
        # `_known`.
        self._declared: dict[str, frozenset[str] | None] = {}

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
        quote = path == QUOTE_PATH  # quotes read the chains: their own, tighter budget on top
        open_path = self._public(path) or scope["method"] == "OPTIONS"
        if open_path or presented is None:
            who = f"ip:{address}"
            served = open_path or self.ctx.settings.anonymous  # else a 401, which counts no quote
            refused = await self._count([Budget(self.per_ip, who), *self._quote(who, quote and served)], limits)
            if refused is None and not served:
                return error_response(401, "X-API-Key", "an API key is required (create one: defiscope keys create)")
            return refused
        failed = f"failed-key:{address}"
        checked: list[Budget] = []  # the failed-key budget, when not checked before the lookup
        remembered = self._remembered(presented)
        if remembered is None:  # the store is asked: a key guesser is refused before that
            refused = await self._count([Budget(self.per_failed_key, failed, counted=False)], limits)
            if refused is not None:
                return refused
            stored = await self._lookup(presented)
        else:
            stored = remembered[1]
            checked.append(Budget(self.per_failed_key, failed, counted=False))
        if stored is None:
            refused = await self._count([Budget(self.per_failed_key, failed)], limits)
            return refused or error_response(401, "X-API-Key", "unknown, malformed or revoked API key")
        who = f"key:{stored.key_id}"
        scope.setdefault("state", {})["api_key"] = stored  # `request.state.api_key`: whose rules (alerts)
        return await self._count([*checked, Budget(self.per_key, who), *self._quote(who, quote)], limits)

    def _quote(self, who: str, quote: bool) -> list[Budget]:
        return [Budget(self.per_quote, f"{who}:quote")] if quote else []

    def _public(self, path: str) -> bool:
        return path in self.public or ("/docs" in self.public and path.startswith("/docs"))

    async def _count(self, budgets: list[Budget], headers: list[tuple[bytes, bytes]]) -> Response | None:
        """Count `budgets` (`RateLimits.count`); the deciding budget's RateLimit-* headers into `headers`; a 429 if
        one is over."""
        verdict = await self.limits.count(budgets)
        if verdict is None:  # only checked, and within
            return None
        headers[:] = _limit_headers(verdict)
        if verdict.allowed:
            return None
        limit, reset = verdict.budget.limit, verdict.reset_seconds
        return error_response(
            429, None, f"rate limit {limit} exceeded; retry in {reset} s", headers={"Retry-After": str(reset)}
        )

    async def _cached(self, scope: Scope) -> Entry | None:
        """A response already built at this version: served before routing and validation."""
        if scope["method"] != "GET":
            return None
        path: str = scope["path"]
        if path in self._declared:
            declared = self._declared[path]
        else:
            route = route_of(self.routes, scope)
            # not an API route (or not found): nothing is cached
            declared = None if getattr(route, "dependant", None) is None else declared_query(route)
            if len(self._declared) > 10_000:
                self._declared.clear()
            self._declared[path] = declared
        if declared is None:
            return None
        return await self.ctx.cache.peek(cache_key(path, scope["query_string"], declared))

    def _remembered(self, presented: str) -> tuple[float, StoredKey | None] | None:
        """What the store said of `presented` within the last key_cache_ttl seconds (its key, or None: not valid)."""
        remembered = self._known.get(keys.digest(presented))  # never keep the key itself longer than the request
        if remembered is not None and time.monotonic() - remembered[0] < self.ctx.settings.key_cache_ttl:
            return remembered
        return None

    async def _lookup(self, presented: str) -> StoredKey | None:
        """The active stored key matching `presented`, None otherwise (remembered for key_cache_ttl)."""
        now = time.monotonic()
        fingerprint = keys.digest(presented)
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


def _limit_headers(verdict: Verdict) -> list[tuple[bytes, bytes]]:
    return [
        (b"ratelimit-limit", str(verdict.budget.limit.amount).encode()),
        (b"ratelimit-remaining", str(verdict.remaining).encode()),
        (b"ratelimit-reset", str(verdict.reset_seconds).encode()),
    ]


def _presented_key(headers: dict[bytes, bytes]) -> str | None:
    for name in _KEY_HEADERS:
        if name in headers:
            return headers[name].decode("latin-1").strip()
    auth = headers.get(b"authorization", b"").decode("latin-1")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return None
