"""How the HTTP API is exposed: who may call it, how often, and how big a request or page may be.

    >>> s = ApiSettings.from_env({"DEFISCOPE_API_ANONYMOUS": "0", "DEFISCOPE_API_RATE_IP": "10/second"})
    >>> s.anonymous, s.rate_per_ip, s.rate_storage
    (False, '10/second', 'async+memory://')

Every field has an environment variable (`DEFISCOPE_API_<FIELD>`); `DEFISCOPE_REDIS_URL` moves the rate
limit counters and a second level of the response cache to Redis, so several server processes share them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from ipaddress import ip_network
from typing import Final

from limits import parse

from defiscope.chain.errors import InvalidInput
from defiscope.config import env_value

REDIS_ENV: Final = "DEFISCOPE_REDIS_URL"
_PREFIX: Final = "DEFISCOPE_API_"


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """Exposure settings; the defaults suit a server on loopback that anyone local may read."""

    database_url: str | None = None  # None: `defiscope.store.database_url()`
    anonymous: bool = True  # serve requests without an API key
    rate_per_ip: str = "600/minute"  # anonymous callers, by client address (`limits` syntax)
    rate_per_key: str = "3000/minute"  # callers with a key, by key
    rate_per_quote: str = "60/minute"  # /v1/quote per caller, on top of the general limit (it reads the chains)
    quote_concurrency: int = 4  # quotes computed at once; more answer 503 with Retry-After at once
    quote_deadline: float = 10.0  # seconds a quote may take before it is abandoned with a 503
    rate_failed_keys: str = "30/minute"  # wrong API keys per client address before 429 (no store lookup then)
    trusted_proxies: tuple[str, ...] = ()  # addresses/CIDRs of reverse proxies whose X-Forwarded-For counts
    rate_storage: str = "async+memory://"  # or async+redis://host:6379 (from DEFISCOPE_REDIS_URL)
    rate_prefix: str = "defiscope"  # key prefix of the counters and shared cache entries in Redis
    redis_url: str | None = None  # redis://host:6379/0 (from DEFISCOPE_REDIS_URL): the shared cache level
    shared_cache_ttl: float = 60.0  # seconds an answer stays in the shared cache (0: no shared level)
    cors_origins: tuple[str, ...] = ()  # allowed browser origins; "*" for any
    max_body_bytes: int = (
        16_384  # the only bodies are alert rules (a few hundred bytes): a big body is never legitimate
    )
    max_page_size: int = 500
    max_tokens: int = 100  # tokens / coins / ids in one price request
    max_history_points: int = 2000  # points of one interval=block history; more is a 400 naming `interval`
    version_ttl: float = 0.5  # seconds between checks of the latest stored blocks (the cache key)
    cache_entries: int = 2048  # serialized responses kept (LRU)
    cache_bytes: int = 64 * 1024 * 1024  # and at most this many bytes of them
    # Seconds after a newer block is seen during which the previous block's answer is served (marked stale) while
    # the new one builds in the background; 0: every request waits on the build. 5 s: within half of Ethereum's
    # 12 s slot (a stale answer is at most one chain-1 block behind the store), longer than the rebuilds measured
    # beside the indexer's writes on the 300-pair world, and no longer than a request may queue (max_queue_wait).
    stale_seconds: float = 5.0
    health_max_lag: float = 300.0  # seconds the last indexed block may trail the head (or indexing fail) before 503
    key_cache_ttl: float = 5.0  # seconds a checked key is trusted before the store is asked again
    # Load shedding (api/shed.py): requests past the cache worked on at once, queued behind them, and the longest
    # wait in that queue; past either bound, 503 with Retry-After at once (health, metrics, streams exempt). Wide
    # enough that waiters on a block's rebuilds pass (measured: 16 and 1 s shed them for nothing), tight enough
    # that nothing queues past a client's usual 10 s timeout.
    max_in_flight: int = 64
    max_queued: int = 256
    max_queue_wait: float = 5.0
    # No key needed (still rate-limited); leave /docs and /metrics out to require a key for them.
    public_paths: tuple[str, ...] = field(default=("/v1/health", "/metrics", "/openapi.json", "/docs"))

    def __post_init__(self) -> None:
        for name in ("rate_per_ip", "rate_per_key", "rate_per_quote", "rate_failed_keys"):
            try:
                parse(getattr(self, name))
            except ValueError as exc:
                raise InvalidInput(f"API setting {name}: {exc} (e.g. '600/minute')") from exc
        if min(self.max_page_size, self.max_tokens, self.max_history_points, self.quote_concurrency) < 1:
            raise InvalidInput(
                "API settings: max_page_size, max_tokens, max_history_points and quote_concurrency must be positive"
            )
        for proxy in self.trusted_proxies:
            try:
                ip_network(proxy.strip(), strict=False)
            except ValueError as exc:
                raise InvalidInput(f"API setting trusted_proxies: {exc} (e.g. 10.0.0.0/8,127.0.0.1)") from exc
        if self.max_body_bytes < 0 or self.quote_deadline <= 0 or self.shared_cache_ttl < 0:
            raise InvalidInput(
                "API settings: max_body_bytes and shared_cache_ttl must be >= 0 and quote_deadline positive"
            )
        if not 0 <= self.stale_seconds < float("inf"):
            raise InvalidInput("API setting stale_seconds: must be a number of seconds >= 0 (0: never stale)")
        if self.max_in_flight < 1 or self.max_queued < 0 or not self.max_queue_wait > 0:
            raise InvalidInput(
                "API settings: max_in_flight must be positive, max_queued >= 0 and max_queue_wait positive (seconds)"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> ApiSettings:
        """Defaults, then `DEFISCOPE_API_*` / `DEFISCOPE_REDIS_URL` / `DEFISCOPE_DATABASE_URL`, then `overrides`."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(_PREFIX + f.name.upper())
            if raw is not None:
                values[f.name] = env_value(_PREFIX + f.name.upper(), str(f.type), raw)
        if env.get(REDIS_ENV):
            values["rate_storage"] = "async+" + env[REDIS_ENV]
            values["redis_url"] = env[REDIS_ENV]
        if env.get("DEFISCOPE_DATABASE_URL") and "database_url" not in values:
            values["database_url"] = env["DEFISCOPE_DATABASE_URL"]
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
