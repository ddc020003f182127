"""Prometheus metrics: requests, latency, index lag, (when the server indexes) RPC calls, and the scale-out jobs:
counts by state and run times from the job ledger (with the outbox rows the scheduler's sweep sent a job for), and
(with `DEFISCOPE_BROKER_URL` set) each queue's depth.

Each app has its own registry, so several apps (tests) never collide on metric names.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from defiscope.api.context import ApiContext, Live
from defiscope.errors import DefiscopeError
from defiscope.service.jobs.ledger import LATENCY_BUCKETS as JOB_BUCKETS
from defiscope.service.jobs.ledger import JobLedger
from defiscope.service.jobs.settings import BROKER_URL_ENV, JobSettings
from defiscope.service.jobs.sweep import SWEEP_KIND

#: Methods counted under their own name; any other token a client sends is "other" (bounded label values).
KNOWN_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})
LATENCY_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


#: Per-endpoint RPC counters from `EndpointStats`: metric suffix, help, field. Throttling is exported so a
#: slow read under a provider's limits shows as waiting, not as a hang.
RPC_COUNTERS: Final = (
    ("requests", "JSON-RPC HTTP requests", "requests"),
    ("calls", "JSON-RPC calls (batch items)", "calls"),
    ("errors", "Failed JSON-RPC requests", "errors"),
    ("rate_limited", "Rate refusals from the endpoint (HTTP 429, -32005, -32029)", "rate_limited"),
    ("throttled_seconds", "Seconds requests waited for the endpoint's budget or Retry-After", "throttled_seconds"),
    ("stalls", "Waits of a second or more for the endpoint's budget", "stalls"),
)


class ChainCollector(Collector):
    """Index lag from the cache's view of the latest stored blocks; RPC accounting from live chain clients."""

    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[Metric]:
        lag = GaugeMetricFamily(
            "defiscope_index_lag_seconds", "Now minus the last indexed block's time", labels=["chain"]
        )
        last = GaugeMetricFamily("defiscope_last_indexed_block", "Highest stored block", labels=["chain"])
        now = time.time()
        for chain_id, block in sorted(self.ctx.cache.blocks.items()):
            lag.add_metric([str(chain_id)], max(0.0, now - block.timestamp))
            last.add_metric([str(chain_id)], block.number)
        yield lag
        yield last
        yield from _cache_families(self.ctx)
        if self.ctx.live is None:
            return
        heads = GaugeMetricFamily("defiscope_chain_head_block", "Chain head seen by the indexer", labels=["chain"])
        for chain_id, head in sorted(self.ctx.live.heads().items()):
            if head is not None:
                heads.add_metric([str(chain_id)], head)
        yield heads
        yield from _sync_families(self.ctx.live, now)
        families = [
            (CounterMetricFamily(f"defiscope_rpc_{name}", help_text, labels=["chain", "endpoint"]), field)
            for name, help_text, field in RPC_COUNTERS
        ]
        for chain_id, endpoints in sorted(self.ctx.live.rpc().items()):
            for endpoint, stats in endpoints.items():
                for family, field in families:
                    family.add_metric([str(chain_id), endpoint], getattr(stats, field))
        yield from (family for family, _ in families)


def _cache_families(ctx: ApiContext) -> Iterator[Metric]:
    """Where answers came from: this process's LRU, the shared (Redis) level, a build here, or an earlier block's
    answer (stale) while a background build ran."""
    counts = ctx.cache.counts
    hits = CounterMetricFamily("defiscope_cache_hits", "Answers served from the response cache", labels=["level"])
    hits.add_metric(["local"], counts.local_hits)
    hits.add_metric(["shared"], counts.shared_hits)
    yield hits
    yield CounterMetricFamily("defiscope_cache_builds", "Answers built (cache misses)", value=counts.builds)
    yield CounterMetricFamily("defiscope_cache_build_seconds", "Wall time of the builds", value=counts.build_seconds)
    for name, help_text, value in (
        ("stale_answers", "Answers of an earlier block served while the current one built", counts.stale_answers),
        ("background_builds", "Builds started in the background behind a stale answer", counts.background_builds),
        ("background_failures", "Background builds that failed (nothing kept)", counts.background_failures),
        ("background_elsewhere", "Background builds left to another process's claim", counts.background_elsewhere),
    ):
        yield CounterMetricFamily(f"defiscope_cache_{name}", help_text, value=value)
    if ctx.cache.shared is not None:
        errors = ctx.cache.shared.errors
        yield CounterMetricFamily("defiscope_cache_shared_errors", "Shared cache round trips failed", value=errors)


def _sync_families(live: Live, now: float) -> Iterator[Metric]:
    """Each chain's sync phase: share done, ETA and seconds since it last advanced (a stall shows, not a hang)."""
    labels = ["chain", "phase"]
    percent = GaugeMetricFamily("defiscope_sync_percent", "Share of the sync phase done", labels=labels)
    eta = GaugeMetricFamily("defiscope_sync_eta_seconds", "Seconds left in the sync phase", labels=labels)
    stalled = GaugeMetricFamily("defiscope_sync_stalled_seconds", "Seconds since the sync advanced", labels=labels)
    for chain_id, progress in sorted((live.progress() if live.progress else {}).items()):
        if (sync := progress.sync) is None:
            continue
        key = [str(chain_id), sync.phase]
        if sync.percent is not None:
            percent.add_metric(key, sync.percent)
        if sync.eta_seconds is not None:
            eta.add_metric(key, sync.eta_seconds)
        stalled.add_metric(key, max(0.0, now - sync.advanced_at))
    yield from (percent, eta, stalled)


class JobsCollector(Collector):
    """The job ledger's counts and run times; each queue's depth when a broker is configured. A broker that does
    not answer shows as `defiscope_broker_up 0` with no depth figures (not zeros)."""

    def __init__(self, ledger: JobLedger, jobs: JobSettings | None) -> None:
        self.ledger = ledger
        self.jobs = jobs

    def collect(self) -> Iterator[Metric]:
        jobs = GaugeMetricFamily("defiscope_jobs", "Jobs in the ledger by kind and state", labels=["kind", "state"])
        counts = self.ledger.counts()
        for (kind, state), count in sorted(counts.items()):
            jobs.add_metric([kind, state], count)
        yield jobs
        swept = sum(count for (kind, _), count in counts.items() if kind == SWEEP_KIND)
        yield CounterMetricFamily(
            "defiscope_outbox_swept_rows",
            "Outbox rows no job handled that the scheduler's sweep sent a delivery job for (each row and attempt once)",
            value=swept,
        )
        latency = HistogramMetricFamily("defiscope_job_seconds", "Run time of finished jobs", labels=["kind"])
        for kind, took in sorted(self.ledger.latencies().items()):
            cumulative = [(str(bound), n) for bound, n in zip(JOB_BUCKETS, took.buckets, strict=True)]
            latency.add_metric([kind], [*cumulative, ("+Inf", took.count)], took.seconds)
        yield latency
        if self.jobs is not None:
            yield from _queue_families(self.jobs)


def _queue_families(jobs: JobSettings) -> Iterator[Metric]:
    from defiscope.service.jobs.queues import queue_depths  # pika only where a broker is configured

    up = GaugeMetricFamily("defiscope_broker_up", "Whether the message broker answered this scrape")
    try:
        depths = queue_depths(jobs)
    except DefiscopeError:
        up.add_metric([], 0)
        yield up
        return
    up.add_metric([], 1)
    yield up
    ready = GaugeMetricFamily("defiscope_queue_messages", "Messages waiting in a job queue", labels=["queue"])
    consumers = GaugeMetricFamily("defiscope_queue_consumers", "Workers consuming a job queue", labels=["queue"])
    dead = GaugeMetricFamily("defiscope_queue_dead_messages", "Messages in a queue's dead letters", labels=["queue"])
    for name, depth in depths.items():
        ready.add_metric([name], depth.ready)
        consumers.add_metric([name], depth.consumers)
        dead.add_metric([name], depth.dead)
    yield from (ready, consumers, dead)


def jobs_from_env() -> JobSettings | None:
    """The broker whose queues /metrics reports: only one configured (`DEFISCOPE_BROKER_URL`) is asked."""
    return JobSettings.from_env() if BROKER_URL_ENV in os.environ else None


class ApiMetrics:
    def __init__(self, ctx: ApiContext, jobs: JobSettings | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "defiscope_http_requests", "HTTP requests", ["route", "method", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "defiscope_http_request_seconds",
            "HTTP request latency",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.shed = Counter(
            "defiscope_http_shed", "Requests answered 503 by load shedding", ["reason"], registry=self.registry
        )
        self.registry.register(ChainCollector(ctx))
        self.registry.register(JobsCollector(JobLedger(ctx.repo.engine), jobs))

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method if method in KNOWN_METHODS else "other", str(status)).inc()
        self.latency.labels(route).observe(seconds)
