"""Rate limits through Redis: one round trip per request, seen by Redis itself (MONITOR), and the same sliding-window
counter as `limits`' (a differential run over a prepared window, and the two sharing one counter)."""

from __future__ import annotations

import asyncio
import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from limits import parse
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string
from redis.asyncio import Redis

from defiscope.api import ApiSettings, create_app
from defiscope.api.keys import new_key
from defiscope.api.rate_limits import Budget, LibraryLimits, RedisLimits, Verdict, rate_limits
from defiscope.store import Repository
from defiscope.store.keys import KeyStore
from tests.api.conftest import REDIS_URL, require_redis

QUOTE = {"chain": "1", "sell": "USDC", "buy": "WETH", "amount": "1000"}
#: A MONITOR line of a command a client sent (commands a script runs are shown as `[0 lua]`, and left out).
_SENT = re.compile(r'^\d+\.\d+ \[\d+ (?P<client>[0-9.:]+)\] "(?P<command>[a-zA-Z]+)"(?P<args>.*)$')


@contextmanager
def monitored(prefix: str) -> Iterator[list[str]]:
    """Every command sent to Redis while inside, by the clients that sent one naming a `prefix` key: their command
    names, filled in on exit."""
    sent: list[str] = []
    with subprocess.Popen(
        ["redis-cli", "-u", REDIS_URL, "monitor"], stdout=subprocess.PIPE, text=True, start_new_session=True
    ) as monitor:
        assert monitor.stdout is not None
        assert monitor.stdout.readline().strip() == "OK"  # MONITOR is on: what follows is seen
        try:
            yield sent
        finally:
            redis.Redis.from_url(REDIS_URL).ping()  # a last line, so everything before it has been printed
            time.sleep(0.2)
            monitor.terminate()
            lines = monitor.communicate(timeout=10)[0].splitlines()
    matches = [m for m in map(_SENT.match, lines) if m is not None]
    ours = {m["client"] for m in matches if prefix in m["args"]}
    sent += [m["command"].lower() for m in matches if m["client"] in ours]


@pytest.fixture
def keyed(tmp_path: Path) -> Iterator[tuple[Repository, str]]:
    require_redis()
    repo = Repository.open(f"sqlite:///{tmp_path / 'limits.db'}")
    key, stored = new_key("limits")
    KeyStore(repo.engine).add(stored)
    yield repo, key
    repo.close()


def _client(repo: Repository, prefix: str, **settings: object) -> TestClient:
    settings = {"rate_storage": f"async+{REDIS_URL}", "rate_prefix": prefix, **settings}
    return TestClient(create_app(ApiSettings(**settings), repo=repo, deployments=[]))  # type: ignore[arg-type]


def test_each_request_is_one_round_trip(keyed: tuple[Repository, str]) -> None:
    repo, key = keyed
    prefix = f"test-{secrets.token_hex(6)}"
    headers = {"X-API-Key": key}
    with _client(repo, prefix) as client:
        assert client.get("/v1/chains").status_code == 200  # redis-py has loaded the script (NOSCRIPT once at most)
        with monitored(prefix) as sent:
            anonymous = [client.get("/v1/chains").status_code for _ in range(3)]
            first_with_key = client.get("/v1/chains", headers=headers).status_code  # its key is looked up
            with_key = [client.get("/v1/chains", headers=headers).status_code for _ in range(3)]
            quotes = [client.get("/v1/quote", params=QUOTE, headers=headers).status_code for _ in range(2)]
    assert [*anonymous, first_with_key, *with_key] == [200] * 7
    assert quotes == [404, 404]  # counted against both budgets; no chain to quote here
    # One EVALSHA each (the key and quote budgets of a quote too), and the store's lookup of a new key one more.
    assert sent == ["evalsha"] * (3 + 2 + 3 + 2)


def test_the_count_of_round_trips_sees_more_than_one() -> None:
    """Negative control of the count above: `limits`' own calls for one keyed request, as the gate made them
    before (check the failed-key budget, hit the key's, read its window), are three round trips."""
    require_redis()
    prefix = f"test-{secrets.token_hex(6)}"
    per_key, failed = parse("3000/minute"), parse("30/minute")

    async def keyed_request(library: SlidingWindowCounterRateLimiter) -> None:
        assert await library.test(failed, "failed-key:192.0.2.1")
        assert await library.hit(per_key, "key:abcdef")
        await library.get_window_stats(per_key, "key:abcdef")

    async def run() -> list[str]:
        library = SlidingWindowCounterRateLimiter(
            storage_from_string(f"async+{REDIS_URL}", implementation="redispy", key_prefix=prefix)
        )
        await keyed_request(library)  # connected (HELLO), limits' scripts loaded
        with monitored(prefix) as sent:
            await keyed_request(library)
        return sent

    assert asyncio.run(run()) == ["evalsha"] * 3


def test_the_limit_and_its_headers_hold(keyed: tuple[Repository, str]) -> None:
    repo, key = keyed
    headers = {"X-API-Key": key}
    with _client(repo, f"test-{secrets.token_hex(6)}", rate_per_key="4/minute", rate_per_quote="2/minute") as client:
        answers = [client.get("/v1/quote", params=QUOTE, headers=headers) for _ in range(3)]
        assert [a.status_code for a in answers] == [404, 404, 429]  # the quote budget decides
        assert [a.headers["ratelimit-remaining"] for a in answers] == ["1", "0", "0"]
        assert answers[2].headers["ratelimit-limit"] == "2"
        assert 55 <= int(answers[2].headers["Retry-After"]) <= 60  # the window started with the first request
        # The key budget counted the three quotes (the quote budget comes after it), so this is its fourth and last.
        last = client.get("/v1/chains", headers=headers)
        assert last.status_code == 200
        assert (last.headers["ratelimit-remaining"], last.headers["ratelimit-limit"]) == ("0", "4")
        refused = client.get("/v1/chains", headers=headers)
        assert refused.status_code == 429
        assert refused.headers["ratelimit-limit"] == "4"


def _prepare(client: redis.Redis, previous: str, current: str) -> None:
    """A window of 10 a minute just shifted: 10 hits in the previous window with 31 s of it left (weight
    floor(10 · 31/60) = 5), and 3 in the current one."""
    client.set(previous, 10, px=31_000)
    client.set(current, 3, px=100_000)


async def _both(prefix: str, budget: Budget, hits: int) -> tuple[list[tuple[bool, int]], list[tuple[bool, int]]]:
    ours_client = Redis.from_url(REDIS_URL)
    library = SlidingWindowCounterRateLimiter(
        storage_from_string(f"async+{REDIS_URL}", implementation="redispy", key_prefix=f"{prefix}-lib")
    )
    ours = RedisLimits(ours_client, prefix)
    try:
        seen: list[tuple[bool, int]] = []
        for _ in range(hits):
            verdict = await ours.count([budget])
            assert isinstance(verdict, Verdict)
            seen.append((verdict.allowed, verdict.remaining))
        expected: list[tuple[bool, int]] = []
        for _ in range(hits):
            allowed = await library.hit(budget.limit, budget.who)
            stats = await library.get_window_stats(budget.limit, budget.who)
            expected.append((allowed, stats.remaining))
        return seen, expected
    finally:
        await ours_client.aclose()


def test_the_counts_are_limits_sliding_window_counter() -> None:
    require_redis()
    prefix = f"test-{secrets.token_hex(6)}"
    budget = Budget(parse("10/minute"), "ip:192.0.2.1")
    sync = redis.Redis.from_url(REDIS_URL)
    ours = RedisLimits(Redis.from_url(REDIS_URL), prefix)
    library_ours = RedisLimits(Redis.from_url(REDIS_URL), f"{prefix}-lib")  # only its counter names
    _prepare(sync, *ours.counters(budget))
    _prepare(sync, *library_ours.counters(budget))
    seen, expected = asyncio.run(_both(prefix, budget, 4))
    # weighted 5 + 3 = 8: two more allowed, then refused, with what remains after each.
    assert seen == expected == [(True, 1), (True, 0), (False, 0), (False, 0)]
    sync.close()


def test_limits_and_the_script_share_one_counter() -> None:
    """Processes of either kind (a rolling upgrade) count against the same window."""
    require_redis()
    prefix = f"test-{secrets.token_hex(6)}"
    budget = Budget(parse("3/minute"), "key:abcdef")

    async def run() -> tuple[bool, bool, int]:
        client = Redis.from_url(REDIS_URL)
        library = SlidingWindowCounterRateLimiter(
            storage_from_string(f"async+{REDIS_URL}", implementation="redispy", key_prefix=prefix)
        )
        try:
            assert await library.hit(budget.limit, budget.who)
            assert await library.hit(budget.limit, budget.who)
            third = await RedisLimits(client, prefix).count([budget])
            assert third is not None
            return third.allowed, await library.hit(budget.limit, budget.who), third.remaining
        finally:
            await client.aclose()

    assert asyncio.run(run()) == (True, False, 0)


@pytest.mark.parametrize(
    ("storage", "kind"),
    [
        ("async+memory://", LibraryLimits),
        ("async+redis://127.0.0.1:6379/0", RedisLimits),
        ("async+rediss://127.0.0.1:6380/1", RedisLimits),
        ("async+redis+unix:///run/redis.sock", RedisLimits),
    ],
)
def test_redis_storages_take_the_script_and_others_limits(storage: str, kind: type) -> None:
    assert isinstance(rate_limits(storage, prefix="p"), kind)
