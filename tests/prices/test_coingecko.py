"""CoinGecko client and source against bodies written from CoinGecko's documented examples.

Most tests answer through `httpx.MockTransport` (the handler sees every request); two go over real
sockets on 127.0.0.1: a local HTTP server standing in via DEFISCOPE_COINGECKO_URL, and a closed port for
the offline case. Time is fake (`FakeTime`), so rate limits and Retry-After cost no wall-clock time.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from defiscope.chain.block import BlockRef
from defiscope.chain.client import ChainClient, Snapshot
from defiscope.chain.reader import Batcher, Reader
from defiscope.deployments import Deployment, TokenInfo
from defiscope.prices.base import PriceMiss, TokenRef
from defiscope.prices.coingecko import (
    MAX_BODY_BYTES,
    MAX_PER_REQUEST,
    PLATFORMS,
    CoinGeckoAuthError,
    CoinGeckoClient,
    CoinGeckoConfigError,
    CoinGeckoHttpError,
    CoinGeckoInvalidInput,
    CoinGeckoMalformed,
    CoinGeckoPrice,
    CoinGeckoRateLimited,
    CoinGeckoSource,
    CoinGeckoUnreachable,
    Plan,
    RateLimiter,
    platform_for_chain,
)
from defiscope.prices.quote import PriceQuote

FIXTURES = Path(__file__).parent / "fixtures"
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
WBTC = "0x2260FAC5E5542a773Aa44fBCfeDf7C193bc2C599"
DAI = "0x6B175474E89094C44Da98b954EedeAC495271d0F"
UNLISTED = "0x1111111111111111111111111111111111111111"
DEVNET_WETH = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
KEY = "CG-secret-key-123"
UPDATED = 1711356300  # last_updated_at of WBTC, ethereum and bitcoin in the fixtures


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text()


def served(name: str, keys: Sequence[str]) -> str:
    """The fixture's entries for `keys` only, as CoinGecko omits what it does not list; numbers are copied
    digit for digit (a round trip through json would turn them into floats)."""
    raw = json.loads(fixture_text(name), parse_float=lambda s: f"\x00{s}\x00", parse_int=lambda s: f"\x00{s}\x00")
    picked = {k: v for k, v in raw.items() if k in keys}
    return re.sub(r'"\\u0000([^"]*)\\u0000"', r"\1", json.dumps(picked))


class FakeTime:
    """A monotonic clock that `sleep` advances, recording every wait."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """MockTransport handler serving the fixtures the way CoinGecko does, and keeping every request."""

    def __init__(self, script: Sequence[httpx.Response] = ()) -> None:
        self.requests: list[httpx.Request] = []
        self.script = list(script)  # canned answers first, then the fixtures

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.script:
            return self.script.pop(0)
        params = request.url.params
        if request.url.path.endswith("/simple/price"):
            return httpx.Response(200, text=served("simple_price.json", params["ids"].split(",")))
        if request.url.path.endswith("/simple/token_price/ethereum"):
            keys = params["contract_addresses"].split(",")
            return httpx.Response(200, text=served("token_price_ethereum.json", keys))
        if "/simple/token_price/" in request.url.path:
            return httpx.Response(200, text="{}")
        return httpx.Response(404, json={"error": "Not Found"})

    def param(self, i: int, name: str) -> str:
        return self.requests[i].url.params[name]


def client_for(
    handler: Handler, clock: FakeTime | None = None, env: dict[str, str] | None = None, **options: Any
) -> CoinGeckoClient:
    clock = clock or FakeTime()
    return CoinGeckoClient(
        env=env or {}, transport=httpx.MockTransport(handler), clock=clock.clock, sleep=clock.sleep, **options
    )


# --- parsing ------------------------------------------------------------------------------------------------


async def test_simple_price_parses_exact_decimals_and_sends_documented_query() -> None:
    rec = Recorder()
    async with client_for(rec) as cg:
        prices = await cg.simple_price(["ethereum", "shiba-inu", "bitcoin"])

    assert list(prices) == ["ethereum", "shiba-inu", "bitcoin"]
    assert prices["shiba-inu"] == CoinGeckoPrice("shiba-inu", {"usd": Decimal("0.000012345678901234")}, 1711356240)
    assert str(prices["shiba-inu"].usd) == "0.000012345678901234"  # a float would give 1.2345678901234e-05
    assert prices["bitcoin"].usd == Decimal("67187.3358936566")
    assert prices["ethereum"].usd == Decimal("3000.12")
    assert prices["ethereum"].last_updated_at == UPDATED
    (request,) = rec.requests
    assert request.method == "GET"
    assert str(request.url).split("?")[0] == "https://api.coingecko.com/api/v3/simple/price"
    assert dict(request.url.params) == {
        "ids": "ethereum,shiba-inu,bitcoin",
        "vs_currencies": "usd",
        "include_last_updated_at": "true",
        "precision": "full",
    }


async def test_token_price_lowercases_addresses_and_keys() -> None:
    rec = Recorder()
    async with client_for(rec) as cg:
        prices = await cg.token_price("ethereum", [USDC, WBTC, USDC.lower(), UNLISTED])

    assert prices == {
        USDC.lower(): CoinGeckoPrice(USDC.lower(), {"usd": Decimal("0.999912345678901234")}, 1711356290),
        WBTC.lower(): CoinGeckoPrice(WBTC.lower(), {"usd": Decimal("67187.3358936566")}, UPDATED),
    }
    (request,) = rec.requests
    assert request.url.path == "/api/v3/simple/token_price/ethereum"
    assert dict(request.url.params) == {
        "contract_addresses": f"{USDC.lower()},{WBTC.lower()},{UNLISTED}",  # deduplicated across case
        "vs_currencies": "usd",
        "include_last_updated_at": "true",
        "precision": "full",
    }


async def test_mixed_case_keys_in_answer_are_normalised_and_integers_are_exact() -> None:
    body = '{"0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48": {"usd": 1, "eur": 0.92, "last_updated_at": 1711356290}}'
    rec = Recorder([httpx.Response(200, text=body)])
    async with client_for(rec) as cg:
        prices = await cg.token_price("ethereum", [USDC], vs_currencies=("usd", "EUR"))

    assert prices[USDC.lower()].values == {"usd": Decimal(1), "eur": Decimal("0.92")}
    assert rec.param(0, "vs_currencies") == "usd,eur"


async def test_null_price_is_absent_not_zero() -> None:
    body = '{"ethereum": {"usd": null, "last_updated_at": 1711356300}}'
    async with client_for(Recorder([httpx.Response(200, text=body)])) as cg:
        prices = await cg.simple_price(["ethereum"])
    assert prices["ethereum"].values == {}
    assert prices["ethereum"].usd is None


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            "<html><body>Just a moment...</body></html>",
            "not JSON (Expecting value: line 1 column 1 (char 0)); starts '<html><body>Just a moment...</body></html>'",
        ),
        ('[{"usd": 1}]', "expected an object keyed by id or address, got list"),
        ('{"ethereum": 3000.12}', "entry 'ethereum' is Decimal, not an object"),
        ('{"ethereum": {"usd": "3000.12"}}', "ethereum.usd is '3000.12', not a price"),
        ('{"ethereum": {"usd": NaN}}', 'not JSON (NaN is not a price); starts \'{"ethereum": {"usd": NaN}}\''),
        ('{"ethereum": {"usd": 1, "last_updated_at": "soon"}}', "ethereum.last_updated_at is 'soon', not a unix time"),
    ],
)
async def test_malformed_body_names_the_problem(body: str, detail: str) -> None:
    async with client_for(Recorder([httpx.Response(200, text=body)])) as cg:
        with pytest.raises(CoinGeckoMalformed) as caught:
            await cg.simple_price(["ethereum"])
    assert str(caught.value) == (
        f"CoinGecko at https://api.coingecko.com answered a malformed body for /simple/price: {detail}"
    )


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ('{"ethereum": {"usd": 1, "last_updated_at": 1e5000000}}', "last_updated_at is Decimal('1E+5000000')"),
        ('{"ethereum": {"usd": 1, "last_updated_at": -1}}', "last_updated_at is -1, not a unix time"),
        ('{"ethereum": {"usd": 1, "last_updated_at": 1700000000.5}}', "last_updated_at is Decimal('1700000000.5')"),
        ('{"ethereum": {"usd": 1, "last_updated_at": 9223372036854775808}}', "last_updated_at is 9223372036854775808"),
        ('{"ethereum": {"usd": 1e5000000}}', "ethereum.usd is Decimal('1E+5000000'), not a price"),
        ('{"ethereum": {"usd": 1e-5000000}}', "ethereum.usd is Decimal('1E-5000000'), not a price"),
        ('{"ethereum": {"usd": -3}}', "ethereum.usd is -3, not a price"),
        ("[" * 100_000 + "]" * 100_000, "not JSON"),
        ('{"ethereum": {"usd": ' + "9" * 5000 + "}}", "not JSON"),
    ],
)
async def test_out_of_range_numbers_are_refused_before_conversion(body: str, detail: str) -> None:
    started = time.process_time()  # CPU, not wall time: a busy machine stretches the latter
    async with client_for(Recorder([httpx.Response(200, text=body)])) as cg:
        with pytest.raises(CoinGeckoMalformed) as caught:
            await cg.simple_price(["ethereum"])
    assert time.process_time() - started < 1.0  # int(Decimal("1e5000000")) alone would take minutes
    assert detail in str(caught.value)
    assert caught.value.source == "https://api.coingecko.com"


async def test_a_body_over_the_cap_is_refused_unread() -> None:
    huge = b'{"ethereum": {"usd": 1, "pad": "' + b"x" * MAX_BODY_BYTES + b'"}}'
    async with client_for(Recorder([httpx.Response(200, content=huge)])) as cg:
        with pytest.raises(CoinGeckoMalformed, match=f"with a body over {MAX_BODY_BYTES} bytes"):
            await cg.simple_price(["ethereum"])


async def test_a_small_price_and_a_plain_time_pass() -> None:
    body = '{"pepe": {"usd": 0.000000000001234, "last_updated_at": 1700000000}}'
    async with client_for(Recorder([httpx.Response(200, text=body)])) as cg:
        price = (await cg.simple_price(["pepe"]))["pepe"]
    assert (price.usd, price.last_updated_at) == (Decimal("0.000000000001234"), 1_700_000_000)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda cg: cg.token_price("ethereum", ["0x1234"]),
            "invalid contract address '0x1234'; expected 0x and 40 hex digits",
        ),
        (
            lambda cg: cg.simple_price(["ethereum,bitcoin"]),
            "invalid CoinGecko coin id 'ethereum,bitcoin'; e.g. 'ethereum', 'usd-coin'",
        ),
        (lambda cg: cg.simple_price(["ethereum"], vs_currencies=()), "invalid vs_currencies []; e.g. ['usd']"),
    ],
)
async def test_invalid_input_is_refused_before_any_request(call: Any, message: str) -> None:
    rec = Recorder()
    async with client_for(rec) as cg:
        with pytest.raises(CoinGeckoInvalidInput) as caught:
            await call(cg)
    assert str(caught.value) == message
    assert rec.requests == []


def test_platform_ids_per_chain() -> None:
    assert dict(PLATFORMS) == {
        1: "ethereum",
        56: "binance-smart-chain",
        42161: "arbitrum-one",
        10: "optimistic-ethereum",
        8453: "base",
        137: "polygon-pos",
    }
    assert platform_for_chain(8453) == "base"
    with pytest.raises(CoinGeckoInvalidInput, match=r"^no CoinGecko platform for chain 31337; known: 1 \(ethereum\)"):
        platform_for_chain(31337)


# --- plans and headers --------------------------------------------------------------------------------------


async def test_keyless_public_plan_sends_no_key_header() -> None:
    rec = Recorder()
    async with client_for(rec) as cg:
        await cg.simple_price(["ethereum"])
    assert (cg.plan, cg.calls_per_minute, cg.cache_ttl) == (Plan.PUBLIC, 10, 60.0)
    headers = rec.requests[0].headers
    assert "x-cg-demo-api-key" not in headers
    assert "x-cg-pro-api-key" not in headers
    assert headers["accept"] == "application/json"


async def test_demo_key_from_env_goes_in_demo_header() -> None:
    rec = Recorder()
    async with client_for(rec, env={"DEFISCOPE_COINGECKO_API_KEY": KEY}) as cg:
        await cg.simple_price(["ethereum"])
    assert (cg.plan, cg.calls_per_minute) == (Plan.DEMO, 30)
    request = rec.requests[0]
    assert request.url.host == "api.coingecko.com"
    assert request.headers["x-cg-demo-api-key"] == KEY
    assert "x-cg-pro-api-key" not in request.headers
    assert KEY not in str(request.url)
    assert repr(cg) == "CoinGeckoClient(plan=demo, url='https://api.coingecko.com', key=***)"


async def test_pro_key_from_env_goes_to_pro_url_in_pro_header() -> None:
    rec = Recorder()
    env = {"DEFISCOPE_COINGECKO_API_KEY": KEY, "DEFISCOPE_COINGECKO_PRO": "1"}
    async with client_for(rec, env=env) as cg:
        await cg.token_price("ethereum", [USDC])
    assert (cg.plan, cg.calls_per_minute, cg.cache_ttl) == (Plan.PRO, 500, 20.0)
    request = rec.requests[0]
    assert str(request.url).split("?")[0] == "https://pro-api.coingecko.com/api/v3/simple/token_price/ethereum"
    assert request.headers["x-cg-pro-api-key"] == KEY
    assert "x-cg-demo-api-key" not in request.headers


async def test_constructor_arguments_override_env() -> None:
    rec = Recorder()
    env = {"DEFISCOPE_COINGECKO_API_KEY": "env-key", "DEFISCOPE_COINGECKO_URL": "http://ignored.example"}
    async with client_for(
        rec, env=env, api_key=KEY, pro=True, base_url="http://127.0.0.1:9/cg/", calls_per_minute=1000
    ) as cg:
        await cg.simple_price(["ethereum"])
    assert str(rec.requests[0].url).split("?")[0] == "http://127.0.0.1:9/cg/simple/price"
    assert rec.requests[0].headers["x-cg-pro-api-key"] == KEY
    assert cg.calls_per_minute == 1000


def test_pro_without_key_is_a_config_error() -> None:
    with pytest.raises(CoinGeckoConfigError) as caught:
        CoinGeckoClient(env={"DEFISCOPE_COINGECKO_PRO": "1"})
    assert str(caught.value) == (
        "the CoinGecko pro plan needs an API key: set DEFISCOPE_COINGECKO_API_KEY (sent as x-cg-pro-api-key) "
        "or unset DEFISCOPE_COINGECKO_PRO"
    )


def test_bad_base_url_is_a_config_error() -> None:
    with pytest.raises(CoinGeckoConfigError, match=r"^invalid CoinGecko base URL 'api\.coingecko\.com'"):
        CoinGeckoClient(env={"DEFISCOPE_COINGECKO_URL": "api.coingecko.com"})


# --- batching, rate limits, retries, cache ------------------------------------------------------------------


async def test_long_lists_are_chunked_at_the_documented_limit() -> None:
    rec = Recorder()
    addresses = [f"0x{i:040x}" for i in range(1, 600)] + [USDC]
    async with client_for(rec) as cg:
        prices = await cg.token_price("ethereum", addresses)
    assert MAX_PER_REQUEST == 515
    sent = [rec.param(i, "contract_addresses").split(",") for i in range(len(rec.requests))]
    assert [len(chunk) for chunk in sent] == [515, 85]
    assert sent[0] + sent[1] == [a.lower() for a in addresses]
    assert list(prices) == [USDC.lower()]


async def test_chunks_merge_into_one_answer() -> None:
    rec = Recorder()
    async with client_for(rec, max_per_request=2) as cg:
        prices = await cg.simple_price(["ethereum", "bitcoin", "shiba-inu", "weth", "not-a-coin"])
    assert [rec.param(i, "ids") for i in range(3)] == ["ethereum,bitcoin", "shiba-inu,weth", "not-a-coin"]
    assert {k: p.usd for k, p in prices.items()} == {
        "ethereum": Decimal("3000.12"),
        "bitcoin": Decimal("67187.3358936566"),
        "shiba-inu": Decimal("0.000012345678901234"),
        "weth": Decimal("2999.87654321"),
    }


async def test_429_with_retry_after_waits_then_succeeds() -> None:
    limited = httpx.Response(429, headers={"Retry-After": "7"}, text=fixture_text("error_429.json"))
    rec, clock = Recorder([limited]), FakeTime()
    async with client_for(rec, clock) as cg:
        prices = await cg.simple_price(["ethereum"])
    assert prices["ethereum"].usd == Decimal("3000.12")
    assert len(rec.requests) == 2
    assert clock.sleeps == [7.0]


async def test_429_without_retry_after_backs_off_exponentially_then_gives_up() -> None:
    limited = httpx.Response(429, text=fixture_text("error_429.json"))
    rec, clock = Recorder([limited] * 4), FakeTime()
    async with client_for(rec, clock, max_retries=3, backoff=0.5) as cg:
        with pytest.raises(CoinGeckoRateLimited) as caught:
            await cg.simple_price(["ethereum"])
    assert clock.sleeps == [0.5, 1.0, 2.0]
    assert len(rec.requests) == 4
    assert caught.value.retry_after is None
    assert str(caught.value) == (
        "CoinGecko at https://api.coingecko.com rate-limited /simple/price (HTTP 429) after 4 attempt(s): "
        "lower calls_per_minute or set DEFISCOPE_COINGECKO_API_KEY for a higher plan"
    )


async def test_retry_after_longer_than_we_wait_fails_at_once() -> None:
    limited = httpx.Response(429, headers={"Retry-After": "3600"}, text=fixture_text("error_429.json"))
    rec, clock = Recorder([limited]), FakeTime()
    async with client_for(rec, clock, max_retry_wait=60.0) as cg:
        with pytest.raises(CoinGeckoRateLimited) as caught:
            await cg.simple_price(["ethereum"])
    assert (len(rec.requests), clock.sleeps, caught.value.retry_after) == (1, [], 3600.0)
    assert str(caught.value).endswith(
        "after 1 attempt(s); CoinGecko asks to retry after 3600 s: lower calls_per_minute or set "
        "DEFISCOPE_COINGECKO_API_KEY for a higher plan"
    )


async def test_server_error_is_retried_and_other_4xx_is_not() -> None:
    rec, clock = Recorder([httpx.Response(503, text="upstream busy")]), FakeTime()
    async with client_for(rec, clock) as cg:
        prices = await cg.simple_price(["bitcoin"])
    assert (prices["bitcoin"].usd, len(rec.requests), clock.sleeps) == (Decimal("67187.3358936566"), 2, [1.0])

    rec = Recorder([httpx.Response(404, json={"error": "asset platform not found"})])
    async with client_for(rec) as cg:
        with pytest.raises(CoinGeckoHttpError) as caught:
            await cg.token_price("not-a-chain", [USDC])
    assert (caught.value.status, caught.value.transient, len(rec.requests)) == (404, False, 1)
    assert str(caught.value) == (
        "CoinGecko at https://api.coingecko.com answered HTTP 404 for /simple/token_price/not-a-chain: "
        "asset platform not found"
    )


async def test_answers_are_cached_for_the_ttl_including_unlisted() -> None:
    rec, clock = Recorder(), FakeTime()
    async with client_for(rec, clock, cache_ttl=60.0) as cg:
        first = await cg.token_price("ethereum", [USDC, UNLISTED])
        again = await cg.token_price("ethereum", [UNLISTED, USDC.lower()])
        assert len(rec.requests) == 1
        assert again == first
        await cg.token_price("ethereum", [USDC, WBTC])  # only WBTC is new
        assert rec.param(1, "contract_addresses") == WBTC.lower()
        await cg.token_price("ethereum", [USDC], vs_currencies=("usd", "eur"))  # another question
        assert len(rec.requests) == 3
        clock.now += 60.0
        await cg.token_price("ethereum", [USDC])
    assert len(rec.requests) == 4
    assert rec.param(3, "contract_addresses") == USDC.lower()


async def test_client_side_limit_spaces_calls_within_a_minute() -> None:
    rec, clock = Recorder(), FakeTime()
    async with client_for(rec, clock, calls_per_minute=2) as cg:
        for coin in ("ethereum", "bitcoin", "weth"):
            await cg.simple_price([coin])
            clock.now += 1.0
    assert clock.sleeps == [58.0]  # the third call waits until the first leaves the 60 s window
    assert len(rec.requests) == 3


async def test_rate_limiter_hold_pauses_callers() -> None:
    clock = FakeTime()
    limiter = RateLimiter(100, clock=clock.clock, sleep=clock.sleep)
    await limiter.acquire()
    limiter.hold(5.0)
    await limiter.acquire()
    assert clock.sleeps == [5.0]


# --- failures the user reads --------------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_offline_gives_one_clear_line() -> None:
    host = f"http://127.0.0.1:{closed_port()}"
    async with CoinGeckoClient(env={"DEFISCOPE_COINGECKO_URL": f"{host}/api/v3"}) as cg:
        with pytest.raises(CoinGeckoUnreachable) as caught:
            await cg.simple_price(["ethereum"])
    assert str(caught.value) == (  # the base URL's path is left out, as any endpoint's: it may hold a key
        f"CoinGecko is unreachable at {host} (Connection refused): check the network or set "
        "DEFISCOPE_COINGECKO_URL; prices from other sources still work"
    )
    assert caught.value.transient is True
    assert cg.requests == 1  # no retries against a machine that is offline


async def test_401_without_key_names_the_header_to_set() -> None:
    rec = Recorder([httpx.Response(401, text=fixture_text("error_401.json"))])
    async with client_for(rec) as cg:
        with pytest.raises(CoinGeckoAuthError) as caught:
            await cg.simple_price(["ethereum"])
    assert caught.value.status == 401
    assert str(caught.value) == (
        "CoinGecko at https://api.coingecko.com answered HTTP 401 (API Key Missing): no API key was sent; "
        "set DEFISCOPE_COINGECKO_API_KEY (sent as x-cg-demo-api-key)"
    )


async def test_401_with_demo_key_names_the_header_and_hides_the_key() -> None:
    echo = {"status": {"error_code": 10010, "error_message": f"Invalid API Key {KEY}"}}
    rec = Recorder([httpx.Response(401, json=echo)])
    async with client_for(rec, api_key=KEY) as cg:
        with pytest.raises(CoinGeckoAuthError) as caught:
            await cg.simple_price(["ethereum"])
    assert str(caught.value) == (
        "CoinGecko at https://api.coingecko.com answered HTTP 401 (Invalid API Key ***): the key sent in "
        "x-cg-demo-api-key was refused; check DEFISCOPE_COINGECKO_API_KEY, and set DEFISCOPE_COINGECKO_PRO=1 if it "
        "is a pro key"
    )


# --- a real HTTP server standing in for CoinGecko -----------------------------------------------------------


class StandIn:
    """CoinGecko's /simple endpoints from the fixtures, over real HTTP on 127.0.0.1."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, list[str]], str | None]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                stand_in.seen.append((parts.path, query, self.headers.get("x-cg-demo-api-key")))
                if parts.path == "/api/v3/simple/price":
                    body = served("simple_price.json", query["ids"][0].split(","))
                else:
                    body = served("token_price_ethereum.json", query["contract_addresses"][0].split(","))
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v3"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    server = StandIn()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


async def test_env_url_points_at_a_stand_in_server(stand_in: StandIn) -> None:
    env = {"DEFISCOPE_COINGECKO_URL": stand_in.url + "/", "DEFISCOPE_COINGECKO_API_KEY": KEY}
    async with CoinGeckoClient(env=env) as cg:
        by_address = await cg.token_price("ethereum", [DAI])
        by_id = await cg.simple_price(["shiba-inu"])
    assert by_address[DAI.lower()] == CoinGeckoPrice(DAI.lower(), {"usd": Decimal(1)}, 1711356280)
    assert by_id["shiba-inu"].usd == Decimal("0.000012345678901234")
    assert stand_in.seen == [
        (
            "/api/v3/simple/token_price/ethereum",
            {
                "contract_addresses": [DAI.lower()],
                "vs_currencies": ["usd"],
                "include_last_updated_at": ["true"],
                "precision": ["full"],
            },
            KEY,
        ),
        (
            "/api/v3/simple/price",
            {
                "ids": ["shiba-inu"],
                "vs_currencies": ["usd"],
                "include_last_updated_at": ["true"],
                "precision": ["full"],
            },
            KEY,
        ),
    ]


# --- the price source ---------------------------------------------------------------------------------------


class NoChain:
    """The source must not read the chain: any call fails the test."""

    chain_id = 1

    async def call_many(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("CoinGeckoSource made a chain call")


def reader_at(timestamp: int, chain_id: int = 1, number: int = 19_000_000) -> Reader:
    block = BlockRef(chain_id=chain_id, number=number, hash="0x" + "ab" * 32, timestamp=timestamp)
    return Batcher(Snapshot(cast(ChainClient, NoChain()), block)).reader("coingecko")


def token(address: str, symbol: str, decimals: int = 18, chain_id: int = 1) -> TokenRef:
    return TokenRef(chain_id=chain_id, address=address, symbol=symbol, decimals=decimals)


def devnet_deployment(chain_id: int = 1) -> Deployment:
    return Deployment(
        chain_id=chain_id,
        network="devnet",
        tokens={"WETH": TokenInfo("WETH", DEVNET_WETH, 18, "weth"), "XYZ": TokenInfo("XYZ", UNLISTED, 18)},
        feeds={},
        price_routes={},
        contracts={},
        core_symbols=(),
    )


async def test_source_quotes_fresh_prices_by_address() -> None:
    rec = Recorder()
    async with client_for(rec) as cg:
        answers = await CoinGeckoSource(cg).prices(reader_at(UPDATED - 600), [token(USDC, "USDC", 6)])
    assert answers == {
        USDC: PriceQuote(
            chain_id=1,
            token=USDC,
            usd=Decimal("0.999912345678901234"),
            source="coingecko",
            timestamp=1711356290,
            confidence=0.8,
            block_number=None,
        )
    }
    assert len(rec.requests) == 1


async def test_source_refuses_a_current_price_for_an_old_block() -> None:
    async with client_for(Recorder()) as cg:
        answers = await CoinGeckoSource(cg).prices(reader_at(UPDATED - 5 * 3600), [token(WBTC, "WBTC", 8)])
    assert answers == {
        WBTC: PriceMiss("coingecko", "CoinGecko gives current prices only; block 19000000 is 5 h old"),
    }


async def test_source_refuses_a_stale_coingecko_price_for_a_new_block() -> None:
    async with client_for(Recorder()) as cg:
        answers = await CoinGeckoSource(cg).prices(reader_at(UPDATED + 3 * 86400), [token(WBTC, "WBTC", 8)])
    assert answers == {
        WBTC: PriceMiss("coingecko", "CoinGecko's price was last updated 3 d before block 19000000; too stale to use"),
    }


async def test_source_falls_back_to_coingecko_id_then_says_unlisted() -> None:
    rec = Recorder()
    tokens = [token(DEVNET_WETH, "WETH"), token(UNLISTED, "XYZ"), token(DAI, "DAI")]
    async with client_for(rec) as cg:
        answers = await CoinGeckoSource(cg, deployments=[devnet_deployment()]).prices(reader_at(UPDATED), tokens)
    assert answers == {
        DEVNET_WETH: PriceQuote(1, DEVNET_WETH, Decimal("2999.87654321"), "coingecko", UPDATED, 0.8, None),
        UNLISTED: PriceMiss("coingecko", "not listed on CoinGecko on ethereum"),
        DAI: PriceQuote(1, DAI, Decimal(1), "coingecko", 1711356280, 0.8, None),
    }
    assert [r.url.path for r in rec.requests] == ["/api/v3/simple/token_price/ethereum", "/api/v3/simple/price"]
    assert rec.param(1, "ids") == "weth"


async def test_source_on_an_unmapped_chain_uses_ids_only() -> None:
    rec = Recorder()
    tokens = [token(DEVNET_WETH, "WETH", chain_id=31337), token(UNLISTED, "XYZ", chain_id=31337)]
    source = CoinGeckoSource(client_for(rec), deployments=[devnet_deployment(31337)])
    answers = await source.prices(reader_at(UPDATED, chain_id=31337), tokens)
    await source.client.aclose()
    assert answers == {
        DEVNET_WETH: PriceQuote(31337, DEVNET_WETH, Decimal("2999.87654321"), "coingecko", UPDATED, 0.8, None),
        UNLISTED: PriceMiss("coingecko", "not listed on CoinGecko (no CoinGecko platform for chain 31337)"),
    }
    assert [r.url.path for r in rec.requests] == ["/api/v3/simple/price"]


async def test_source_offline_misses_every_token_with_the_reason() -> None:
    host = f"http://127.0.0.1:{closed_port()}"
    tokens = [token(USDC, "USDC", 6), token(WBTC, "WBTC", 8)]
    async with CoinGeckoClient(env={"DEFISCOPE_COINGECKO_URL": f"{host}/api/v3"}) as cg:
        answers = await CoinGeckoSource(cg).prices(reader_at(UPDATED), tokens)
    reason = (
        f"CoinGecko is unreachable at {host} (Connection refused): check the network or set "
        "DEFISCOPE_COINGECKO_URL; prices from other sources still work"
    )
    assert answers == {USDC: PriceMiss("coingecko", reason), WBTC: PriceMiss("coingecko", reason)}


async def test_source_keeps_address_answers_when_the_id_lookup_fails() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/simple/price"):
            return httpx.Response(401, text=fixture_text("error_401.json"))
        return Recorder()(request)

    tokens = [token(USDC, "USDC", 6), token(DEVNET_WETH, "WETH")]
    async with client_for(handler) as cg:
        answers = await CoinGeckoSource(cg, deployments=[devnet_deployment()]).prices(reader_at(UPDATED), tokens)
    assert answers[USDC] == PriceQuote(1, USDC, Decimal("0.999912345678901234"), "coingecko", 1711356290, 0.8)
    assert answers[DEVNET_WETH] == PriceMiss(
        "coingecko",
        "CoinGecko at https://api.coingecko.com answered HTTP 401 (API Key Missing): no API key was sent; "
        "set DEFISCOPE_COINGECKO_API_KEY (sent as x-cg-demo-api-key)",
    )


async def test_source_never_quotes_zero_or_a_missing_usd_price() -> None:
    body = (
        f'{{"{USDC.lower()}": {{"usd": 0, "last_updated_at": {UPDATED}}},'
        f' "{WBTC.lower()}": {{"eur": 61000.5, "last_updated_at": {UPDATED}}}}}'
    )
    async with client_for(Recorder([httpx.Response(200, text=body)])) as cg:
        answers = await CoinGeckoSource(cg).prices(reader_at(UPDATED), [token(USDC, "USDC", 6), token(WBTC, "WBTC")])
    assert answers == {
        USDC: PriceMiss("coingecko", "CoinGecko lists it at 0 USD (no market)"),
        WBTC: PriceMiss("coingecko", "listed on CoinGecko without a USD price"),
    }


async def test_source_rejects_a_token_of_another_chain_without_asking() -> None:
    rec = Recorder()
    async with client_for(rec) as cg:
        answers = await CoinGeckoSource(cg).prices(reader_at(UPDATED), [token(USDC, "USDC", 6, chain_id=56)])
    assert answers == {USDC: PriceMiss("coingecko", "token is on chain 56, not 1")}
    assert rec.requests == []
