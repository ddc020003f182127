"""Alert delivery as a job: one outbox row (one alert message to one endpoint) per job, the row the only truth.

    retry_at = thread.run(deliver_row(process, thread, row_id))   # None: settled; else look again at that time

The job claims its row as the delivery worker claims rows (`OutboxQueue.claim_row`: pending, due and free, in one
transaction that counts the attempt and leases the row), sends, and records the outcome. Run twice, the second run
finds the row delivered (or leased) and sends nothing. A worker killed mid-send leaves the row leased: the broker
redelivers the job, which looks again when the lease runs out and sends once more with the same `webhook-id` (a
receiver deduplicates by it). Each attempt is in the job ledger as `delivery:<row id>:<attempt>`.

    pruned = thread.run(prune_records(process))   # {"outbox": 12, "stream": 40}: the retention job's body

The retention job prunes what `defiscope delivery worker` prunes on its own (`alerts.retention.prune`: delivered
outbox rows and stream events older than `DEFISCOPE_ALERT_RETENTION_DAYS`); the scheduler sends it once per
`DEFISCOPE_ALERT_RETENTION_INTERVAL_SECONDS`.
"""

from __future__ import annotations

import asyncio
import time

import structlog

from defiscope.alerts.delivery.queue import OutboxQueue
from defiscope.alerts.delivery.settings import DeliverySettings
from defiscope.alerts.delivery.worker import attempt, open_channels
from defiscope.alerts.retention import RetentionSettings, prune
from defiscope.service.jobs.context import WorkerProcess, WorkerThread, holder_id
from defiscope.service.jobs.specs import delivery_key

log = structlog.get_logger(__name__)


async def deliver_row(process: WorkerProcess, thread: WorkerThread, row_id: int) -> float | None:
    """One attempt at outbox row `row_id` if it is claimable; when to look at it again (None: settled)."""
    settings = DeliverySettings.from_env()
    queue = OutboxQueue(process.repo.engine, settings)
    envelope = await asyncio.to_thread(queue.claim_row, row_id, time.time())
    if envelope is None:  # settled, waiting for its retry, or leased (in flight, or its holder died)
        return await asyncio.to_thread(queue.next_look, row_id)
    key = delivery_key(row_id, envelope.attempts)
    await asyncio.to_thread(process.ledger.start, key, "delivery", holder_id(), time.time())
    channels = await thread.kept("delivery-channels", lambda: open_channels(settings))
    outcome = await attempt(channels, envelope)
    state = await asyncio.to_thread(queue.record, envelope, outcome, time.time())
    result = {"state": state, "outcome": outcome.kind, "detail": outcome.detail[:200]}
    await asyncio.to_thread(process.ledger.finish, key, result, time.time())
    log.info("job.delivery", row=row_id, attempt=envelope.attempts, **result)
    return await asyncio.to_thread(queue.next_look, row_id)


async def prune_records(process: WorkerProcess) -> dict[str, object]:
    """Delete the delivered outbox rows and stream events older than the retention (this worker's settings)."""
    pruned = await asyncio.to_thread(prune, process.repo.engine, RetentionSettings.from_env(), time.time())
    return {"outbox": pruned.outbox, "stream": pruned.stream}
