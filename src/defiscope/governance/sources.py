"""Where proposals come from (`chain`, `snapshot`), and the off-chain source with its TTL cache.

    source = OffchainSource(SnapshotSettings(enabled=True))
    listing = await source.proposals(("uniswap",), chain_id=1)
    listing.status.status, listing.status.detail        # "ok" | "failed" | "off", and why
    listing.proposals                                   # OffchainProposal, newest first

A failure of the Hub never raises here: it comes back as a `failed` status whose detail names the host and
what to do (the API lists the on-chain proposals beside it; the CLI prints them and exits 1 with that line).
A fetched list is served for `cache_ttl` seconds, a failure for `failure_ttl`, and concurrent callers share
one fetch, so a busy API asks the Hub at most once per TTL per set of spaces. The cache is in memory: a
restart asks again, which one request per space set makes cheap (no store table is needed).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from defiscope.governance.offchain import SNAPSHOT_SPACES, OffchainProposal, offchain_proposal
from defiscope.governance.snapshot import SnapshotClient, SnapshotError
from defiscope.governance.snapshot_settings import SnapshotSettings

SourceName = Literal["chain", "snapshot"]
SOURCES: Final[tuple[SourceName, ...]] = ("chain", "snapshot")
Status = Literal["ok", "failed", "off"]


@dataclass(frozen=True, slots=True)
class SourceStatus:
    source: SourceName
    status: Status
    detail: str
    fetched_at: int | None = None  # unix seconds the listed data was fetched (off-chain source)


@dataclass(frozen=True, slots=True)
class OffchainListing:
    proposals: tuple[OffchainProposal, ...]
    status: SourceStatus
    error: SnapshotError | None = None  # the failure behind a `failed` status


def disabled_status() -> SourceStatus:
    return SourceStatus(
        "snapshot", "off", "the Snapshot source is off: set DEFISCOPE_SNAPSHOT_ENABLED=1 or [snapshot] enabled = true"
    )


@dataclass(slots=True)
class _Cached:
    at: float  # monotonic
    docs: tuple[OffchainProposal, ...]
    status: SourceStatus
    error: SnapshotError | None


class OffchainSource:
    """Snapshot proposals of the governed protocols, fetched through one `SnapshotClient` and cached."""

    def __init__(
        self,
        settings: SnapshotSettings,
        *,
        client: SnapshotClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._client = client
        self._clock = clock
        self._wall = wall
        self._cache: dict[tuple[str, ...], _Cached] = {}
        self._lock = asyncio.Lock()

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def proposals(self, protocols: Sequence[str], *, chain_id: int) -> OffchainListing:
        """The proposals of `protocols`' spaces whose voting network is `chain_id`."""
        if not self.enabled:
            return OffchainListing((), disabled_status())
        spaces = tuple(sorted(s for p in protocols for s in SNAPSHOT_SPACES.get(p, ())))
        if not spaces:
            status = SourceStatus("snapshot", "ok", f"no Snapshot space is known for {', '.join(protocols)}")
            return OffchainListing((), status)
        cached = await self._fetched(spaces)
        listed = tuple(p for p in cached.docs if p.chain_id == chain_id)
        return OffchainListing(listed, cached.status, cached.error)

    async def _fetched(self, spaces: tuple[str, ...]) -> _Cached:
        async with self._lock:  # concurrent callers share one fetch
            cached = self._cache.get(spaces)
            if cached is not None and self._clock() - cached.at < self._ttl(cached):
                return cached
            cached = await self._fetch(spaces)
            self._cache[spaces] = cached
            return cached

    def _ttl(self, cached: _Cached) -> float:
        return self.settings.failure_ttl if cached.error is not None else self.settings.cache_ttl

    async def _fetch(self, spaces: tuple[str, ...]) -> _Cached:
        if self._client is None:
            self._client = SnapshotClient(self.settings)
        now = int(self._wall())
        since = now - self.settings.lookback_days * 86_400
        try:
            docs, truncated = await self._client.proposals(spaces, created_gte=since)
        except SnapshotError as exc:
            return _Cached(self._clock(), (), SourceStatus("snapshot", "failed", str(exc)), exc)
        proposals = tuple(offchain_proposal(doc, now=now) for doc in docs)
        detail = (
            f"{len(proposals)} proposals of {', '.join(spaces)} created in the last {self.settings.lookback_days} days"
        )
        if truncated:
            limit = self.settings.page_size * self.settings.max_pages
            detail += f"; only the newest {limit} were fetched (DEFISCOPE_SNAPSHOT_MAX_PAGES)"
        return _Cached(self._clock(), proposals, SourceStatus("snapshot", "ok", detail, now), None)
