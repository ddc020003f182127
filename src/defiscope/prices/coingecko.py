"""CoinGecko: a rate-aware API client and a price source for *current* prices, with exact `Decimal` parsing.

CoinGecko knows what a token costs now, not what it cost at block N. `CoinGeckoSource` therefore answers
only for blocks close to CoinGecko's `last_updated_at` and otherwise says why it cannot (a `PriceMiss`), so
the aggregator falls back to on-chain sources instead of stamping today's price on last year's block.

    async with CoinGeckoClient() as cg:  # keyless; DEFISCOPE_COINGECKO_API_KEY (+ _PRO=1) picks demo or pro
        eth = (await cg.simple_price(["ethereum"]))["ethereum"]
        eth.usd, eth.last_updated_at  # (Decimal('3000.12'), 1711356300)
        usdc = await cg.token_price("ethereum", ["0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"])
        usdc["0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"].usd  # keys are lowercase addresses

        source = CoinGeckoSource(cg, deployments=[mainnet(1)])
        answers = await source.prices(reader, tokens)  # address -> PriceQuote | PriceMiss

Environment: `DEFISCOPE_COINGECKO_API_KEY` (sent as `x-cg-demo-api-key`, or `x-cg-pro-api-key` with
`DEFISCOPE_COINGECKO_PRO=1`), `DEFISCOPE_COINGECKO_URL` (another base URL: a defiscope server's CoinGecko
compat API, a mirror, a test server). The key goes in a header only, never in a URL or a log line.
"""

from __future__ import annotations

import asyncio
import email.utils
import enum
import json
import os
import re
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType, TracebackType
from typing import Any, Final

import httpx
import structlog

from defiscope.chain.errors import redact_url
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.errors import DefiscopeError
from defiscope.prices.base import PriceAnswer, PriceMiss, TokenRef
from defiscope.prices.quote import PriceQuote

log = structlog.get_logger(__name__)

PUBLIC_URL: Final = "https://api.coingecko.com/api/v3"
PRO_URL: Final = "https://pro-api.coingecko.com/api/v3"
ENV_KEY: Final = "DEFISCOPE_COINGECKO_API_KEY"
ENV_PRO: Final = "DEFISCOPE_COINGECKO_PRO"
ENV_URL: Final = "DEFISCOPE_COINGECKO_URL"

#: CoinGecko's asset-platform id of each chain, as `/asset_platforms` names them.
PLATFORMS: Final[Mapping[int, str]] = MappingProxyType(
    {
        1: "ethereum",
        56: "binance-smart-chain",
        42161: "arbitrum-one",
        10: "optimistic-ethereum",
        8453: "base",
        137: "polygon-pos",
    }
)

#: Documented maximum of ids (`/simple/price`) and of contract addresses (`/simple/token_price`) per call.
MAX_PER_REQUEST: Final = 515
#: The largest body read: MAX_PER_REQUEST entries of a few currencies take some 100 kB.
MAX_BODY_BYTES: Final = 2 * 1024 * 1024
#: Of an error body, the part parsed for CoinGecko's message.
MAX_ERROR_BODY: Final = 4096
#: Bounds checked before any conversion: a unix time fits 63 bits; a price's decimal exponent stays within
#: +-MAX_PRICE_EXPONENT (a meme coin at 1e-18 USD is fine; 1e5000000 is not a price and would make int() or
#: arithmetic on it run for minutes).
MAX_UNIX_TIME: Final = 2**63 - 1
#: The documented answers nest two levels deep.
MAX_JSON_DEPTH: Final = 8
MAX_PRICE_EXPONENT: Final = 40
#: How far apart a block and CoinGecko's `last_updated_at` may be before the price is not the block's.
FRESHNESS: Final = 15 * 60.0
CONFIDENCE: Final = 0.8

_ADDRESS: Final = re.compile(r"0x[0-9a-fA-F]{40}")
_COIN_ID: Final = re.compile(r"[a-z0-9][a-z0-9._-]*")  # CoinGecko API ids: lowercase, dash-separated
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"", "0", "false", "no", "off"})


class Plan(enum.Enum):
    PUBLIC = "public"  # no key: shared, stricter limits
    DEMO = "demo"
    PRO = "pro"


@dataclass(frozen=True, slots=True)
class PlanSpec:
    base_url: str
    key_header: str
    calls_per_minute: int
    #: CoinGecko refreshes /simple answers every 60 s for public/demo and 20 s for paid plans: caching
    #: longer would serve stale prices, shorter would only spend the rate limit on the same numbers.
    cache_ttl: float


PLANS: Final[Mapping[Plan, PlanSpec]] = MappingProxyType(
    {
        # The keyless API's limit floats between 5 and 15 calls a minute with traffic; 10 keeps 429s rare.
        Plan.PUBLIC: PlanSpec(PUBLIC_URL, "x-cg-demo-api-key", 10, 60.0),
        Plan.DEMO: PlanSpec(PUBLIC_URL, "x-cg-demo-api-key", 30, 60.0),
        # The smallest paid plan (Analyst) allows 500 a minute; larger plans can pass calls_per_minute.
        Plan.PRO: PlanSpec(PRO_URL, "x-cg-pro-api-key", 500, 20.0),
    }
)


# --- errors -------------------------------------------------------------------------------------------------


class CoinGeckoError(DefiscopeError):
    """Base of every CoinGecko failure; the message is one line saying what to do."""

    #: Whether the same request may succeed later unchanged.
    transient: bool = False


class CoinGeckoConfigError(CoinGeckoError):
    """The key, plan or base URL settings are inconsistent."""


class CoinGeckoInvalidInput(CoinGeckoError, ValueError):
    """A caller passed a malformed coin id, address, currency or an unknown chain."""


class CoinGeckoUnreachable(CoinGeckoError):
    """No connection could be made: offline, DNS failure, refused, TLS failure."""

    transient = True


class CoinGeckoTimeout(CoinGeckoError):
    """Connected, but no answer within the timeout."""

    transient = True


class CoinGeckoRateLimited(CoinGeckoError):
    """HTTP 429 still, after the bounded retries (or a Retry-After longer than we are willing to wait)."""

    transient = True

    def __init__(self, message: str, *, retry_after: float | None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class CoinGeckoAuthError(CoinGeckoError):
    """HTTP 401/403: the key is missing, wrong, or for the other plan."""

    def __init__(self, message: str, *, status: int) -> None:
        self.status = status
        super().__init__(message)


class CoinGeckoHttpError(CoinGeckoError):
    """Any other HTTP error status; 5xx is transient."""

    def __init__(self, message: str, *, status: int) -> None:
        self.status = status
        self.transient = status >= 500
        super().__init__(message)


class CoinGeckoMalformed(CoinGeckoError):
    """A 200 answer whose body is not the documented JSON (a captive portal, a proxy page, a changed API), or
    one out of range (a body too big, a number beyond what a price or a unix time can be). `source` names
    the base URL (redacted) that answered it."""

    def __init__(self, message: str, *, source: str) -> None:
        self.source = source
        super().__init__(message)


# --- answers ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CoinGeckoPrice:
    """One coin's (or contract's) price in each asked currency, and when CoinGecko last updated it."""

    key: str  # coin id, or lowercase contract address
    values: Mapping[str, Decimal]  # vs currency -> price; a currency CoinGecko gave null for is absent
    last_updated_at: int | None

    @property
    def usd(self) -> Decimal | None:
        return self.values.get("usd")


# --- rate limiter -------------------------------------------------------------------------------------------


class RateLimiter:
    """At most `calls` requests in any `period` seconds: a sliding window, which is how CoinGecko counts.

    `hold(seconds)` pauses every caller (after a 429, the server's Retry-After applies to all of them).
    Waiters are served in order, one at a time, under a lock.
    """

    __slots__ = ("_clock", "_hold_until", "_lock", "_sent", "_sleep", "calls", "period")

    def __init__(
        self,
        calls: int,
        period: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if calls < 1:
            raise CoinGeckoConfigError(f"calls per minute must be at least 1, got {calls}")
        self.calls = calls
        self.period = period
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._hold_until = 0.0
        self._lock = asyncio.Lock()

    def hold(self, seconds: float) -> None:
        self._hold_until = max(self._hold_until, self._clock() + seconds)

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                while self._sent and self._sent[0] <= now - self.period:
                    self._sent.popleft()
                wait = self._hold_until - now
                if len(self._sent) >= self.calls:
                    wait = max(wait, self._sent[0] + self.period - now)
                if wait <= 0:
                    self._sent.append(now)
                    return
                await self._sleep(wait)


# --- client -------------------------------------------------------------------------------------------------

_CacheKey = tuple[str, str, tuple[str, ...]]  # (path, id or address, currencies)


class CoinGeckoClient:
    """Async client of CoinGecko's `/simple` prices: batched, rate-limited, retried on 429/5xx, cached."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        pro: bool | None = None,
        base_url: str | None = None,
        calls_per_minute: int | None = None,
        cache_ttl: float | None = None,
        max_per_request: int = MAX_PER_REQUEST,
        max_retries: int = 3,
        max_retry_wait: float = 60.0,
        backoff: float = 1.0,
        timeout: float = 10.0,
        env: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        environ = os.environ if env is None else env
        key = (api_key if api_key is not None else environ.get(ENV_KEY, "")).strip() or None
        if pro is None:
            pro = _env_flag(environ.get(ENV_PRO, ""))
        if pro and key is None:
            raise CoinGeckoConfigError(
                f"the CoinGecko pro plan needs an API key: set {ENV_KEY} (sent as x-cg-pro-api-key) or unset {ENV_PRO}"
            )
        self.plan = Plan.PRO if pro else Plan.DEMO if key else Plan.PUBLIC
        spec = PLANS[self.plan]
        self.base_url = _check_url(base_url or environ.get(ENV_URL, "").strip() or spec.base_url)
        self.key_header = spec.key_header
        self.calls_per_minute = calls_per_minute or spec.calls_per_minute
        self.cache_ttl = spec.cache_ttl if cache_ttl is None else cache_ttl
        if max_per_request < 1 or max_retries < 0:
            raise CoinGeckoConfigError(
                f"need max_per_request >= 1 and max_retries >= 0, got {max_per_request} and {max_retries}"
            )
        self.max_per_request = max_per_request
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self.backoff = backoff
        self.requests = 0  # HTTP requests sent, retries included (for tests and benchmarks)
        self._key = key
        self._clock = clock
        self._limiter = RateLimiter(self.calls_per_minute, clock=clock, sleep=sleep)
        self._cache: dict[_CacheKey, tuple[float, CoinGeckoPrice | None]] = {}
        headers = {"accept": "application/json", "user-agent": "defiscope"}
        if key is not None:
            headers[spec.key_header] = key
        self._http = httpx.AsyncClient(
            base_url=self.base_url + "/", headers=headers, timeout=httpx.Timeout(timeout), transport=transport
        )

    @property
    def where(self) -> str:
        """The base URL, safe to print (credentials and query strings redacted)."""
        return redact_url(self.base_url)

    def __repr__(self) -> str:  # the key never appears, not even in a traceback's locals
        return f"CoinGeckoClient(plan={self.plan.value}, url={self.where!r}, key={'***' if self._key else None})"

    async def __aenter__(self) -> CoinGeckoClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def simple_price(
        self, ids: Iterable[str], vs_currencies: Sequence[str] = ("usd",)
    ) -> dict[str, CoinGeckoPrice]:
        """Current prices by CoinGecko coin id (`GET /simple/price`); ids CoinGecko does not know are absent."""
        wanted = _unique(_check_id(i) for i in ids)
        params = {"include_last_updated_at": "true", "precision": "full"}
        return await self._lookup("simple/price", "ids", wanted, _check_currencies(vs_currencies), params)

    async def token_price(
        self, platform: str, contract_addresses: Iterable[str], vs_currencies: Sequence[str] = ("usd",)
    ) -> dict[str, CoinGeckoPrice]:
        """Current prices by contract address (`GET /simple/token_price/{platform}`), keyed by lowercase
        address; addresses CoinGecko does not list on that platform are absent."""
        if not _COIN_ID.fullmatch(platform):
            raise CoinGeckoInvalidInput(f"invalid CoinGecko platform id {platform!r}; e.g. {PLATFORMS[1]!r}")
        wanted = _unique(_check_address(a) for a in contract_addresses)
        # precision=full is documented for this endpoint too; without it small prices are rounded.
        params = {"include_last_updated_at": "true", "precision": "full"}
        path = f"simple/token_price/{platform}"
        return await self._lookup(path, "contract_addresses", wanted, _check_currencies(vs_currencies), params)

    async def _lookup(
        self,
        path: str,
        list_param: str,
        keys: Sequence[str],
        currencies: tuple[str, ...],
        params: Mapping[str, str],
    ) -> dict[str, CoinGeckoPrice]:
        now = self._clock()
        known: dict[str, CoinGeckoPrice | None] = {}
        missing: list[str] = []
        for key in keys:
            cached = self._cache.get((path, key, currencies))
            if cached is not None and cached[0] > now:
                known[key] = cached[1]
            else:
                missing.append(key)
        for start in range(0, len(missing), self.max_per_request):
            chunk = missing[start : start + self.max_per_request]
            query = {list_param: ",".join(chunk), "vs_currencies": ",".join(currencies), **params}
            answer = _parse_prices(await self._get(path, query, len(chunk)), currencies, path, self.where)
            expires = self._clock() + self.cache_ttl
            for key in chunk:
                # An absent key is an answer too ("not listed"): caching it spares the rate limit.
                known[key] = answer.get(key)
                self._cache[(path, key, currencies)] = (expires, known[key])
        self._evict(now)
        return {key: price for key in keys if (price := known.get(key)) is not None}

    def _evict(self, now: float) -> None:
        if len(self._cache) > 4 * MAX_PER_REQUEST:
            for key in [k for k, (expires, _) in self._cache.items() if expires <= now]:
                del self._cache[key]

    async def _get(self, path: str, query: Mapping[str, str], count: int) -> str:
        """One GET with bounded retries on 429 and 5xx; connection failures fail at once (retrying an
        offline machine only delays the other sources' answer)."""
        for attempt in range(self.max_retries + 1):
            await self._limiter.acquire()
            self.requests += 1
            log.debug("coingecko request", path=path, items=count, attempt=attempt)
            try:
                response, body = await self._fetch(path, query)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                raise CoinGeckoUnreachable(
                    f"CoinGecko is unreachable at {self.where} ({_reason(exc)}): check the network or set "
                    f"{ENV_URL}; prices from other sources still work"
                ) from exc
            except httpx.TimeoutException as exc:
                raise CoinGeckoTimeout(
                    f"CoinGecko at {self.where} did not answer /{path} in time ({_reason(exc)}); "
                    "prices from other sources still work"
                ) from exc
            except httpx.TransportError as exc:
                raise CoinGeckoUnreachable(
                    f"CoinGecko at {self.where} dropped the connection ({_reason(exc)}): check the network or "
                    f"set {ENV_URL}; prices from other sources still work"
                ) from exc
            status = response.status_code
            if status == 200:
                return body
            if status in (401, 403):
                raise CoinGeckoAuthError(self._auth_message(response, body), status=status)
            if status != 429 and status < 500:
                raise CoinGeckoHttpError(
                    f"CoinGecko at {self.where} answered HTTP {status} for /{path}: {self._detail(response, body)}",
                    status=status,
                )
            retry_after = _retry_after(response.headers.get("retry-after")) if status == 429 else None
            wait = retry_after if retry_after is not None else min(self.backoff * 2**attempt, self.max_retry_wait)
            if attempt == self.max_retries or wait > self.max_retry_wait:
                break
            log.warning("coingecko retry", path=path, status=status, wait=wait, attempt=attempt + 1)
            # Holding the limiter (not just sleeping here) keeps concurrent callers from piling on too.
            self._limiter.hold(wait)
        if status == 429:
            after = f"; CoinGecko asks to retry after {retry_after:g} s" if retry_after is not None else ""
            raise CoinGeckoRateLimited(
                f"CoinGecko at {self.where} rate-limited /{path} (HTTP 429) after {attempt + 1} attempt(s){after}: "
                f"lower calls_per_minute or set {ENV_KEY} for a higher plan",
                retry_after=retry_after,
            )
        raise CoinGeckoHttpError(
            f"CoinGecko at {self.where} answered HTTP {status} for /{path} after {attempt + 1} attempt(s): "
            f"{self._detail(response, body)}",
            status=status,
        )

    async def _fetch(self, path: str, query: Mapping[str, str]) -> tuple[httpx.Response, str]:
        """GET with the body read up to `MAX_BODY_BYTES`: a larger answer is not CoinGecko's (a documented
        answer of MAX_PER_REQUEST entries is far smaller) and is refused before it fills memory."""
        async with self._http.stream("GET", path, params=query) as response:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise CoinGeckoMalformed(
                        f"CoinGecko at {self.where} answered /{path} with a body over {MAX_BODY_BYTES} bytes",
                        source=self.where,
                    )
                chunks.append(chunk)
        return response, b"".join(chunks).decode(response.encoding or "utf-8", errors="replace")

    def _auth_message(self, response: httpx.Response, body: str) -> str:
        status, detail = response.status_code, self._detail(response, body)
        if self._key is None:
            fix = f"no API key was sent; set {ENV_KEY} (sent as {self.key_header})"
        elif self.plan is Plan.PRO:
            fix = (
                f"the key sent in {self.key_header} was refused; check {ENV_KEY}, and unset {ENV_PRO} "
                "if it is a demo key"
            )
        else:
            fix = (
                f"the key sent in {self.key_header} was refused; check {ENV_KEY}, and set {ENV_PRO}=1 "
                "if it is a pro key"
            )
        return f"CoinGecko at {self.where} answered HTTP {status} ({detail}): {fix}"

    def _detail(self, response: httpx.Response, body: str) -> str:
        """CoinGecko's own error message, one line, short, and without our key should it echo it."""
        text = body[:MAX_ERROR_BODY]  # an error body is a line of JSON: a longer one is cut, not parsed whole
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            doc = None
        detail: object = text
        if isinstance(doc, dict):
            status = doc.get("status")
            if isinstance(status, dict) and "error_message" in status:
                detail = status["error_message"]
            elif "error" in doc:
                detail = doc["error"]
        line = " ".join(str(detail).split())[:160] or response.reason_phrase or "no body"
        return line.replace(self._key, "***") if self._key else line


def platform_for_chain(chain_id: int) -> str:
    """CoinGecko's asset-platform id of a chain; an unmapped chain raises naming the known ones."""
    platform = PLATFORMS.get(chain_id)
    if platform is None:
        known = ", ".join(f"{c} ({p})" for c, p in PLATFORMS.items())
        raise CoinGeckoInvalidInput(f"no CoinGecko platform for chain {chain_id}; known: {known}")
    return platform


# --- source -------------------------------------------------------------------------------------------------


class CoinGeckoSource:
    """`PriceSource` of current CoinGecko prices: by contract address on the reader's chain, then by the
    deployment's `coingecko_id` for addresses CoinGecko does not know (e.g. devnet tokens).

    Never raises for a CoinGecko failure: each token gets a `PriceMiss` with the one-line reason, so one
    source being offline never costs a TVL snapshot.
    """

    name = "coingecko"

    def __init__(
        self,
        client: CoinGeckoClient,
        *,
        deployments: Iterable[Deployment] = (),
        freshness: float = FRESHNESS,
        confidence: float = CONFIDENCE,
    ) -> None:
        self.client = client
        self.freshness = freshness
        self.confidence = confidence
        self._ids = {
            (d.chain_id, t.address.lower()): t.coingecko_id
            for d in deployments
            for t in d.tokens.values()
            if t.coingecko_id
        }

    async def prices(self, reader: Reader, tokens: Sequence[TokenRef]) -> dict[str, PriceAnswer]:
        chain_id, block = reader.chain_id, reader.block
        answers: dict[str, PriceAnswer] = {}
        todo: list[TokenRef] = []
        for token in tokens:
            if token.chain_id != chain_id:
                answers[token.address] = PriceMiss(self.name, f"token is on chain {token.chain_id}, not {chain_id}")
            else:
                todo.append(token)
        platform = PLATFORMS.get(chain_id)
        by_address: dict[str, CoinGeckoPrice] = {}
        by_id: dict[str, CoinGeckoPrice] = {}
        try:
            if platform is not None and todo:
                by_address = await self.client.token_price(platform, [t.address for t in todo])
            ids = [
                cg_id
                for t in todo
                if t.address.lower() not in by_address and (cg_id := self._ids.get((chain_id, t.address.lower())))
            ]
            if ids:
                by_id = await self.client.simple_price(ids)
        except CoinGeckoError as exc:
            # Whatever the address lookup did answer is still good; only the rest misses.
            reason = str(exc)
            for token in todo:
                price = by_address.get(token.address.lower())
                answers[token.address] = (
                    self._answer(token, price, block.number, block.timestamp)
                    if price is not None
                    else PriceMiss(self.name, reason)
                )
            return answers
        for token in todo:
            price = by_address.get(token.address.lower())
            if price is None and (cg_id := self._ids.get((chain_id, token.address.lower()))):
                price = by_id.get(cg_id)
            if price is None:
                where = f"on {platform}" if platform else f"(no CoinGecko platform for chain {chain_id})"
                answers[token.address] = PriceMiss(self.name, f"not listed on CoinGecko {where}")
            else:
                answers[token.address] = self._answer(token, price, block.number, block.timestamp)
        return answers

    def _answer(self, token: TokenRef, price: CoinGeckoPrice, block_number: int, block_time: int) -> PriceAnswer:
        usd = price.usd
        if usd is None:
            return PriceMiss(self.name, "listed on CoinGecko without a USD price")
        if usd <= 0:
            return PriceMiss(self.name, f"CoinGecko lists it at {usd} USD (no market)")
        if price.last_updated_at is None:
            return PriceMiss(self.name, "CoinGecko gave no last_updated_at, so the price's time is unknown")
        gap = price.last_updated_at - block_time
        if gap > self.freshness:
            return PriceMiss(self.name, f"CoinGecko gives current prices only; block {block_number} is {_age(gap)} old")
        if -gap > self.freshness:
            return PriceMiss(
                self.name,
                f"CoinGecko's price was last updated {_age(-gap)} before block {block_number}; too stale to use",
            )
        return PriceQuote(
            chain_id=token.chain_id,
            token=token.address,
            usd=usd,
            source=self.name,
            timestamp=price.last_updated_at,
            confidence=self.confidence,
            block_number=None,
        )


# --- helpers ------------------------------------------------------------------------------------------------


def _parse_prices(text: str, currencies: tuple[str, ...], path: str, where: str) -> dict[str, CoinGeckoPrice]:
    """The documented `{key: {currency: price, ..., "last_updated_at": unix}}`, numbers as exact Decimals.

    Every number is range-checked as a Decimal before it is converted, so no answer can make the conversion
    itself expensive; every failure is a `CoinGeckoMalformed` naming the source and the path.
    """

    def malformed(what: str) -> CoinGeckoMalformed:
        return CoinGeckoMalformed(f"CoinGecko at {where} answered a malformed body for /{path}: {what}", source=where)

    if len(text) > MAX_BODY_BYTES:
        raise malformed(f"a body of {len(text)} characters (at most {MAX_BODY_BYTES})")
    if _too_deep(text, MAX_JSON_DEPTH):  # deep nesting can overflow the C stack of json's decoder
        raise malformed(f"not JSON of the documented shape (nested deeper than {MAX_JSON_DEPTH})")
    try:
        # parse_float=Decimal: "0.000012345678901234" must not pass through a binary float.
        body = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        snippet = " ".join(text.split())[:60]
        raise malformed(f"not JSON ({str(exc)[:80]}); starts {snippet!r}") from exc
    if not isinstance(body, dict):
        raise malformed(f"expected an object keyed by id or address, got {type(body).__name__}")
    prices: dict[str, CoinGeckoPrice] = {}
    for raw_key, entry in body.items():
        if not isinstance(entry, dict):
            raise malformed(f"entry {raw_key[:80]!r} is {type(entry).__name__}, not an object")
        values: dict[str, Decimal] = {}
        for currency in currencies:
            value = entry.get(currency)
            if value is None:  # CoinGecko sends null (or nothing) when it has no price in that currency
                continue
            price = _price(value)
            if price is None:
                raise malformed(f"{raw_key[:80]}.{currency} is {_short(value)}, not a price")
            values[currency] = price
        stamp = entry.get("last_updated_at")
        if stamp is not None:
            checked = _unix_time(stamp)
            if checked is None:
                raise malformed(f"{raw_key[:80]}.last_updated_at is {_short(stamp)}, not a unix time")
            stamp = checked
        key = raw_key.lower()
        prices[key] = CoinGeckoPrice(key, MappingProxyType(values), stamp)
    return prices


_NOT_BRACKET: Final = re.compile(r"[^\[\]{}]+")


def _too_deep(text: str, limit: int) -> bool:
    """Whether brackets nest deeper than `limit`, counting those inside strings too: linear whatever the
    text (a string-aware scan can be made quadratic), and no documented answer has brackets in its strings."""
    depth = 0
    for char in _NOT_BRACKET.sub("", text):
        depth += 1 if char in "[{" else -1
        if depth > limit:
            return True
    return False


def _price(value: object) -> Decimal | None:
    """A finite, non-negative number whose decimal exponent is in range; None otherwise (no conversion of
    an out-of-range value is ever attempted)."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return None
    number = Decimal(value) if isinstance(value, int) else value  # json ints have at most 4300 digits
    if not number.is_finite() or number < 0:
        return None
    if number and not -MAX_PRICE_EXPONENT <= number.adjusted() <= MAX_PRICE_EXPONENT:
        return None
    return number


def _unix_time(value: object) -> int | None:
    """A whole number of seconds in [0, 2^63); compared as a Decimal first, converted only when in range."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return None
    if isinstance(value, Decimal) and not value.is_finite():
        return None
    if not 0 <= value <= MAX_UNIX_TIME:
        return None
    if isinstance(value, Decimal) and value != value.to_integral_value():
        return None
    return int(value)


def _short(value: object) -> str:
    return repr(value)[:40]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a price")


def _check_id(coin_id: str) -> str:
    cleaned = coin_id.strip().lower()
    if not _COIN_ID.fullmatch(cleaned):
        raise CoinGeckoInvalidInput(f"invalid CoinGecko coin id {coin_id!r}; e.g. 'ethereum', 'usd-coin'")
    return cleaned


def _check_address(address: str) -> str:
    if not _ADDRESS.fullmatch(address.strip()):
        raise CoinGeckoInvalidInput(f"invalid contract address {address!r}; expected 0x and 40 hex digits")
    return address.strip().lower()  # CoinGecko's documented keys are lowercase


def _check_currencies(currencies: Sequence[str]) -> tuple[str, ...]:
    if isinstance(currencies, str):  # "usd" would otherwise become ("u", "s", "d")
        currencies = (currencies,)
    cleaned = _unique(c.strip().lower() for c in currencies)
    if not cleaned or not all(re.fullmatch(r"[a-z0-9]+", c) for c in cleaned):
        raise CoinGeckoInvalidInput(f"invalid vs_currencies {list(currencies)!r}; e.g. ['usd']")
    return tuple(cleaned)


def _check_url(url: str) -> str:
    parsed = httpx.URL(url) if "://" in url else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise CoinGeckoConfigError(
            f"invalid CoinGecko base URL {redact_url(url)!r} (from {ENV_URL} or base_url): expected "
            f"http(s)://host[:port]/path, e.g. {PUBLIC_URL}"
        )
    return url.rstrip("/")


def _env_flag(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise CoinGeckoConfigError(f"{ENV_PRO}={value!r}: expected 1 or 0")


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _retry_after(header: str | None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date (RFC 9110 allows both)."""
    if header is None:
        return None
    header = header.strip()
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _reason(exc: BaseException) -> str:
    """The root cause in a few words: httpx says "All connection attempts failed" for a refused port, the
    useful "Connection refused" / "Name or service not known" sits further down the exception chain."""
    cause: BaseException | None = exc
    for _ in range(8):
        if cause is None:
            break
        if isinstance(cause, socket.gaierror):
            return f"DNS lookup failed: {cause.strerror}"
        if isinstance(cause, OSError) and cause.errno is not None and cause.errno > 0:
            return os.strerror(cause.errno)
        nested = getattr(cause, "exceptions", None)  # an ExceptionGroup of per-address attempts
        cause = cause.__cause__ or cause.__context__ or (nested[0] if nested else None)
    text = " ".join(str(exc).split())
    return text[:120] if text else type(exc).__name__


def _age(seconds: float) -> str:
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 72 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"
