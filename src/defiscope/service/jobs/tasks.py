"""The bodies of the jobs, run by a worker thread on its own event loop; the broker plumbing is in `actors`.

    result = thread.run(backfill_chunk(process, thread, chunk))          # {"stored": .., "skipped": ..}
    lease = thread.run(follow_slice(process, thread, 1, holder, None))   # the lease still held, or None

A keyed job (`run_keyed`) is skipped when the ledger says it is done, and its writes are idempotent (the store's
unique constraints and upserts), so the broker's at-least-once delivery stores each result once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Mapping
from contextlib import suppress
from dataclasses import replace
from typing import Any

import structlog

from defiscope.chain.reader import Batcher
from defiscope.config import load_settings
from defiscope.errors import InputError
from defiscope.service.backfill import backfill
from defiscope.service.block_hooks import Dispatch, index_hooks, worker_hooks
from defiscope.service.discovery import attach_discovery, engine_cursors
from defiscope.service.indexer import ChainIndexer, IndexerOptions
from defiscope.service.indices import tracked_indices
from defiscope.service.jobs.context import WorkerProcess, WorkerThread, holder_id
from defiscope.service.jobs.lease import Lease, LeaseStore
from defiscope.service.jobs.specs import BackfillChunk, discovery_key, head_lease

log = structlog.get_logger(__name__)

JobBody = Callable[[WorkerThread], Coroutine[Any, Any, Mapping[str, object]]]
#: How often a follower looks whether its process is stopping, between lease renewals.
STOP_CHECK_SECONDS = 0.5
#: Seconds past a lease's expiry a waiting follower asks again (clock reads of two processes).
EXPIRY_MARGIN_SECONDS = 0.05


def run_keyed(process: WorkerProcess, key: str, kind: str, body: JobBody) -> Mapping[str, object] | None:
    """Run `body` once per key: None if the ledger has it done; a failure is recorded, then raised for a retry."""
    if not process.ledger.start(key, kind, holder_id(), time.time()):
        log.info("job.already_done", key=key)
        return None
    thread = process.thread()
    try:
        result = thread.run(body(thread))
    except Exception as exc:
        # Bad input stays bad: the actors do not retry an InputError, so the ledger marks the job dead.
        process.ledger.fail(key, f"{type(exc).__name__}: {exc}", time.time(), final=isinstance(exc, InputError))
        log.warning("job.failed", key=key, error=str(exc))
        raise
    process.ledger.finish(key, result, time.time())
    log.info("job.done", key=key, **result)
    return result


async def backfill_chunk(process: WorkerProcess, thread: WorkerThread, chunk: BackfillChunk) -> dict[str, object]:
    """Store `chunk`'s blocks not stored yet (`service.backfill`: each block in one transaction, upserted)."""
    engine = await thread.engine(chunk.chain_id)
    result = await backfill(
        engine,
        process.repo,
        chunk.slug,
        chunk.from_block,
        chunk.to_block,
        chunk.step,
        concurrency=process.settings.chunk_concurrency,
    )
    return {"stored": result.stored, "skipped": result.skipped, "seconds": round(result.seconds, 3)}


async def discovery_scan(process: WorkerProcess, thread: WorkerThread, chain_id: int, block: int) -> dict[str, object]:
    """Scan every discovery source of the chain up to `block` (kept in the store with its cursor)."""
    engine = await thread.engine(chain_id)
    attach_discovery(engine, process.repo)
    reader = Batcher(await engine.client.snapshot(block)).reader("discovery")
    cursors = list(engine_cursors(engine))
    await asyncio.gather(*(cursor.scan(reader) for cursor in cursors))
    return {"sources": len(cursors), "logs": sum(len(cursor.logs) for cursor in cursors)}


async def discovery_block(thread: WorkerThread, chain_id: int) -> tuple[str, int]:
    """The key and block of a discovery scan asked "at the head"."""
    engine = await thread.engine(chain_id)
    head = await engine.client.block("latest")
    return discovery_key(chain_id, head.number), head.number


async def follow_slice(
    process: WorkerProcess,
    thread: WorkerThread,
    chain_id: int,
    holder: str,
    handover: Lease | None,
    dispatch: Dispatch | None = None,
) -> Lease | None:
    """Follow the chain's head for one slice while holding its lease; the lease still held at the end (for the
    continuation to take over), or None if it was held by another worker or lost on the way.

    With `dispatch` (under workers), alert delivery, grades and indices are sent as jobs (`worker_hooks`);
    without, the slice runs them inline as `defiscope index` does."""
    leases = process.leases
    lease = await take_lease(leases, head_lease(chain_id), holder, handover)
    if lease is None:
        log.info("follow.held_elsewhere", chain_id=chain_id)
        return None
    engine = await thread.engine(chain_id)
    # The hooks `defiscope index` runs (alerts, grades, risk), so a follow job stores what `index` would.
    settings = load_settings()
    if dispatch is None:
        hooks = index_hooks(process.repo, {chain_id: engine}, settings)
    else:
        tracked = {chain_id: tracked_indices(chain_id, engine.deployment)}
        hooks = worker_hooks(process.repo, settings, replace(dispatch, indices=tracked))
    follower = ChainIndexer(engine, process.repo, IndexerOptions(every=process.settings.every), hooks.hooks)
    latest = (await asyncio.to_thread(process.repo.latest_blocks)).get(chain_id)
    if latest is not None:
        follower.resume_after(latest.number)  # no hole: continue after the last stored block, whoever stored it
    log.info("follow.started", chain_id=chain_id, holder=holder, token=lease.token, after=latest and latest.number)
    stop = asyncio.Event()
    deadline = time.monotonic() + process.settings.follow_slice_seconds
    keeper = asyncio.create_task(keep_lease(leases, lease, stop, deadline, process))
    try:
        await follower.follow(stop)
    finally:
        stop.set()
    held = await keeper
    await hooks.idle()
    return held


async def take_lease(leases: LeaseStore, name: str, holder: str, handover: Lease | None) -> Lease | None:
    """The lease, at once or as soon as it runs out; None if its holder renews it meanwhile (it is alive).

    Waiting for the expiry makes the message the broker redelivers from a killed holder the one that takes over,
    within the lease time of the kill, rather than a later one from the scheduler."""
    while True:
        lease = await asyncio.to_thread(leases.acquire, name, holder, time.time(), handover=handover)
        if lease is not None:
            return lease
        held = await asyncio.to_thread(leases.current, name)
        if held is None:
            continue
        await asyncio.sleep(max(0.0, held.expires_at - time.time()) + EXPIRY_MARGIN_SECONDS)
        now_held = await asyncio.to_thread(leases.current, name)
        if now_held is not None and (now_held.expires_at > time.time() or now_held.token != held.token):
            return None  # renewed or taken: a live holder has it


async def keep_lease(
    leases: LeaseStore, lease: Lease, stop: asyncio.Event, deadline: float, process: WorkerProcess
) -> Lease | None:
    """Renew `lease` until the slice's deadline or the process stops (then set `stop` and return the lease), or
    until it is lost (set `stop`, return None). A store that does not answer is retried until the lease would
    have run out: after that another worker may hold it."""
    next_renewal = time.monotonic() + leases.seconds / 3
    while not stop.is_set():
        now = time.monotonic()
        if now >= deadline or process.stopping.is_set():
            break
        if now >= next_renewal:
            try:
                renewed = await asyncio.to_thread(leases.renew, lease, time.time())
            except Exception as exc:  # the store restarting: try again until the lease would expire
                if time.time() >= lease.expires_at:
                    log.warning("follow.lease_unrenewable", name=lease.name, error=str(exc))
                    stop.set()
                    return None
                renewed = lease
            if renewed is None:
                log.warning("follow.lease_lost", name=lease.name, holder=lease.holder)
                stop.set()
                return None
            lease, next_renewal = renewed, now + leases.seconds / 3
        await _sleep_unless(stop, min(STOP_CHECK_SECONDS, deadline - now, max(0.0, next_renewal - now)))
    stop.set()
    return lease


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))
