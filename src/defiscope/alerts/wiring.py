"""What `serve` and `index` hand the indexer for alerts: the alert engine with delivery's sink and the governance
source, when the build has them.

    indexer = Indexer(runtime.engines, repo, options, hooks=alert_hooks(repo))

Delivery's outbox (`alerts/outbox.py`) is the sink; `governance_source` reads the governor events the indexer stores.
Without a sink no rule is evaluated, and the log says so once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import structlog

from defiscope.alerts.engine import AlertEngine, GovernanceSource
from defiscope.alerts.evaluate import GovernanceEvent
from defiscope.alerts.message import AlertSink
from defiscope.alerts.outbox import OutboxSink
from defiscope.governance.load import proposal_flags
from defiscope.protocols.governor_events import PROPOSAL_CREATED_KIND, PROPOSAL_EXECUTED_KIND, PROPOSAL_QUEUED_KIND
from defiscope.protocols.governors import CHIEF, GOVERNORS
from defiscope.service.indexer import BlockHook
from defiscope.store import Repository

log = structlog.get_logger(__name__)

#: A `governance` rule's stages and the stored event kind of each.
STAGE_KINDS: Final = {
    "created": PROPOSAL_CREATED_KIND,
    "queued": PROPOSAL_QUEUED_KIND,
    "executed": PROPOSAL_EXECUTED_KIND,
}


def delivery_sink(repo: Repository) -> AlertSink | None:
    """The outbox (`alerts.outbox`): its `put` writes outbox rows in the alert's transaction; the delivery worker
    finds them at its next poll (`serve` also rings it: see cli/serve.py)."""
    del repo
    return OutboxSink()


def governance_source(repo: Repository) -> GovernanceSource:
    """The proposals that were created, queued or executed at a block, from the governor events the indexer
    stores (`protocols.governors`), each with the flags of its decoded actions."""

    def at_block(chain_id: int, number: int) -> Sequence[GovernanceEvent]:
        found: list[GovernanceEvent] = []
        for spec in GOVERNORS.values():
            staged = [
                (stage, event)
                for stage, kind in STAGE_KINDS.items()
                for event in repo.events(chain_id, spec.keeper, kind, from_block=number)
                if event.block_number == number
            ]
            if not staged:
                continue
            # A Maker spell's actions are in its plotted plan (it has no creation event).
            origin_kind = PROPOSAL_QUEUED_KIND if spec.shape == CHIEF else PROPOSAL_CREATED_KIND
            created = {str(e.payload.get("id")): e for e in repo.events(chain_id, spec.keeper, origin_kind)}
            for stage, event in staged:
                pid = str(event.payload.get("id", ""))
                origin = created.get(pid)
                flags = () if origin is None else proposal_flags(origin)
                found.append(GovernanceEvent(spec.protocol, pid, stage, flags, event.tx_hash))
        return found

    return at_block


def alert_hooks(repo: Repository) -> tuple[BlockHook, ...]:
    sink = delivery_sink(repo)
    if sink is None:
        log.warning("alerts.not_evaluated", reason="this build has no alert delivery (outbox); rules stay stored")
        return ()
    return (AlertEngine(repo, sink, governance=governance_source(repo)),)
