"""The shared (Redis) level of the response cache: same key and version semantics as the local LRU, a failed
Redis is a miss that builds locally, never a failed request."""

from __future__ import annotations

import secrets

import pytest
import redis

from defiscope.api.cache import BlockCache
from defiscope.api.shared_cache import SharedCache, entry_name
from defiscope.chain.block import BlockRef
from tests.api.conftest import REDIS_URL, require_redis


def _blocks(number: int) -> dict[int, BlockRef]:
    return {1: BlockRef(1, number, f"0x{number:064x}", 1_700_000_000 + number)}


class Store:
    """The latest stored blocks, as the repository would answer them."""

    def __init__(self) -> None:
        self.blocks = _blocks(100)

    def latest(self) -> dict[int, BlockRef]:
        return self.blocks


def _cache(store: Store, shared: SharedCache) -> BlockCache:
    return BlockCache(store.latest, ttl=0.0, entries=16, max_bytes=1 << 20, shared=shared)


@pytest.fixture
def prefix() -> str:
    require_redis()
    return f"test-{secrets.token_hex(6)}"


async def test_one_build_serves_every_process_until_the_version_changes(prefix: str) -> None:
    store = Store()
    first = _cache(store, SharedCache.connect(REDIS_URL, prefix=prefix, ttl=30))
    second = _cache(store, SharedCache.connect(REDIS_URL, prefix=prefix, ttl=30))
    builds: list[str] = []

    async def build(body: bytes) -> bytes:
        builds.append(body.decode())
        return body

    key = ("/v1/protocols", "limit=7")
    built = await first.get_async(key, lambda: build(b"[100]"), "/v1/protocols")
    served = await second.get_async(key, lambda: build(b"never"), "/v1/protocols")
    assert (served.body, served.etag, served.route) == (built.body, built.etag, "/v1/protocols")
    assert (first.counts.builds, second.counts.builds, second.counts.shared_hits) == (1, 0, 1)
    assert await second.peek(key) == served  # now kept locally too
    assert second.counts.local_hits == 1

    store.blocks = _blocks(101)
    assert await second.peek(key) is None  # neither level has this key at the new version
    rebuilt = await second.get_async(key, lambda: build(b"[101]"), "/v1/protocols")
    assert rebuilt.body == b"[101]"
    assert builds == ["[100]", "[101]"]
    ttl_ms = redis.Redis.from_url(REDIS_URL).pttl(entry_name(prefix, key, (((1, 101, f"0x{101:064x}"),))))
    assert 0 < ttl_ms <= 30_000  # bounded: the entry expires
    for cache in (first, second):
        assert cache.shared is not None
        await cache.shared.aclose()


async def test_a_redis_that_does_not_answer_is_a_miss_built_locally() -> None:
    shared = SharedCache.connect("redis://127.0.0.1:1/0", prefix="down", ttl=30)
    cache = _cache(Store(), shared)

    async def build() -> bytes:
        return b"{}"

    entry = await cache.get_async(("/v1/chains", ""), build, "/v1/chains")
    assert entry.body == b"{}"
    assert cache.counts.builds == 1
    assert shared.errors == 2  # the lookup and the store both failed, and were counted
    await shared.aclose()
