"""The hooks an indexer runs after each stored block: alerts around the grades publisher, and risk scoring.

    hooks = index_hooks(repo, runtime.engines, load_settings())
    indexer = Indexer(runtime.engines, repo, options, hooks=hooks.hooks)
    ...
    await hooks.idle()          # the risk scoring of the last block told has finished

`defiscope index` and the head-follower job (`service.jobs.tasks.follow_slice`) run the same ones, so a
scaled-out setup stores the grades, alerts and risk rows a single `index` process would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from defiscope.alerts.message import AlertSink
from defiscope.alerts.wiring import alert_engine, alert_hooks, around
from defiscope.analytics.grades.hook import grades_hook
from defiscope.analytics.risk.hook import RiskHook
from defiscope.config import Settings
from defiscope.indexing_hooks import BlockHook
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine


@dataclass(frozen=True, slots=True)
class IndexHooks:
    hooks: tuple[BlockHook, ...]
    risk: RiskHook

    async def idle(self) -> None:
        """Wait for the risk scoring still running (it runs beside the indexer, not in its loop)."""
        await self.risk.idle()


def index_hooks(
    repo: Repository,
    engines: Mapping[int, TvlEngine],
    settings: Settings,
    *,
    alert_sink: AlertSink | None = None,
    beside: Sequence[BlockHook] = (),
) -> IndexHooks:
    """The alert passes around the grades publisher (into `alert_sink` when given: `serve` rings its delivery worker
    and live streams; else the outbox), then the hooks `beside` (serve's index trackers), then risk scoring."""
    publisher = grades_hook(repo, engines, settings.grades_every_seconds)
    risk = RiskHook(repo, settings.risk_every_seconds)
    alerts = (
        alert_hooks(repo, (publisher,)) if alert_sink is None else around(alert_engine(repo, alert_sink), (publisher,))
    )
    return IndexHooks((*alerts, *beside, risk), risk)
