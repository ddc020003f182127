"""Settings of the Snapshot source (`[snapshot]` in the config file, `DEFISCOPE_SNAPSHOT_<FIELD>` in the
environment; `defiscope.config.load_settings` reads both). Off by default: it reaches a third-party service.

    >>> s = SnapshotSettings(enabled=True)
    >>> s.host, s.cache_ttl
    ('hub.snapshot.org', 60.0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

from defiscope.chain.errors import InvalidInput

HUB_URL: Final = "https://hub.snapshot.org/graphql"
ENV_PREFIX: Final = "DEFISCOPE_SNAPSHOT_"


@dataclass(frozen=True, slots=True)
class SnapshotSettings:
    """`[snapshot]` in the config file, or `DEFISCOPE_SNAPSHOT_<FIELD>` (the environment wins)."""

    enabled: bool = False  # off by default: it reaches a third-party service
    url: str = HUB_URL
    api_key: str | None = field(default=None, repr=False)  # sent as `x-api-key`, never in a URL or a log
    timeout: float = 10.0  # seconds per request
    max_attempts: int = 4  # tries of one page (429, 5xx, timeouts, refused connections)
    max_retry_after: float = 30.0  # a longer Retry-After fails at once rather than hold the caller
    page_size: int = 100  # `first` of one page
    max_pages: int = 10
    lookback_days: int = 120  # proposals created since then (`created_gte`)
    cache_ttl: float = 60.0  # seconds a fetched list is served again
    failure_ttl: float = 15.0  # seconds a failure is reported again before the Hub is asked anew

    def __post_init__(self) -> None:
        scheme = urlsplit(self.url).scheme
        if scheme not in ("http", "https"):
            raise InvalidInput(f"snapshot url must be http(s)://..., got {self.url!r}")
        for name in ("max_attempts", "page_size", "max_pages", "lookback_days"):
            if getattr(self, name) < 1:
                raise InvalidInput(f"snapshot {name} must be at least 1")

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc
