"""Request accounting per endpoint: what was sent, what came back, how long it took.

Kept as plain counters so a metrics exporter can read them without locking: the event loop is the only
writer.

    >>> stats = EndpointStats()
    >>> stats.record(calls=3, sent=120, received=400, seconds=0.004)
    >>> stats.requests, stats.calls, stats.bytes_received
    (1, 3, 400)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Final

#: Upper bounds (seconds) of the latency histogram, Prometheus-style; the last bucket is +Inf.
LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(slots=True)
class EndpointStats:
    requests: int = 0  # HTTP requests sent
    calls: int = 0  # JSON-RPC calls inside them (a batch counts each item)
    errors: int = 0  # requests that failed (transport, HTTP status, malformed, rate limited)
    bytes_sent: int = 0
    bytes_received: int = 0
    latency_total: float = 0.0
    latency_max: float = 0.0
    latency_buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    rate_limited: int = 0  # refusals for rate (HTTP 429, -32005): each paused the endpoint
    throttled_seconds: float = 0.0  # time requests waited for the endpoint's budget or Retry-After
    stalls: int = 0  # waits of a second or more: shown so a throttled read is not taken for a hang

    def throttled(self, seconds: float, *, stall: bool) -> None:
        self.throttled_seconds += seconds
        self.stalls += stall

    def record(self, *, calls: int, sent: int, received: int, seconds: float, failed: bool = False) -> None:
        self.requests += 1
        self.calls += calls
        self.bytes_sent += sent
        self.bytes_received += received
        self.latency_total += seconds
        self.latency_max = max(self.latency_max, seconds)
        if failed:
            self.errors += 1
        for i, bound in enumerate(LATENCY_BUCKETS):
            if seconds <= bound:
                self.latency_buckets[i] += 1
                break
        else:
            self.latency_buckets[-1] += 1

    @property
    def latency_mean(self) -> float:
        return self.latency_total / self.requests if self.requests else 0.0

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["latency_mean"] = self.latency_mean
        return out
