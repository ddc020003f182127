"""Responses serialized once per indexed block, served as bytes with an ETag.

The cache key is (path, the route's declared query parameters) plus the *version*: the latest stored block
of every chain. When the indexer stores a new block the version changes and every entry is rebuilt on its
next request. The version
is read from the store at most every `ttl` seconds, so between checks a request costs a dict lookup.
`Gate` serves hits before routing (`peek`): a request answered once at this version skips parameter
validation too, which is sound because validation depends only on the path and the declared parameters,
both in the key. Parameters the route does not declare are left out of the key (FastAPI ignores them too,
so they cannot force a rebuild), and a repeated one counts with its last value (the one FastAPI reads).
The cache is bounded in entries and in bytes; a body over a quarter of the byte budget is served, not kept.
With a `SharedCache` (Redis) behind it, a local miss looks there before building, and a build is stored there
too, so several API processes build each answer once per version (`defiscope.api.shared_cache`).

Stale while revalidate (`stale_seconds` > 0): when the version has moved and the key's answer at an earlier
version is kept, that answer is served at once (marked `Entry.stale`: seconds since its version was superseded)
while one build of the current version runs in the background (once per key in this process, and with a shared
level once across processes: a Redis claim, whose refusal a process takes as standing for 50 ms rather than ask
again on every stale request); requests during it are served the stale answer by `peek` too. Only
within `stale_seconds` of the supersession and only when the versions since only advanced (`api.staleness`: no
answer naming a block that a reorg rolled back); otherwise, and past the bound, requests wait on the build as
without it. A failed background build keeps nothing; the next request starts another while the bound lasts.

    cache = BlockCache(read_version=repo.latest_blocks, ttl=0.5, entries=2048, max_bytes=64 << 20)
    entry = await cache.get(("/v1/protocols", "limit=10"), build)   # build() -> bytes, run in a thread
    entry = await cache.get_async(("/v1/quote", "amount=1&..."), abuild)  # abuild() -> awaitable bytes
    entry.etag                                                      # '"3f2a..."'
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass, replace
from typing import Final, Generic, TypeVar
from urllib.parse import parse_qsl, urlencode

import structlog
from starlette.concurrency import run_in_threadpool

from defiscope.api.shared_cache import SharedCache
from defiscope.api.staleness import Staleness, StoredHash, advances
from defiscope.chain.block import BlockRef

log = structlog.get_logger(__name__)

Key = tuple[str, str]
S = TypeVar("S", bound=Hashable)
T = TypeVar("T")
Version = tuple[tuple[int, int, str], ...]
Slot = tuple[Key, Version]
Builder = Callable[[], Awaitable[bytes]]


@dataclass(frozen=True, slots=True)
class Entry:
    body: bytes
    etag: str
    route: str  # the route's path template, for metrics labels when served from the cache
    version: Version = ()  # the latest stored blocks it was built at (none: an answer not kept per version)
    stale: float | None = None  # served after a newer version was seen: seconds since (see the module)


@dataclass(slots=True)
class CacheCounts:
    """Answers served from this process's LRU, from the shared level, stale, and built here."""

    local_hits: int = 0
    shared_hits: int = 0
    builds: int = 0
    build_seconds: float = 0.0  # wall time of the builds, waits for threads and the store included
    stale_answers: int = 0  # an earlier version's answer served while the current one built
    background_builds: int = 0  # builds started in the background behind a stale answer
    background_failures: int = 0  # of those, the ones that failed (nothing kept; logged)
    background_elsewhere: int = 0  # not started here: another process had claimed the build


def declared_query(route: object) -> frozenset[str]:
    """The query parameter names (aliases) a FastAPI route reads; none for anything else."""
    dependant = getattr(route, "dependant", None)
    fields = getattr(dependant, "query_params", ()) if dependant is not None else ()
    return frozenset(str(f.alias) for f in fields)


def cache_key(path: str, raw_query: bytes, declared: frozenset[str]) -> Key:
    """(path, the declared parameters with their last value, sorted): one key per validated request,
    however its parameters are ordered, repeated or padded with unknown ones.

    >>> cache_key("/v1/protocols", b"limit=1&x=9&limit=500&chain=1", frozenset({"limit", "chain"}))
    ('/v1/protocols', 'chain=1&limit=500')
    """
    last: dict[str, str] = {}
    for name, value in parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True):
        if name in declared:
            last[name] = value
    return path, urlencode(sorted(last.items()))


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison of an If-None-Match header against our (strong) ETag."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))


#: How long another process's claim of a background build is taken as standing before Redis is asked again.
CLAIM_RECHECK_SECONDS: Final = 0.05
#: Refused claims remembered before the expired ones are dropped.
_ELSEWHERE_KEPT: Final = 1024


class BlockCache:
    """An LRU of serialized responses, invalidated when the latest stored blocks change."""

    def __init__(
        self,
        read_version: Callable[[], Mapping[int, BlockRef]],
        *,
        ttl: float,
        entries: int,
        max_bytes: int,
        shared: SharedCache | None = None,
        stale_seconds: float = 0.0,
        stored_hash: StoredHash | None = None,
    ) -> None:
        self._read = read_version
        self.shared = shared
        self.counts = CacheCounts()
        self._ttl = ttl
        self._entries = entries
        self._max_bytes = max_bytes
        self._bytes = 0  # bodies kept, in bytes
        self._lru: OrderedDict[Slot, Entry] = OrderedDict()
        self._inflight: dict[Slot, asyncio.Future[Entry]] = {}
        self._staleness = Staleness(stale_seconds)
        self._stored_hash = stored_hash  # to tell an advance from a reorg (`api.staleness.advances`)
        self._newest: dict[Key, Version] = {}  # per key, the version of its newest kept entry
        self._revalidating: dict[Slot, asyncio.Task[None]] = {}  # background builds behind stale answers
        self._elsewhere: dict[Slot, float] = {}  # background builds claimed elsewhere: till when that stands
        self._blocks: Mapping[int, BlockRef] = {}
        self._version: Version = ()
        self._checked = float("-inf")
        self._refresh: asyncio.Lock | None = None

    @property
    def blocks(self) -> Mapping[int, BlockRef]:
        """The latest stored block per chain, as of the last check."""
        return self._blocks

    async def version(self) -> Version:
        """The current version, re-read from the store when the last check is older than `ttl`.

        One request re-reads it; requests arriving meanwhile go on with the version they have (never
        older than `ttl` plus one query), so a slow store query never queues the whole server.
        """
        if time.monotonic() - self._checked < self._ttl:
            return self._version
        if self._refresh is not None and self._refresh.locked() and self._checked > float("-inf"):
            return self._version
        if self._refresh is None:
            self._refresh = asyncio.Lock()
        async with self._refresh:
            if time.monotonic() - self._checked >= self._ttl:
                blocks, version, advanced = await run_in_threadpool(self._read_version)
                if version != self._version:
                    self._staleness.moved(self._version, version, advanced=advanced)
                self._blocks = blocks
                self._version = version
                self._checked = time.monotonic()
        return self._version

    def _read_version(self) -> tuple[Mapping[int, BlockRef], Version, bool]:
        """(blocks, version, whether it only advanced from the current one), in a thread: store queries."""
        blocks = self._read()
        version = tuple(sorted((b.chain_id, b.number, b.hash) for b in blocks.values()))
        if version == self._version or self._staleness.bound <= 0:
            return blocks, version, False
        return blocks, version, advances(self._version, version, self._stored_hash)

    @property
    def current(self) -> Version:
        """The version as of the last check (no store query: safe from a build's thread)."""
        return self._version

    @property
    def size(self) -> tuple[int, int]:
        """(entries, bytes) kept."""
        return len(self._lru), self._bytes

    def _keep(self, slot: Slot, entry: Entry) -> None:
        if len(entry.body) > self._max_bytes // 4:
            return  # one huge body must not flush everything else
        self._lru[slot] = entry
        self._bytes += len(entry.body)
        key, version = slot
        if self._newest.get(key) != self._version:  # a slow build of an older version never hides the current one
            self._newest[key] = version
        while len(self._lru) > self._entries or self._bytes > self._max_bytes:
            (key, version), dropped = self._lru.popitem(last=False)
            self._bytes -= len(dropped.body)
            if self._newest.get(key) == version:
                del self._newest[key]

    async def peek(self, key: Key) -> Entry | None:
        """The entry for `key` at the current version if one was built, without building it; while a background
        build of it runs, the earlier version's answer (stale) within the bound."""
        slot = (key, await self.version())
        entry = self._lru.get(slot)
        if entry is not None:
            self._lru.move_to_end(slot)
            self.counts.local_hits += 1
            return entry
        found = await self._shared_entry(slot)
        if found is None and slot in self._revalidating:
            return self._stale(key)
        return found

    def _stale(self, key: Key) -> Entry | None:
        """The newest kept answer for `key` from an earlier version that may still be served, marked stale."""
        version = self._newest.get(key)
        if version is None or version == self._version or self._staleness.bound <= 0:
            return None
        age = self._staleness.age(version)
        entry = None if age is None else self._lru.get((key, version))
        if entry is None or age is None:
            return None
        self.counts.stale_answers += 1
        return replace(entry, stale=age)

    async def _shared_entry(self, slot: Slot) -> Entry | None:
        """The entry another process stored for `slot`, kept locally too; None without a shared level."""
        if self.shared is None:
            return None
        found = await self.shared.get(*slot)
        if found is None:
            return None
        body, route = found
        entry = Entry(body, etag_of(body), route, slot[1])
        self._keep(slot, entry)
        self.counts.shared_hits += 1
        return entry

    async def get(self, key: Key, build: Callable[[], bytes], route: str = "") -> Entry:
        """The entry for `key` at the current version; concurrent misses share one build (run in a thread)."""
        return await self.get_async(key, lambda: run_in_threadpool(build), route)

    async def get_async(self, key: Key, build: Builder, route: str = "", *, stale: bool = True) -> Entry:
        """`get` with a coroutine builder, for bodies that read the chains on the event loop (quotes). With
        `stale` (and the cache's bound), an earlier version's answer now and the build in the background."""
        slot = (key, await self.version())
        entry = self._lru.get(slot)
        if entry is not None:
            self._lru.move_to_end(slot)
            self.counts.local_hits += 1
            return entry
        served = self._stale(key) if stale else None
        if served is not None:
            await self._revalidate(slot, build, route)
            return served
        return await shared_build(self._inflight, slot, lambda: self._shared_or_built(slot, build, route))

    async def _shared_or_built(self, slot: Slot, build: Builder, route: str) -> Entry:
        return await self._shared_entry(slot) or await self._build(slot, build, route)

    async def _revalidate(self, slot: Slot, build: Builder, route: str) -> None:
        """Start the background build of `slot` unless one runs here, or another process claimed it."""
        if slot in self._inflight or slot in self._revalidating:
            return
        if self.shared is not None:
            if not await self._claim(self.shared, slot):
                self.counts.background_elsewhere += 1
                return
            if slot in self._inflight or slot in self._revalidating:  # started here during the round trip
                await self.shared.release(*slot)
                return
        self.counts.background_builds += 1
        self._revalidating[slot] = asyncio.create_task(self._background(slot, build, route))

    async def _claim(self, shared: SharedCache, slot: Slot) -> bool:
        """Whether this process may build `slot` in the background: a Redis claim. A refusal is taken as standing
        for `CLAIM_RECHECK_SECONDS`: the stale requests meanwhile ask Redis nothing, and a build landing elsewhere
        is picked up at most that much later."""
        now = time.monotonic()
        if self._elsewhere.get(slot, now) > now:
            return False
        if await shared.claim(*slot, self._staleness.bound):
            self._elsewhere.pop(slot, None)
            return True
        if len(self._elsewhere) >= _ELSEWHERE_KEPT:  # superseded versions' slots are never asked again
            self._elsewhere = {kept: until for kept, until in self._elsewhere.items() if until > now}
        self._elsewhere[slot] = now + CLAIM_RECHECK_SECONDS
        return False

    async def _background(self, slot: Slot, build: Builder, route: str) -> None:
        try:
            await shared_build(self._inflight, slot, lambda: self._shared_or_built(slot, build, route))
        except Exception as exc:  # nobody awaits this task: the failure is counted and logged, nothing is kept
            self.counts.background_failures += 1
            log.warning("api.cache_background_build_failed", path=slot[0][0], error=repr(exc), exc_info=exc)
        finally:
            del self._revalidating[slot]
            if self.shared is not None:
                await self.shared.release(*slot)

    async def aclose(self) -> None:
        """Cancel the background builds still running (at shutdown)."""
        tasks = list(self._revalidating.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _build(self, slot: Slot, build: Builder, route: str) -> Entry:
        started = time.perf_counter()
        body = await build()
        entry = Entry(body, etag_of(body), route, slot[1])
        self._keep(slot, entry)
        self.counts.builds += 1
        self.counts.build_seconds += time.perf_counter() - started
        if self.shared is not None:
            await self.shared.put(*slot, body, route)
        return entry


class LatestBuilds:
    """Per key, the one body built for the newest version asked: for reports recomputed only when what they are
    built from changes (not with every indexed block). Concurrent requests for a key and version share one build,
    run in a thread; a failed build is not kept.

        builds = LatestBuilds()
        entry = await builds.get("splits=6", stored_version, build)   # build() -> bytes, once per version
    """

    __slots__ = ("_kept", "_pending")

    def __init__(self) -> None:
        self._kept: dict[Hashable, tuple[Hashable, Entry]] = {}
        self._pending: dict[tuple[Hashable, Hashable], asyncio.Future[Entry]] = {}

    async def get(self, key: Hashable, version: Hashable, build: Callable[[], bytes], route: str = "") -> Entry:
        kept = self._kept.get(key)
        if kept is not None and kept[0] == version:
            return kept[1]

        async def build_and_keep() -> Entry:
            body = await run_in_threadpool(build)
            entry = Entry(body, etag_of(body), route)
            self._kept[key] = (version, entry)
            return entry

        return await shared_build(self._pending, (key, version), build_and_keep)


class PerVersion(Generic[T]):
    """One value per version, computed once and shared by every build that needs it at that version: for a
    computation several routes build on (the protocol ranking behind /v1/protocols, /v1/chains, /protocols and
    /v2/chains: a store query per protocol, chain and change window). Builds run in threads, so threads asking at
    once wait for the one computing (a lock held while it computes): a new block costs one computation, not one per
    route. A failed computation is not kept. The value is shared: callers must not mutate it.

        ranking = PerVersion[list[Row]]()
        rows = ranking.get(cache.current, lambda: rank(repo))   # rank() once per version
    """

    __slots__ = ("_kept", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: tuple[Hashable, T] | None = None

    def get(self, version: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if self._kept is not None and self._kept[0] == version:
                return self._kept[1]
            value = compute()
            self._kept = (version, value)
            return value


async def shared_build(
    inflight: dict[S, asyncio.Future[Entry]], slot: S, build: Callable[[], Awaitable[Entry]]
) -> Entry:
    """`build()` once for concurrent callers of the same slot: the first builds, the others await its result
    (or its error)."""
    pending = inflight.get(slot)
    if pending is not None:
        return await asyncio.shield(pending)
    future: asyncio.Future[Entry] = asyncio.get_running_loop().create_future()
    inflight[slot] = future
    try:
        entry = await build()
        future.set_result(entry)
        return entry
    except BaseException as exc:
        future.set_exception(exc)
        future.exception()  # mark retrieved: waiters re-raise it, nobody else must log it
        raise
    finally:
        del inflight[slot]
