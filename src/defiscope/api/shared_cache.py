"""The second level of the response cache: serialized answers in Redis, shared by every API process.

Same key and version as `BlockCache` (the version is the latest stored blocks, so a new block makes new
names and the old entries simply expire); each entry lives at most `ttl` seconds, which bounds Redis's
memory whatever the traffic. A Redis that fails or is slow is a miss, never a failed request: the answer
is built locally as without a shared level, and the failure is counted and logged once a minute.

    shared = SharedCache.connect("redis://127.0.0.1:6379/0", prefix="defiscope", ttl=60)
    found = await shared.get(("/v1/protocols", "limit=10"), version)   # (body, route) or None
    await shared.put(("/v1/protocols", "limit=10"), version, body, "/v1/protocols")

A background build behind a stale answer (`BlockCache`) is claimed first, so that one process builds it:
`claim` is a SET NX with a TTL (a claimant that dies frees it by expiry), `release` deletes it when the build
ends, built or failed. A Redis that fails grants the claim: at worst each process builds, as without Redis.

    if await shared.claim(key, version, 5.0): ...build...; await shared.release(key, version)
"""

from __future__ import annotations

import hashlib
import time
from typing import Final

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)

Key = tuple[str, str]
Version = tuple[tuple[int, int, str], ...]
#: Seconds a shared-cache round trip may take before it counts as a miss (a local build is cheaper than a wait).
TIMEOUT_SECONDS: Final = 0.25
#: Separates the route label from the body in the stored value (a route template never holds it).
_SEP: Final = b"\0"


def entry_name(prefix: str, key: Key, version: Version, kind: str = "cache") -> str:
    """The Redis key of one answer at one version (`kind` "claim": of its build's claim): a digest, so that long
    query strings stay short keys.

    >>> entry_name("ds", ("/v1/protocols", ""), ((1, 100, "0xab"),))[:9]
    'ds:cache:'
    """
    digest = hashlib.blake2b(repr((key, version)).encode(), digest_size=20).hexdigest()
    return f"{prefix}:{kind}:{digest}"


class SharedCache:
    def __init__(self, client: Redis, *, prefix: str, ttl: float) -> None:
        self._client = client
        self._prefix = prefix
        self._ttl_ms = max(1, int(ttl * 1000))
        self.errors = 0  # failed round trips, each served as a miss
        self._warned = float("-inf")

    @classmethod
    def connect(cls, url: str, *, prefix: str, ttl: float) -> SharedCache:
        """A client for `url` (connections open lazily, on the first request, on the app's own event loop)."""
        client = Redis.from_url(url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS)
        return cls(client, prefix=prefix, ttl=ttl)

    async def get(self, key: Key, version: Version) -> tuple[bytes, str] | None:
        try:
            stored = await self._client.get(entry_name(self._prefix, key, version))
        except (RedisError, OSError) as exc:
            self._failed("get", exc)
            return None
        if not isinstance(stored, bytes):
            return None
        route, _, body = stored.partition(_SEP)
        return body, route.decode()

    async def put(self, key: Key, version: Version, body: bytes, route: str) -> None:
        name = entry_name(self._prefix, key, version)
        try:
            await self._client.set(name, route.encode() + _SEP + body, px=self._ttl_ms)
        except (RedisError, OSError) as exc:
            self._failed("put", exc)

    async def claim(self, key: Key, version: Version, seconds: float) -> bool:
        """Whether this process may build `key` at `version`: no other claim lives (this one lasts `seconds`)."""
        name = entry_name(self._prefix, key, version, "claim")
        try:
            return bool(await self._client.set(name, b"1", nx=True, px=max(1, int(seconds * 1000))))
        except (RedisError, OSError) as exc:
            self._failed("claim", exc)
            return True

    async def release(self, key: Key, version: Version) -> None:
        try:
            await self._client.delete(entry_name(self._prefix, key, version, "claim"))
        except (RedisError, OSError) as exc:
            self._failed("release", exc)

    async def aclose(self) -> None:
        await self._client.aclose()

    def _failed(self, what: str, exc: Exception) -> None:
        self.errors += 1
        now = time.monotonic()
        if now - self._warned >= 60:
            self._warned = now
            log.warning("api.shared_cache_failed", operation=what, error=str(exc) or type(exc).__name__)
