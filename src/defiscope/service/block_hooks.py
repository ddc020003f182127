"""The hooks an indexer runs after each stored block: alerts around the grades publisher, the indices, risk scoring.

    hooks = index_hooks(repo, runtime.engines, load_settings())
    indexer = Indexer(runtime.engines, repo, options, hooks=hooks.hooks)
    ...
    await hooks.idle()          # the risk scoring of the last block told has finished

`defiscope index` and the head-follower job (`service.jobs.tasks.follow_slice`) run the same ones, so a
scaled-out setup stores the grades, alerts and risk rows a single `index` process would. Under workers the follow
job runs `worker_hooks` instead: the same work, with delivery, grades and indices sent as jobs (`Dispatch`).
`serve` and `devnet simulate --days` also track the indices (`index_targets`), so after either the index values are
stored too:

    hooks = index_hooks(repo, runtime.engines, settings, index_targets=targets)
    ...
    await hooks.finish(catch_up=True)   # the indices have caught up with the last block, risk scoring is done
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from defiscope.alerts.message import AlertSink
from defiscope.alerts.outbox import OutboxSink
from defiscope.alerts.wiring import alert_engine, alert_hooks, around
from defiscope.analytics.grades.catalog import CLOCK_CHAIN
from defiscope.analytics.grades.formula import FORMULA_VERSION
from defiscope.analytics.grades.hook import due_after, grades_hook
from defiscope.analytics.indices.hooks import IndexHook
from defiscope.analytics.risk.hook import RiskHook
from defiscope.chain.block import BlockRef
from defiscope.config import Settings
from defiscope.indexing_hooks import BlockHook, IndexedChain
from defiscope.service.context import ChainTarget
from defiscope.service.indices import index_hook
from defiscope.store import Repository
from defiscope.store.grade_passes import GradePasses
from defiscope.store.grades import GradeStore
from defiscope.tvl.engine import ChainTvl, TvlEngine


@dataclass(frozen=True, slots=True)
class IndexHooks:
    hooks: tuple[BlockHook, ...]
    risk: RiskHook
    indices: IndexHook | None = None  # when `index_targets` were given

    async def idle(self) -> None:
        """Wait for the risk scoring still running (it runs beside the indexer, not in its loop)."""
        await self.risk.idle()

    async def finish(self, *, catch_up: bool) -> None:
        """The end of a run: the index trackers caught up with the last block told (`catch_up`) or stopped after the
        run in progress (a shutdown), then closed; then the risk scoring still running finishes (`catch_up`) or
        is cancelled (a shutdown: under a slow provider it can take a minute, and the next start scores again)."""
        if self.indices is not None:
            if not catch_up:
                self.indices.stop()
            await self.indices.idle()
            self.indices.close()
        if catch_up:
            await self.idle()
        else:
            await self.risk.cancel()


def index_hooks(
    repo: Repository,
    engines: Mapping[int, TvlEngine],
    settings: Settings,
    *,
    alert_sink: AlertSink | None = None,
    index_targets: Sequence[ChainTarget] = (),
) -> IndexHooks:
    """The alert passes around the grades publisher (into `alert_sink` when given: `serve` rings its delivery worker
    and live streams; else the outbox), then the index trackers of `index_targets` (on their own thread), then risk
    scoring."""
    publisher = grades_hook(repo, engines, settings.grades_every_seconds)
    risk = RiskHook(repo, settings.risk_every_seconds)
    alerts = (
        alert_hooks(repo, (publisher,)) if alert_sink is None else around(alert_engine(repo, alert_sink), (publisher,))
    )
    indices = index_hook(repo, index_targets) if index_targets else None
    tracking = () if indices is None else (indices,)
    return IndexHooks((*alerts, *tracking, risk), risk, indices)


@dataclass(frozen=True, slots=True)
class Dispatch:
    """Where the follow job sends, under workers, the work `index_hooks` does inline (`service.jobs.actors`)."""

    deliveries: Callable[[Sequence[int]], None]  # outbox row ids: one delivery job each
    grades: Callable[[int, int], object]  # (chain, block): publish there, then the signal rules' pass
    index: Callable[[int, str, int], object]  # (chain, index id, block): track the index up to the block
    indices: Mapping[int, tuple[str, ...]]  # chain -> the ids of the indices tracked there


def worker_hooks(repo: Repository, settings: Settings, dispatch: Dispatch) -> IndexHooks:
    """The follow job's hooks under workers: the alert rules' first pass (their messages sent as delivery jobs),
    a grades job when a publication is due, an index job per tracked index and block, then risk scoring. The
    signal rules' pass runs after each publication, in the jobs the grades job sends (`service.jobs.compute`)."""
    alerts = alert_engine(repo, OutboxSink(dispatch=dispatch.deliveries))
    grades = GradesDispatch(repo.engine, settings.grades_every_seconds, dispatch.grades)
    repo.on_rollback(grades.on_rollback)
    risk = RiskHook(repo, settings.risk_every_seconds)
    return IndexHooks((alerts, grades, IndexDispatch(dispatch), risk), risk)


class GradesDispatch:
    """Records each block of chain 1 as told to the publisher (`grade_passes`: the grades jobs judge them all, in
    block order) and sends a grades job where a publication looks due (`GradesHook.due`), counting the jobs sent and
    not yet published, so a burst of blocks before the job publishes sends one. A job judges every recorded block up
    to its own, so a due block no job was sent for is published by the next job."""

    __slots__ = ("every_seconds", "grades", "passes", "send", "sent_time")

    def __init__(self, engine: Engine, every_seconds: int, send: Callable[[int, int], object]) -> None:
        self.grades = GradeStore(engine)
        self.passes = GradePasses(engine)
        self.every_seconds = every_seconds
        self.send = send
        self.sent_time: int | None = None

    async def block_indexed(self, chain: IndexedChain, result: ChainTvl) -> None:
        del chain
        block = result.block
        if block.chain_id != CLOCK_CHAIN:
            return
        stored = await asyncio.to_thread(self._tell, block)  # recorded before the job that judges it is sent
        latest = max((t for t in (stored, self.sent_time) if t is not None), default=None)
        if due_after(latest, block.timestamp, self.every_seconds):
            self.send(block.chain_id, block.number)
            self.sent_time = block.timestamp

    def _tell(self, block: BlockRef) -> int | None:
        """Record the block as told, then the time of the publication before it: one trip to a worker thread."""
        self.passes.told(block, FORMULA_VERSION)
        return self.grades.time_before(CLOCK_CHAIN, block.number)

    def on_rollback(self, session: object, chain_id: int, block_number: int) -> None:
        """`Repository.on_rollback`: a job sent for a lost block may publish nothing; the store decides again."""
        del session, block_number
        if chain_id == CLOCK_CHAIN:
            self.sent_time = None


class IndexDispatch:
    """Sends one index job per tracked index at each stored block of its chain."""

    __slots__ = ("dispatch",)

    def __init__(self, dispatch: Dispatch) -> None:
        self.dispatch = dispatch

    async def block_indexed(self, chain: IndexedChain, result: ChainTvl) -> None:
        del chain
        block = result.block
        for index_id in self.dispatch.indices.get(block.chain_id, ()):
            self.dispatch.index(block.chain_id, index_id, block.number)
