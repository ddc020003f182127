"""The computations the follow job sends as jobs under workers: grades publication, the signal rules' pass after
it, and index tracking (the broker plumbing is in `actors`).

    publisher = await worker_publisher(process, thread)
    result = await publish_grades_at(process.repo, publisher, 1, block)    # {"published": True, "signals": 7}
    result = await judge_signals_through(process.repo, engine, 1, block, depth=0)
    result = await track_index_to(process, 1, "defi-blue-chips", block)

Each writes through the store's unique keys: a publication replaces its block's rows (`grade_publications` and
`grade_signals` unique per block), index values are unique per (index, chain, block) and a tracker resumes after
the last stored one, a signal pass is recorded per (chain, depth, block) in `signal_passes` and continues after the
newest. So a job run twice stores once.
"""

from __future__ import annotations

import asyncio

from defiscope.alerts.engine import AlertEngine
from defiscope.analytics.grades.hook import GradesHook, grades_hook
from defiscope.analytics.grades.publish import stored_clock
from defiscope.analytics.indices.hooks import CATCH_UP_BLOCKS
from defiscope.analytics.indices.loader import configured_definitions
from defiscope.config import load_settings
from defiscope.errors import InputError
from defiscope.service.context import ChainTarget, resolve_targets
from defiscope.service.indices import index_tracker, tracking_venue
from defiscope.service.jobs.context import WorkerProcess, WorkerThread, network_from_env
from defiscope.store import Repository
from defiscope.store.grades import GradeStore
from defiscope.store.indices import IndexValueStore


async def publish_grades_at(repo: Repository, publisher: GradesHook, chain_id: int, block: int) -> dict[str, object]:
    """Publish grades at stored `block` if due (as `GradesHook` does inline); `published` says whether grades
    stand published there now (this run, or an earlier one that died before its signal pass was sent)."""
    clock = await asyncio.to_thread(stored_clock, repo, block)
    if clock.chain_id != chain_id:
        raise InputError(f"grades are published on chain {clock.chain_id}, not {chain_id}", field="chain_id")
    published = await publisher.publish_if_due(clock)
    there = published is not None or await asyncio.to_thread(GradeStore(repo.engine).published_at, chain_id, block)
    return {"published": there, "signals": 0 if published is None else len(published.signals)}


async def worker_publisher(process: WorkerProcess, thread: WorkerThread) -> GradesHook:
    """The publisher `serve` and `index` run, over this worker thread's engines (token supplies read through them)."""
    return grades_hook(process.repo, await thread.engines(), load_settings().grades_every_seconds)


def confirmed(repo: Repository, chain_id: int, block: int, depth: int) -> bool:
    """Whether rules of confirmation `depth` may judge `block`: block `block + depth` is stored (the embedded pass
    judges `block` once it indexed that one)."""
    latest = repo.latest_blocks().get(chain_id)
    return latest is not None and latest.number >= block + depth


async def judge_signals_through(
    repo: Repository, engine: AlertEngine, chain_id: int, block: int, depth: int
) -> dict[str, object]:
    """The signal rules of confirmation `depth` judge, in block order, every publication up to `block` they have not
    judged yet (`signal_passes`) and whose block + `depth` is stored, as the embedded second pass would have at
    each; the first pass ever judges `block` alone (the embedded engine starts at the block it is told). A job for
    a later publication that runs first judges the earlier ones on its way; run again, it finds them judged.
    The caller holds the chain's signal lease (one pass per chain and depth at a time)."""
    grades = GradeStore(repo.engine)
    after = await asyncio.to_thread(grades.judged_through, chain_id, depth)
    if after is not None and after >= block:
        return {"judged": [], "alerts": 0}
    latest = (await asyncio.to_thread(repo.latest_blocks)).get(chain_id)
    upto = block if latest is None else min(block, latest.number - depth)
    due = await asyncio.to_thread(grades.published_blocks, chain_id, block - 1 if after is None else after, upto)
    alerts = 0
    for number in due:
        alerts += len(await engine.judge_published(chain_id, number, depth))
        await asyncio.to_thread(grades.mark_judged, chain_id, number, depth)
    return {"judged": due, "alerts": alerts}


async def track_index_to(process: WorkerProcess, chain_id: int, index_id: str, block: int) -> dict[str, object]:
    """Track index `index_id` on the chain up to `block`, from where the store says it stands."""
    return await asyncio.to_thread(_track, process, chain_id, index_id, block)


def _track(process: WorkerProcess, chain_id: int, index_id: str, block: int) -> dict[str, object]:
    definition = configured_definitions().get(index_id)
    if definition is None:
        raise InputError(f"no index {index_id!r} is defined", field="index_id")
    target = target_of(chain_id)
    venue = tracking_venue(target)
    if venue is None:
        raise InputError(f"chain {chain_id} lists no hub to track indices through", field="chain_id")
    with venue:  # its own event loop: run off the worker thread's (this runs in a thread of its own)
        tracker = index_tracker(process.repo, target, definition, venue, IndexValueStore(process.repo.engine))
        while True:  # bounded runs, each stored as it goes
            before = tracker.last_block
            status = tracker.advance(block, CATCH_UP_BLOCKS)
            after = tracker.last_block
            if after is None or after == before or after >= block:
                break
    return {"state": status.state, "last_block": after, "reason": status.reason}


def target_of(chain_id: int) -> ChainTarget:
    """The chain as the worker reads it (its RPC endpoints or the devnet: `service.context`)."""
    (target,) = resolve_targets(load_settings(), [chain_id], network=network_from_env())
    return target
