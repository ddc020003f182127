"""The scheduler: keeps one head-follower per chain alive, as jobs on the broker.

    run_scheduler(settings, chain_ids=[1, 56], stop=threading.Event())

Every quarter of the lease, for each chain whose head lease is free or has expired, it sends a follow job (at
most one per lease period: a worker may be slow to take it). A follower renews its lease while it works and
hands it to its own continuation, so while one lives this sends nothing; when its worker dies, the lease runs out
and the next follow job goes to another worker: fail-over within the lease time plus a quarter of it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import structlog

from defiscope.service.jobs.lease import LeaseStore
from defiscope.service.jobs.settings import JobSettings
from defiscope.service.jobs.specs import head_lease

log = structlog.get_logger(__name__)

SendFollow = Callable[[int], object]


class HeadWatch:
    """Which chains need a follow job now (pure decision over the leases; the loop around it sends them)."""

    def __init__(self, leases: LeaseStore, chain_ids: Sequence[int], resend_after: float) -> None:
        self.leases = leases
        self.chain_ids = tuple(chain_ids)
        self.resend_after = resend_after
        self.sent_at: dict[int, float] = {}

    def due(self, now: float) -> list[int]:
        due = []
        for chain_id in self.chain_ids:
            lease = self.leases.current(head_lease(chain_id))
            free = lease is None or lease.expires_at <= now
            if free and now - self.sent_at.get(chain_id, float("-inf")) >= self.resend_after:
                self.sent_at[chain_id] = now
                due.append(chain_id)
        return due


def run_scheduler(
    settings: JobSettings, leases: LeaseStore, chain_ids: Sequence[int], send: SendFollow, stop: threading.Event
) -> None:
    """Send follow jobs for chains without a live head-follower until `stop` is set."""
    watch = HeadWatch(leases, chain_ids, resend_after=settings.lease_seconds)
    log.info("scheduler.started", chains=list(chain_ids), lease_seconds=settings.lease_seconds)
    while not stop.is_set():
        try:
            for chain_id in watch.due(time.time()):
                send(chain_id)
                log.info("scheduler.follow_sent", chain_id=chain_id)
        except Exception as exc:  # a store or broker restarting: logged, tried again at the next tick
            log.warning("scheduler.tick_failed", error=f"{type(exc).__name__}: {exc}")
        stop.wait(settings.lease_seconds / 4)
    log.info("scheduler.stopped")
