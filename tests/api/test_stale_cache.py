"""Stale while revalidate: after a new block, the previous block's answer is served at once (marked) while one
build of the new answer runs in the background.

- `BlockCache` over a real SQLite store (the version and the reorg check are its queries): requests during a held
  build get the previous answer quickly, marked, with its own ETag, and one build runs; then the new answer. Past
  the age bound a request waits on that build. A reorg (a block re-indexed under another hash, or a rollback)
  serves nothing stale. A failed background build keeps nothing: the stale answer serves on until its bound, then
  the error surfaces. With Redis, one process builds and the other serves stale until the shared entry lands.
- a real uvicorn server over PostgreSQL whose builds are held by a table lock (as the indexer's writes hold them):
  the headers, the metrics, and a key with no earlier answer that waits (the negative control).
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from defiscope.api import ApiSettings, create_app
from defiscope.api import cache as cache_module
from defiscope.api.cache import BlockCache, Entry
from defiscope.api.shared_cache import SharedCache
from defiscope.chain.errors import InvalidInput
from defiscope.store import Repository, create_engine
from defiscope.store.models import TvlSnapshot
from tests.api.conftest import REDIS_URL, require_redis
from tests.api.serverkit import serving
from tests.store.conftest import emptied, pg_database  # noqa: F401  (the session's PostgreSQL database)
from tests.store.storekit import block

KEY = ("/v1/protocols", "limit=5")
ROUTE = "/v1/protocols"


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repository]:
    store = Repository.open(f"sqlite:///{tmp_path / 'stale.db'}")
    store.save_blocks([block(100)])
    yield store
    store.close()


def _cache(repo: Repository, stale: float = 5.0, shared: SharedCache | None = None) -> BlockCache:
    # ttl 0: every request reads the version from the store, so a stored block is seen at once.
    return BlockCache(
        repo.latest_blocks,
        ttl=0.0,
        entries=64,
        max_bytes=1 << 20,
        stale_seconds=stale,
        stored_hash=repo.block_hash,
        shared=shared,
    )


def _answer(body: bytes) -> Callable[[], Awaitable[bytes]]:
    async def build() -> bytes:
        return body

    return build


class Held:
    """A build held until `release()` (as the indexer's writes hold a store query), counting its runs."""

    def __init__(self, body: bytes, error: Exception | None = None) -> None:
        self.body = body
        self.error = error
        self.runs = 0
        self._go = asyncio.Event()

    def release(self) -> None:
        self._go.set()

    async def __call__(self) -> bytes:
        self.runs += 1
        await self._go.wait()
        if self.error is not None:
            raise self.error
        return self.body


async def _settled(cache: BlockCache, key: tuple[str, str] = KEY) -> Entry:
    """The entry `peek` serves once the background build has landed (within 5 s)."""
    deadline = time.monotonic() + 5
    while True:
        entry = await cache.peek(key)
        if entry is not None and entry.stale is None:
            return entry
        assert time.monotonic() < deadline, "the background build did not land within 5 s"
        await asyncio.sleep(0.01)


async def test_a_new_block_serves_the_previous_answer_while_one_build_runs(repo: Repository) -> None:
    cache = _cache(repo)
    first = await cache.get_async(KEY, _answer(b"[100]"), ROUTE)
    assert (first.version, first.stale) == (((1, 100, block(100).hash),), None)
    repo.save_blocks([block(101)])  # an advance: block 100 stays stored under its hash

    await cache.version()  # read once here: callers arriving during a re-read would go on with the old version
    held = Held(b"[101]")
    started = time.monotonic()
    answers = await asyncio.gather(*(cache.get_async(KEY, held, ROUTE) for _ in range(20)))
    peeked = await cache.peek(KEY)  # what the gate serves before routing, while the build runs
    took = time.monotonic() - started
    assert took < 2.0, f"stale answers took {took:.2f} s"
    for answer in [*answers, peeked]:
        assert answer is not None
        assert (answer.body, answer.etag, answer.version) == (first.body, first.etag, first.version)
        assert answer.stale is not None
        assert 0 <= answer.stale < 2.0
    await asyncio.sleep(0.05)
    assert held.runs == 1  # one background build for the 21 requests
    assert (cache.counts.stale_answers, cache.counts.background_builds) == (21, 1)

    held.release()
    fresh = await _settled(cache)
    assert (fresh.body, fresh.version) == (b"[101]", ((1, 101, block(101).hash),))
    assert fresh.etag != first.etag
    assert (await cache.get_async(KEY, _answer(b"never"), ROUTE)).body == b"[101]"
    assert (held.runs, cache.counts.builds, cache.counts.background_failures) == (1, 2, 0)


async def test_past_the_age_bound_a_request_waits_on_the_build(repo: Repository) -> None:
    cache = _cache(repo, stale=0.5)
    await cache.get_async(KEY, _answer(b"[100]"), ROUTE)
    repo.save_blocks([block(101)])
    held = Held(b"[101]")
    assert (await cache.get_async(KEY, held, ROUTE)).stale is not None  # within the bound: stale, build started
    await asyncio.sleep(0.6)  # the bound runs out while the build is still held

    assert await cache.peek(KEY) is None  # the gate no longer serves it: the request goes on to wait
    waiting = asyncio.create_task(cache.get_async(KEY, Held(b"second build")))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    held.release()
    entry = await asyncio.wait_for(waiting, 5)
    assert (entry.body, entry.stale) == (b"[101]", None)  # it joined the build already running
    assert (held.runs, cache.counts.stale_answers) == (1, 1)


async def test_a_caller_that_refuses_stale_answers_waits(repo: Repository) -> None:
    """/v1/quote's way (a quote is acted on): an earlier answer is kept, yet the request waits on its build."""
    cache = _cache(repo)
    await cache.get_async(KEY, _answer(b"[100]"), ROUTE)
    repo.save_blocks([block(101)])
    held = Held(b"[101]")
    waiting = asyncio.create_task(cache.get_async(KEY, held, ROUTE, stale=False))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    assert await cache.peek(KEY) is None  # a build runs, but not one behind a stale answer: nothing stale
    held.release()
    assert (await asyncio.wait_for(waiting, 5)).body == b"[101]"
    assert (cache.counts.stale_answers, cache.counts.background_builds) == (0, 0)


@pytest.mark.parametrize("raw", ["-1", "nan", "inf", "soon"])
def test_a_bad_stale_bound_is_refused_naming_it(raw: str) -> None:
    with pytest.raises(InvalidInput, match=r"(?i)stale_seconds"):
        ApiSettings.from_env({"DEFISCOPE_API_STALE_SECONDS": raw})
    assert ApiSettings.from_env({"DEFISCOPE_API_STALE_SECONDS": "0"}).stale_seconds == 0.0  # off
    assert ApiSettings().stale_seconds == 5.0  # the documented default


@pytest.mark.parametrize("reorg", ["re-indexed then advanced", "rolled back"])
async def test_a_reorg_of_the_answers_block_serves_nothing_stale(repo: Repository, reorg: str) -> None:
    cache = _cache(repo)
    await cache.get_async(KEY, _answer(b"[100a]"), ROUTE)
    repo.save_blocks([block(99)])
    repo.rollback_from(1, 100)  # block 100 reorged away: the latest stored block is 99, back, not forward
    if reorg == "re-indexed then advanced":  # and between two version checks, 100 on the new fork, then 101
        repo.save_blocks([block(100, fork="b"), block(101, fork="b")])

    held = Held(b"[new fork]")
    waiting = asyncio.create_task(cache.get_async(KEY, held, ROUTE))
    await asyncio.sleep(0.3)
    assert not waiting.done()  # no stale answer: it waits on the build, as without stale serving
    held.release()
    entry = await asyncio.wait_for(waiting, 5)
    assert (entry.body, entry.stale) == (b"[new fork]", None)
    assert cache.counts.stale_answers == 0

    # Negative control: from here a pure advance serves the new fork's answer stale again.
    repo.save_blocks([block(102, fork="b") if reorg != "rolled back" else block(100, fork="c")])
    assert (await cache.get_async(KEY, Held(b"later"), ROUTE)).body == b"[new fork]"
    assert cache.counts.stale_answers == 1
    await cache.aclose()


async def test_a_failed_background_build_keeps_nothing_and_the_error_surfaces_past_the_bound(
    repo: Repository,
) -> None:
    cache = _cache(repo, stale=0.6)
    first = await cache.get_async(KEY, _answer(b"[100]"), ROUTE)
    repo.save_blocks([block(101)])
    failing = Held(b"", RuntimeError("store went away"))
    failing.release()

    assert (await cache.get_async(KEY, failing, ROUTE)).etag == first.etag  # stale; the build fails behind it
    await asyncio.sleep(0.05)
    assert (failing.runs, cache.counts.background_failures) == (1, 1)
    assert await cache.peek(KEY) is None  # nothing kept at the new version, no build running: routed again
    again = await cache.get_async(KEY, failing, ROUTE)  # still within the bound: stale, and another try
    assert again.etag == first.etag
    assert again.stale is not None
    await asyncio.sleep(0.6)
    with pytest.raises(RuntimeError, match="store went away"):  # past the bound: as without stale serving
        await cache.get_async(KEY, failing, ROUTE)
    assert (failing.runs, cache.counts.background_builds, cache.counts.background_failures) == (3, 2, 2)
    # Nothing poisoned: a build that works now answers.
    assert (await cache.get_async(KEY, _answer(b"[101]"), ROUTE)).body == b"[101]"


async def test_with_redis_one_process_builds_and_the_other_serves_stale_until_it_lands(repo: Repository) -> None:
    require_redis()
    prefix = f"test-{secrets.token_hex(6)}"
    first = _cache(repo, shared=SharedCache.connect(REDIS_URL, prefix=prefix, ttl=30))
    second = _cache(repo, shared=SharedCache.connect(REDIS_URL, prefix=prefix, ttl=30))
    built = await first.get_async(KEY, _answer(b"[100]"), ROUTE)
    assert (await second.get_async(KEY, _answer(b"never"), ROUTE)).etag == built.etag  # from Redis
    repo.save_blocks([block(101)])

    held, elsewhere = Held(b"[101]"), Held(b"not built here")
    assert (await first.get_async(KEY, held, ROUTE)).stale is not None  # claims the build
    served = await second.get_async(KEY, elsewhere, ROUTE)
    assert served.stale is not None
    assert served.etag == built.etag
    assert (first.counts.background_builds, second.counts.background_elsewhere) == (1, 1)
    held.release()
    landed = await _settled(second)  # from the shared level, built by the first
    assert landed.body == b"[101]"
    assert (elsewhere.runs, second.counts.builds, second.counts.shared_hits) == (0, 0, 2)
    for cache in (first, second):
        assert cache.shared is not None
        await cache.shared.aclose()


async def test_a_claim_refused_elsewhere_stands_for_the_recheck_time_without_asking_redis(
    repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_redis()
    monkeypatch.setattr(cache_module, "CLAIM_RECHECK_SECONDS", 3.0)  # far longer than the requests below take
    prefix = f"test-{secrets.token_hex(6)}"
    # A 30 s bound: the stale answer and the first's claim (whose TTL is the bound) outlast the waits below.
    first = _cache(repo, stale=30.0, shared=SharedCache.connect(REDIS_URL, prefix=prefix, ttl=30))
    second = _cache(repo, stale=30.0, shared=SharedCache.connect(REDIS_URL, prefix=prefix, ttl=30))
    await first.get_async(KEY, _answer(b"[100]"), ROUTE)
    await second.get_async(KEY, _answer(b"never"), ROUTE)  # from Redis: second keeps block 100's answer
    repo.save_blocks([block(101)])
    held = Held(b"[101]")
    assert (await first.get_async(KEY, held, ROUTE)).stale is not None  # claims the build
    assert second.shared is not None
    asked: list[object] = []
    claim = second.shared.claim

    async def counted(*args: object) -> bool:
        asked.append(args)
        return await claim(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(second.shared, "claim", counted)
    elsewhere = Held(b"not built here")
    for _ in range(10):
        assert (await second.get_async(KEY, elsewhere, ROUTE)).stale is not None
    assert (len(asked), second.counts.background_elsewhere) == (1, 10)  # one round trip, ten stale answers
    await asyncio.sleep(3.05)  # the refusal no longer stands: Redis is asked again (first still holds the claim)
    assert (await second.get_async(KEY, elsewhere, ROUTE)).stale is not None
    assert (len(asked), second.counts.background_elsewhere, elsewhere.runs) == (2, 11, 0)
    held.release()
    assert (await _settled(second)).body == b"[101]"  # built once, by the first
    for cache in (first, second):
        assert cache.shared is not None
        await cache.shared.aclose()


# --- a real server ---------------------------------------------------------------------------------------------


@pytest.fixture
def held_store(pg_database: str) -> str:  # noqa: F811
    repo = Repository.open(emptied(pg_database))
    repo.save_blocks([block(100)])
    repo.close()
    return pg_database


def _metric(base: str, name: str) -> float:
    body = httpx.get(f"{base}/metrics", timeout=10).text
    found = re.search(rf"^{name} (\S+)$", body, re.MULTILINE)
    assert found is not None, f"{name} missing from /metrics"
    return float(found.group(1))


def test_a_server_answers_the_previous_block_while_its_build_is_held(held_store: str) -> None:
    app = create_app(ApiSettings(database_url=held_store, version_ttl=0.05, stale_seconds=30.0), deployments=[])
    engine = create_engine(held_store)
    with serving(app) as base, ThreadPoolExecutor(12) as pool:
        before = httpx.get(f"{base}/v1/protocols?limit=5", timeout=10)
        assert before.status_code == 200
        assert before.headers["x-defiscope-blocks"] == "1=100"
        assert "x-defiscope-stale" not in before.headers
        repo = Repository.open(held_store)
        repo.save_blocks([block(101)])
        repo.close()
        time.sleep(0.2)  # past version_ttl
        httpx.get(f"{base}/metrics", timeout=10)  # reads the version: requests during a later re-read see 101 too
        try:
            with engine.connect() as locker:
                # The builds read the snapshots: held by an exclusive lock, as heavy writes would hold them.
                locker.execute(text(f"LOCK TABLE {TvlSnapshot.__tablename__} IN ACCESS EXCLUSIVE MODE"))
                never_asked = pool.submit(httpx.get, f"{base}/v1/protocols?limit=6", timeout=30)
                started = time.monotonic()
                stale = list(pool.map(lambda _: httpx.get(f"{base}/v1/protocols?limit=5", timeout=30), range(10)))
                took = time.monotonic() - started
                time.sleep(0.5)
                assert not never_asked.done()  # no earlier answer for it: it waits on the held build
                locker.rollback()
        finally:
            engine.dispose()
        assert took < 5.0, f"stale answers took {took:.1f} s"
        for answer in stale:
            assert answer.status_code == 200
            assert (answer.content, answer.headers["etag"]) == (before.content, before.headers["etag"])
            assert answer.headers["x-defiscope-blocks"] == "1=100"
            assert 0 <= float(answer.headers["x-defiscope-stale"]) < 30
        assert never_asked.result().headers["x-defiscope-blocks"] == "1=101"

        deadline = time.monotonic() + 10
        while (after := httpx.get(f"{base}/v1/protocols?limit=5", timeout=10)).headers.get("x-defiscope-stale"):
            assert time.monotonic() < deadline, "the new answer did not replace the stale one within 10 s"
            time.sleep(0.05)
        assert after.headers["x-defiscope-blocks"] == "1=101"
        assert _metric(base, "defiscope_cache_stale_answers_total") >= len(stale)
        assert _metric(base, "defiscope_cache_background_builds_total") == 1
        assert _metric(base, "defiscope_cache_background_failures_total") == 0
