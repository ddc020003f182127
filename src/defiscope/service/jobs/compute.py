"""The computations the follow job sends as jobs under workers: grades publication, the signal rules' pass after
it, and index tracking (the broker plumbing is in `actors`).

    publisher = await worker_publisher(process, thread)
    result = await publish_grades_through(process.repo, publisher, 1, block)  # {"judged": [..], "published": [..]}
    result = await judge_signals_through(process.repo, engine, 1, block, depth=0)
    result = await track_index_to(process, 1, "defi-blue-chips", block)

Each writes through the store's unique keys: a publication replaces its block's rows (`grade_publications` and
`grade_signals` unique per block), a grades job marks the blocks it judged in `grade_passes` and continues after the
newest, index values are unique per (index, chain, block) and a tracker resumes after the last stored one, a signal
pass is recorded per (chain, depth, block) in `signal_passes` and continues after the newest. So a job run twice
stores once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final

import structlog

from defiscope.alerts.engine import AlertEngine
from defiscope.analytics.grades.formula import FORMULA_VERSION
from defiscope.analytics.grades.hook import GradesHook, grades_hook
from defiscope.analytics.grades.publish import stored_clock
from defiscope.analytics.indices.hooks import CATCH_UP_BLOCKS
from defiscope.analytics.indices.loader import configured_definitions
from defiscope.chain.block import BlockRef
from defiscope.config import load_settings
from defiscope.errors import DefiscopeError, InputError
from defiscope.service.context import ChainTarget, resolve_targets
from defiscope.service.indices import index_tracker, tracking_venue
from defiscope.service.jobs.context import WorkerProcess, WorkerThread, network_from_env
from defiscope.store import Repository
from defiscope.store.errors import BlockConflictError
from defiscope.store.grade_passes import GradePasses
from defiscope.store.grades import GradeStore
from defiscope.store.indices import IndexValueStore

log = structlog.get_logger(__name__)

#: Failed tries at publishing one block, across the jobs that reach it, before it is judged unpublished (the embedded
#: publisher tries once): with the broker's backoff (1, 2, 4, 8 s) a short outage of an RPC endpoint is outlasted.
PUBLISH_TRIES: Final = 5


class LeaseLost(DefiscopeError):
    """Another worker took the chain's grades lease while this one judged (it outran the lease): the job fails and
    is tried again, continuing from what is judged by then."""


def _held() -> bool:
    return True


def _unsent(block: int) -> None:
    del block


async def publish_grades_through(
    repo: Repository,
    publisher: GradesHook,
    chain_id: int,
    block: int,
    *,
    keep: Callable[[], bool] = _held,
    published: Callable[[int], None] = _unsent,
) -> dict[str, object]:
    """Judge, in block order, the blocks of the chain the follow job told the publisher of (`grade_passes`) after
    the newest judged one, up to stored `block`, as the embedded publisher judges each block it is told: publish
    where due (`GradesHook.due`: against the publication before it), from the inputs at or before it. So jobs run
    in any order, or twice, publish the blocks the embedded publisher would; a job whose block is judged does
    nothing. Each publication is handed to `published` (its signal rules' pass) before its block is marked judged:
    a block published by a run that died before marking it is found published and handed again. `keep` is asked
    before each block (the caller's lease renewed: `LeaseLost` when it is gone). The caller holds the chain's
    grades lease (one walk per chain and formula at a time)."""
    clock = await asyncio.to_thread(stored_clock, repo, block)
    if clock.chain_id != chain_id:
        raise InputError(f"grades are published on chain {clock.chain_id}, not {chain_id}", field="chain_id")
    passes, grades = GradePasses(repo.engine), GradeStore(repo.engine)
    judged: list[int] = []
    there: list[int] = []
    for told in await asyncio.to_thread(passes.unjudged_through, clock, FORMULA_VERSION):
        if not await asyncio.to_thread(keep):
            raise LeaseLost(f"the grades lease of chain {chain_id} was taken while judging block {told.number}")
        if await _judge(grades, publisher, passes, told):
            await asyncio.to_thread(published, told.number)  # the store and the broker: off the event loop
            there.append(told.number)
        await asyncio.to_thread(passes.mark_judged, told, FORMULA_VERSION)
        judged.append(told.number)
    return {"judged": judged, "published": there}


async def _judge(grades: GradeStore, publisher: GradesHook, passes: GradePasses, told: BlockRef) -> bool:
    """Whether grades stand published at `told` once judged: published before (by a run that died before marking
    it), or due and published now. A failed publication fails the job (the broker tries it again) until the block
    has failed `PUBLISH_TRIES` times; then it is judged unpublished, its reason kept, as the embedded indexer logs
    a failed hook and goes on. A block no longer the one told (a reorg) fails the job: the rollback drops its row."""
    if await asyncio.to_thread(grades.published_at, told.chain_id, told.number):
        return True
    try:
        return await publisher.publish_if_due(told) is not None
    except (InputError, BlockConflictError):
        raise
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        failures = await asyncio.to_thread(passes.failed, told, FORMULA_VERSION, reason)
        if failures < PUBLISH_TRIES:
            raise
        log.error("grades.not_published", chain_id=told.chain_id, block=told.number, tries=failures, error=reason)
        return False


async def worker_publisher(process: WorkerProcess, thread: WorkerThread) -> GradesHook:
    """The publisher `serve` and `index` run, over this worker thread's engines (token supplies read through them)."""
    return grades_hook(process.repo, await thread.engines(), load_settings().grades_every_seconds)


def confirmed(repo: Repository, chain_id: int, block: int, depth: int) -> bool:
    """Whether rules of confirmation `depth` may judge `block`: block `block + depth` is stored (the embedded pass
    judges `block` once it indexed that one)."""
    latest = repo.latest_blocks().get(chain_id)
    return latest is not None and latest.number >= block + depth


def start_signal_passes(repo: Repository, chain_id: int, block: int, depth: int) -> None:
    """Before a publication at `block` is handed to the signal passes of `depth`: where they start, if they have
    not (`GradeStore.start_signal_passes`). The grades job does it under its lease, before sending any pass, so the
    passes of the first publications, racing on several workers, judge them all whichever runs first."""
    GradeStore(repo.engine).start_signal_passes(chain_id, depth, block)


async def judge_signals_through(
    repo: Repository, engine: AlertEngine, chain_id: int, block: int, depth: int
) -> dict[str, object]:
    """The signal rules of confirmation `depth` judge, in block order, every publication up to `block` they have not
    judged yet (`signal_passes`) and whose block + `depth` is stored, as the embedded second pass would have at
    each, after where they start (`start_signal_passes`; without it, the first pass ever judges `block` alone: the
    embedded engine starts at the block it is told). A job for a later publication that runs first judges the
    earlier ones on its way; run again, it finds them judged.
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
