"""The outbox sweep: a delivery job for each outbox row that no job is handling, sent by the scheduler.

    sweep = OutboxSweep(engine, JobSettings.from_env(), holder_id())
    sent = sweep.run(time.time(), jobs.deliver_alert.send)    # rows sent a job; 0 while another scheduler sweeps

A stored alert's delivery job is sent after its commit; if that send fails (the broker down at that moment, the
process killed between the commit and the send) no job exists for the row. The sweep finds such rows: pending,
due and free (never claimed, or their claim ended) for longer than the grace period, which a row with a job never
is (its job claims it within moments of its retry time or lease end). It sends the same `deliver_alert(row)` as the
follow job would, so a row that a job does handle meanwhile is not sent twice: the job claims the row as any
delivery job does, and finds it settled or claimed.

One scheduler sweeps at a time: it holds the lease `outbox-sweep`, renewed at each sweep, for three sweeps' time.
A row still stranded after its job was sent (no worker consumes `delivery`, or its job was dead-lettered) is sent
again after `outbox_sweep_resend_seconds`, not at every sweep. Each row swept is in the job ledger as
`sweep:<row>:<attempts>` (kind `sweep`, counted in /metrics).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import structlog
from sqlalchemy import Engine

from defiscope.alerts.delivery.queue import OutboxQueue, StrandedRow
from defiscope.alerts.delivery.settings import DeliverySettings
from defiscope.service.jobs.lease import Lease, LeaseStore
from defiscope.service.jobs.ledger import JobLedger
from defiscope.service.jobs.settings import JobSettings
from defiscope.service.jobs.specs import SWEEP_LEASE, sweep_key

log = structlog.get_logger(__name__)

#: The ledger kind of a swept row.
SWEEP_KIND: Final = "sweep"
#: Rows sent a job per sweep at most; the rest at the next sweep.
SWEEP_LIMIT: Final = 1000

SendDelivery = Callable[[int], object]


class OutboxSweep:
    """Which stranded outbox rows to send a delivery job for now, while this holder has the sweep lease."""

    __slots__ = ("_lease", "_sent", "holder", "leases", "ledger", "queue", "settings")

    def __init__(self, engine: Engine, settings: JobSettings, holder: str) -> None:
        self.queue = OutboxQueue(engine, DeliverySettings.from_env())
        self.ledger = JobLedger(engine)
        self.leases = LeaseStore(engine, settings.outbox_sweep_lease_seconds)
        self.settings = settings
        self.holder = holder
        self._lease: Lease | None = None
        self._sent: dict[StrandedRow, float] = {}  # when this sweeper last sent a job for the row

    def due(self, now: float) -> list[StrandedRow]:
        """The stranded rows not sent a job within the resend time; none unless this holder has the lease."""
        self._lease = self.leases.acquire(SWEEP_LEASE, self.holder, now)
        if self._lease is None:
            self._sent.clear()  # another scheduler sweeps; if this one takes over later, it starts afresh
            return []
        stranded = self.queue.stranded(now, self.settings.outbox_sweep_grace_seconds, SWEEP_LIMIT)
        self._sent = {row: at for row, at in self._sent.items() if row in stranded}  # the others moved on
        resend = self.settings.outbox_sweep_resend_seconds
        return [row for row in stranded if now - self._sent.get(row, float("-inf")) >= resend]

    def sent(self, row: StrandedRow, now: float) -> None:
        """Note a job sent for `row`: not again within the resend time; in the ledger once per row and attempt."""
        self._sent[row] = now
        key = sweep_key(row.row_id, row.attempts)
        if self.ledger.start(key, SWEEP_KIND, self.holder, now):
            self.ledger.finish(key, {"row": row.row_id, "attempts": row.attempts}, now)

    def run(self, now: float, send: SendDelivery) -> int:
        """One sweep: a delivery job sent for each due row; how many were sent. A failing send stops the sweep (the
        rows left are tried at the next one)."""
        rows = self.due(now)
        for row in rows:
            send(row.row_id)
            self.sent(row, now)
        if rows:
            log.info("scheduler.outbox_swept", rows=len(rows), first=rows[0].row_id)
        return len(rows)

    def release(self) -> None:
        """Give the sweep up at once (a clean stop): another scheduler takes it at its next sweep. A store that does
        not answer is logged: the lease then runs out on its own."""
        if self._lease is None:
            return
        try:
            self.leases.release(self._lease)
        except Exception as exc:
            log.warning("scheduler.sweep_release_failed", error=f"{type(exc).__name__}: {exc}")
        self._lease = None
