"""Stale answers/s of an API process whose background build another process has claimed in Redis: each stale
request asking Redis for the claim (the code before: `CLAIM_RECHECK_SECONDS` = 0) against a refusal taken as
standing for 50 ms (now), alternating in the same run.

Two `BlockCache`s share a real Redis (as two `serve --api-only` processes do). The first serves a key, the
version moves (a new block), the first claims the background build and holds it; the second then serves the key's
stale answer as fast as one event loop can ask, for `--seconds`, and counts its Redis claims.

    .venv/bin/python benchmarks/stale_claims.py [--seconds 2] [--rounds 3] [--redis redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass

from defiscope.api import cache as cache_module
from defiscope.api.cache import BlockCache
from defiscope.api.shared_cache import SharedCache
from defiscope.chain.block import BlockRef

KEY = ("/v1/protocols", "limit=5")
ROUTE = "/v1/protocols"


def _block(number: int) -> BlockRef:
    return BlockRef(1, number, f"0x{number:064x}", 1_700_000_000 + 12 * number)


class Chain:
    """The latest stored block, as the store would tell the cache; every block ever shown stays stored."""

    def __init__(self) -> None:
        self.head = _block(100)

    def latest(self) -> Mapping[int, BlockRef]:
        return {1: self.head}

    def stored_hash(self, chain_id: int, number: int) -> str | None:
        return _block(number).hash if number <= self.head.number else None


@dataclass(frozen=True, slots=True)
class Run:
    recheck_seconds: float
    answers_per_second: float
    redis_claims: int


async def one_run(redis: str, recheck: float, seconds: float) -> Run:
    cache_module.CLAIM_RECHECK_SECONDS = recheck  # type: ignore[misc]  # the variable under test
    chain, prefix = Chain(), f"bench-{secrets.token_hex(6)}"

    def cache() -> BlockCache:
        shared = SharedCache.connect(redis, prefix=prefix, ttl=30)
        # ttl 1 s: the version is read once, as between two blocks in a serving process.
        return BlockCache(chain.latest, ttl=1.0, entries=64, max_bytes=1 << 20, stale_seconds=30.0,
                          stored_hash=chain.stored_hash, shared=shared)  # fmt: skip

    first, second = cache(), cache()
    held = asyncio.Event()

    async def answer() -> bytes:
        return b"[100]"

    async def hold() -> bytes:
        await held.wait()
        return b"[101]"

    await first.get_async(KEY, answer, ROUTE)
    await second.get_async(KEY, answer, ROUTE)
    chain.head = _block(101)
    await asyncio.sleep(1.0)  # both caches read the version again on their next request
    await first.get_async(KEY, hold, ROUTE)  # stale; claims the build and holds it
    assert second.shared is not None
    claim, claims = second.shared.claim, 0

    async def counted(*args: object) -> bool:
        nonlocal claims
        claims += 1
        return await claim(*args)  # type: ignore[arg-type]

    second.shared.claim = counted  # type: ignore[method-assign]
    answers, deadline = 0, time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        entry = await second.get_async(KEY, hold, ROUTE)
        assert entry.stale is not None, "the stale answer was not served"
        answers += 1
    elapsed = time.perf_counter() - started
    held.set()
    await asyncio.sleep(0.05)
    for each in (first, second):
        await each.aclose()
        assert each.shared is not None
        await each.shared.aclose()
    return Run(recheck, answers / elapsed, claims)


async def main_async(redis: str, seconds: float, rounds: int) -> None:
    kept = cache_module.CLAIM_RECHECK_SECONDS
    runs: dict[float, list[Run]] = {0.0: [], kept: []}
    for _ in range(rounds):
        for recheck in runs:
            runs[recheck].append(await one_run(redis, recheck, seconds))
    cache_module.CLAIM_RECHECK_SECONDS = kept  # type: ignore[misc]
    rates = {recheck: statistics.median(r.answers_per_second for r in each) for recheck, each in runs.items()}
    for recheck, each in runs.items():
        claims = statistics.median(r.redis_claims for r in each)
        label = "before: every stale request asks Redis" if recheck == 0 else f"now: a refusal stands {recheck} s"
        print(f"{label:44} {rates[recheck]:10.0f} stale answers/s   {claims:8.0f} Redis claims in {seconds} s")
    print(f"now / before: {rates[kept] / rates[0.0]:.2f}x ({rounds} rounds, medians)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    asyncio.run(main_async(args.redis, args.seconds, args.rounds))


if __name__ == "__main__":
    main()
