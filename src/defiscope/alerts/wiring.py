"""What `serve` and `index` hand the indexer for alerts: the alert engine with delivery's sink and the governance
source, when the build has them.

    indexer = Indexer(runtime.engines, repo, options, hooks=alert_hooks(repo))

Delivery's outbox (`alerts/outbox.py`) is the sink; governance (issue 15 item 1) plugs in at `governance_source`.
Without a sink no rule is evaluated, and the log says so once.
"""

from __future__ import annotations

import structlog

from defiscope.alerts.engine import AlertEngine, GovernanceSource
from defiscope.alerts.message import AlertSink
from defiscope.alerts.outbox import OutboxSink
from defiscope.service.indexer import BlockHook
from defiscope.store import Repository

log = structlog.get_logger(__name__)


def delivery_sink(repo: Repository) -> AlertSink | None:
    """The outbox (`alerts.outbox`): its `put` writes outbox rows in the alert's transaction; the delivery worker
    finds them at its next poll (`serve` also rings it: see cli/serve.py)."""
    del repo
    return OutboxSink()


def governance_source(repo: Repository) -> GovernanceSource | None:
    """Proposal events per (chain, block) read from the governance tables (merge point: governance's store)."""
    del repo
    return None


def alert_hooks(repo: Repository) -> tuple[BlockHook, ...]:
    sink = delivery_sink(repo)
    if sink is None:
        log.warning("alerts.not_evaluated", reason="this build has no alert delivery (outbox); rules stay stored")
        return ()
    return (AlertEngine(repo, sink, governance=governance_source(repo)),)
