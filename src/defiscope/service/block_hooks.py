"""The hooks an indexer runs after each stored block: alerts around the grades publisher, the indices, risk scoring.

    hooks = index_hooks(repo, runtime.engines, load_settings())
    indexer = Indexer(runtime.engines, repo, options, hooks=hooks.hooks)
    ...
    await hooks.idle()          # the risk scoring of the last block told has finished

`defiscope index` and the head-follower job (`service.jobs.tasks.follow_slice`) run the same ones, so a
scaled-out setup stores the grades, alerts and risk rows a single `index` process would. `serve` and
`devnet simulate --days` also track the indices (`index_targets`), so after either the index values are stored too:

    hooks = index_hooks(repo, runtime.engines, settings, index_targets=targets)
    ...
    await hooks.finish(catch_up=True)   # the indices have caught up with the last block, risk scoring is done
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from defiscope.alerts.message import AlertSink
from defiscope.alerts.wiring import alert_engine, alert_hooks, around
from defiscope.analytics.grades.hook import grades_hook
from defiscope.analytics.indices.hooks import IndexHook
from defiscope.analytics.risk.hook import RiskHook
from defiscope.config import Settings
from defiscope.indexing_hooks import BlockHook
from defiscope.service.context import ChainTarget
from defiscope.service.indices import index_hook
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine


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
        run in progress (a shutdown), then closed; then the risk scoring still running."""
        if self.indices is not None:
            if not catch_up:
                self.indices.stop()
            await self.indices.idle()
            self.indices.close()
        await self.idle()


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
