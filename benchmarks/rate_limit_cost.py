"""What the rate limit costs per API request through Redis: `limits`' calls as the gate made them before (a round
trip each) against `api.rate_limits.RedisLimits` (one script, one round trip), same Redis, same run; `limits` in
memory (the embedded `serve`) as the floor.

A keyed request checks the address's failed-key budget and counts the key's (before: test, hit, window read: 3
round trips); a quote counts the quote budget on top (before: 5). Each figure is the median over rounds of the
mean wall time per request, requests one after another, and with 64 at once (requests/s, one event loop).

    .venv/bin/python benchmarks/rate_limit_cost.py [--requests 2000] [--rounds 5] [--redis redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable

from limits import parse
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string
from redis.asyncio import Redis

from defiscope.api.rate_limits import Budget, LibraryLimits, RateLimits, RedisLimits

PER_KEY, PER_QUOTE, FAILED = parse("100000000/minute"), parse("100000000/minute"), parse("30/minute")
ADDRESS, KEY = "failed-key:192.0.2.1", "key:abcdef123456"
CONCURRENCY = 64

Request = Callable[[], Awaitable[None]]


def before(limiter: SlidingWindowCounterRateLimiter, quote: bool) -> Request:
    """The gate's calls before this change (git show f16bef0^:src/defiscope/api/gate.py, `_refuse` and `_limit`)."""

    async def request() -> None:
        assert await limiter.test(FAILED, ADDRESS)
        assert await limiter.hit(PER_KEY, KEY)
        await limiter.get_window_stats(PER_KEY, KEY)
        if quote:
            assert await limiter.hit(PER_QUOTE, f"{KEY}:quote")
            await limiter.get_window_stats(PER_QUOTE, f"{KEY}:quote")

    return request


def now(limits: RateLimits, quote: bool) -> Request:
    """The gate's one count now (a key remembered within key_cache_ttl: the failed-key check joins it)."""
    budgets = [Budget(FAILED, ADDRESS, counted=False), Budget(PER_KEY, KEY)]
    budgets += [Budget(PER_QUOTE, f"{KEY}:quote")] if quote else []

    async def request() -> None:
        verdict = await limits.count(budgets)
        assert verdict is not None
        assert verdict.allowed

    return request


async def sequential_us(request: Request, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        await request()
    return (time.perf_counter() - started) / n * 1e6


async def concurrent_rps(request: Request, n: int) -> float:
    async def worker(count: int) -> None:
        for _ in range(count):
            await request()

    started = time.perf_counter()
    await asyncio.gather(*(worker(n // CONCURRENCY) for _ in range(CONCURRENCY)))
    return (n // CONCURRENCY * CONCURRENCY) / (time.perf_counter() - started)


async def main(args: argparse.Namespace) -> None:
    prefix = f"bench-{secrets.token_hex(4)}"
    client = Redis.from_url(args.redis, max_connections=CONCURRENCY)
    library = SlidingWindowCounterRateLimiter(
        storage_from_string(f"async+{args.redis}", implementation="redispy", key_prefix=prefix)
    )
    memory = LibraryLimits("async+memory://")
    script = RedisLimits(client, prefix)
    variants: dict[str, tuple[Request, Request]] = {
        "limits in memory (floor)": (now(memory, False), now(memory, True)),
        "limits over Redis (before)": (before(library, False), before(library, True)),
        "one script (now)": (now(script, False), now(script, True)),
    }
    results: dict[tuple[str, bool], list[tuple[float, float]]] = {}
    try:
        for request, quoting in variants.values():  # warm-up: connections made, scripts loaded
            await request()
            await quoting()
        for _ in range(args.rounds):
            for name, pair in variants.items():  # alternating, so the machine's load falls on all alike
                for quote, request in zip((False, True), pair, strict=True):
                    one_by_one = await sequential_us(request, args.requests)
                    at_once = await concurrent_rps(request, args.requests)
                    results.setdefault((name, quote), []).append((one_by_one, at_once))
    finally:
        await client.aclose()
    print(f"{args.requests} requests x {args.rounds} rounds (median), {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"{'request':<8}{'limits':<28}{'round trips':>12}{'us/request':>12}{'x before':>9}"
          f"{'req/s @64':>11}{'x before':>9}")  # fmt: skip
    trips = {"limits in memory (floor)": (0, 0), "limits over Redis (before)": (3, 5), "one script (now)": (1, 1)}
    for quote in (False, True):
        base = results[("limits over Redis (before)", quote)]
        base_us = statistics.median(f[0] for f in base)
        base_rps = statistics.median(f[1] for f in base)
        for name in variants:
            us = statistics.median(f[0] for f in results[(name, quote)])
            rps = statistics.median(f[1] for f in results[(name, quote)])
            print(f"{'quote' if quote else 'keyed':<8}{name:<28}{trips[name][quote]:>12}{us:>12.1f}"
                  f"{us / base_us:>9.2f}{rps:>11.0f}{rps / base_rps:>9.2f}")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    asyncio.run(main(parser.parse_args()))
