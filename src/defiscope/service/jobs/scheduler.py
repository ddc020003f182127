"""The scheduler: keeps one head-follower per chain alive, sweeps the outbox and sends retention, as jobs.

    run_scheduler([follow_duty(watch, jobs.follow_head.send), sweep_duty(sweep, jobs.deliver_alert.send, every=30),
                   retention_duty(jobs.prune_outbox.send, every=3600)], stop=threading.Event())

Each duty runs at its own interval until `stop` is set; a failing one (a store or broker restarting) is logged and
runs again at its next time.

- Head-followers: every quarter of the lease, for each chain whose head lease is free or has expired, a follow
  job (at most one per lease period: a worker may be slow to take it). A follower renews its lease while it works
  and hands it to its own continuation, so while one lives this sends nothing; when its worker dies, the lease
  runs out and the next follow job goes to another worker: fail-over within the lease time plus a quarter of it.
- The outbox sweep (`sweep.OutboxSweep`): a delivery job for each outbox row no job is handling.
- Retention: a `prune_outbox` job per retention period, keyed by the period so several schedulers prune once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog

from defiscope.service.jobs.lease import LeaseStore
from defiscope.service.jobs.specs import head_lease, retention_period
from defiscope.service.jobs.sweep import OutboxSweep, SendDelivery

log = structlog.get_logger(__name__)

SendFollow = Callable[[int], object]
SendRetention = Callable[[int], object]


@dataclass(slots=True)
class Duty:
    """Something the scheduler does every `every` seconds, given the time."""

    name: str
    every: float
    run: Callable[[float], object]
    next_at: float = float("-inf")


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


def follow_duty(watch: HeadWatch, send: SendFollow) -> Duty:
    """Follow jobs for the chains without a live head-follower, every quarter of their lease."""

    def follow(now: float) -> None:
        for chain_id in watch.due(now):
            send(chain_id)
            log.info("scheduler.follow_sent", chain_id=chain_id)

    return Duty("follow", watch.resend_after / 4, follow)


def sweep_duty(sweep: OutboxSweep, send: SendDelivery) -> Duty:
    """The outbox sweep every `outbox_sweep_seconds`."""
    return Duty("outbox-sweep", sweep.settings.outbox_sweep_seconds, lambda now: sweep.run(now, send))


def retention_duty(send: SendRetention, every: float) -> Duty:
    """A retention job per period of `every` seconds (the first at once), keyed by the period's start."""

    def retention(now: float) -> None:
        send(retention_period(now, every))

    return Duty("retention", every, retention)


def run_scheduler(duties: Sequence[Duty], stop: threading.Event) -> None:
    """Run each duty at its interval until `stop` is set."""
    log.info("scheduler.started", duties={duty.name: duty.every for duty in duties})
    while not stop.is_set():
        for duty in duties:
            now = time.time()
            if now < duty.next_at:
                continue
            duty.next_at = now + duty.every
            try:
                duty.run(now)
            except Exception as exc:  # a store or broker restarting: logged, tried again at the duty's next time
                log.warning("scheduler.duty_failed", duty=duty.name, error=f"{type(exc).__name__}: {exc}")
        stop.wait(max(0.0, min(duty.next_at for duty in duties) - time.time()))
    log.info("scheduler.stopped")
