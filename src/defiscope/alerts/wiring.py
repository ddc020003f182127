"""What `serve` and `index` hand the indexer for alerts: the alert engine with delivery's sink and the sources of
the events rules fire on, when the build has them, around the hooks that publish what rules judge.

    publisher = grades_hook(repo, runtime.engines)       # publishes grade signals, judged in the engine's 2nd pass
    indexer = Indexer(runtime.engines, repo, options, hooks=alert_hooks(repo, (publisher,)))

Delivery's outbox (`alerts/outbox.py`) is the sink; `governance_source` reads the governor events the indexer stores,
`signal_source` the grade signals the grades publisher stores. Without a sink no rule is evaluated, and the log says
so once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Final

import structlog

from defiscope.alerts.engine import AlertEngine, GovernanceSource, SignalSource
from defiscope.alerts.evaluate import GovernanceEvent, SignalEvent
from defiscope.alerts.message import AlertSink
from defiscope.alerts.outbox import OutboxSink
from defiscope.governance.aave_v3_flags import Flagged, v3_stage_flags
from defiscope.governance.load import proposal_flags
from defiscope.indexing_hooks import BlockHook
from defiscope.protocols.aave_governance_v3_events import V3_CREATED_KIND, V3_EXECUTED_KIND, V3_QUEUED_KIND
from defiscope.protocols.events import StoredEvent
from defiscope.protocols.governor_events import PROPOSAL_CREATED_KIND, PROPOSAL_EXECUTED_KIND, PROPOSAL_QUEUED_KIND
from defiscope.protocols.governors import AAVE_GOVERNANCE_V3, CHIEF, GOVERNORS, GovernedProtocol
from defiscope.store import Repository
from defiscope.store.grades import GradeStore, StoredSignal

log = structlog.get_logger(__name__)

#: A `governance` rule's stages and the stored event kind of each.
STAGE_KINDS: Final = {
    "created": PROPOSAL_CREATED_KIND,
    "queued": PROPOSAL_QUEUED_KIND,
    "executed": PROPOSAL_EXECUTED_KIND,
}
#: Aave Governance V3 keeps its own kinds (GovernanceCore's events). Its proposals name payloads, not actions: the
#: payload list kept with ProposalCreated and the payloads' PayloadCreated give the flags at every stage, with
#: `unknown` and the reason for a payload whose actions are not stored (`governance.aave_v3_flags`).
V3_STAGE_KINDS: Final = {"created": V3_CREATED_KIND, "queued": V3_QUEUED_KIND, "executed": V3_EXECUTED_KIND}


def stage_kinds(spec: GovernedProtocol) -> dict[str, str]:
    return V3_STAGE_KINDS if spec.shape == AAVE_GOVERNANCE_V3 else STAGE_KINDS


def delivery_sink(repo: Repository) -> AlertSink | None:
    """The outbox (`alerts.outbox`): its `put` writes outbox rows in the alert's transaction; the delivery worker
    finds them at its next poll (`serve` also rings it: see cli/serve.py)."""
    del repo
    return OutboxSink()


def governance_source(repo: Repository) -> GovernanceSource:
    """The proposals that were created, queued or executed in a span of blocks, by block, from the governor events
    the indexer stores (`protocols.governors`), each with the flags of its decoded actions.

    A span costs one bounded store read per governor and stage (plus, for a queued or executed proposal created
    before the span, one read of the earlier creations), however many blocks it covers: a backtest reads its
    range once and serves every block from memory."""

    def over(chain_id: int, first: int, last: int) -> dict[int, list[GovernanceEvent]]:
        found: dict[int, list[GovernanceEvent]] = {}
        for spec in GOVERNORS.values():
            # A Maker spell's actions are in its plotted plan (it has no creation event).
            kinds = stage_kinds(spec)
            origin = kinds["queued"] if spec.shape == CHIEF else kinds["created"]
            for number, event in _governor_events(repo, chain_id, spec, kinds, origin, first, last):
                found.setdefault(number, []).append(event)
        return found

    return over


def _governor_events(
    repo: Repository,
    chain_id: int,
    spec: GovernedProtocol,
    kinds: dict[str, str],
    origin_kind: str,
    first: int,
    last: int,
) -> list[tuple[int, GovernanceEvent]]:
    """One governor's staged proposals in [first, last] as (block, event), by stage then chain order; a
    proposal's flags come from its `origin_kind` event (the one that carries its actions)."""
    keeper, protocol = spec.keeper, spec.protocol
    staged = {
        stage: repo.events(chain_id, keeper, kind, from_block=first, to_block=last) for stage, kind in kinds.items()
    }
    origin_stage = next(stage for stage, kind in kinds.items() if kind == origin_kind)
    origins = {_proposal_id(e): e for e in staged[origin_stage]}
    if any(_proposal_id(e) not in origins for events in staged.values() for e in events):
        # Proposals that began before the span: their actions (and so their flags) are in that earlier event.
        earlier = repo.events(chain_id, keeper, origin_kind, to_block=first - 1)
        origins = {**{_proposal_id(e): e for e in earlier}, **origins}
    flags: dict[str, Flagged] = {}
    v3 = v3_stage_flags(repo, chain_id, keeper, origins, staged, last) if spec.shape == AAVE_GOVERNANCE_V3 else {}
    found: list[tuple[int, GovernanceEvent]] = []
    for stage, events in staged.items():
        for event in events:
            pid = _proposal_id(event)
            if pid not in flags:
                origin = origins.get(pid)
                flags[pid] = Flagged(() if origin is None else proposal_flags(origin))
            shown = v3.get((pid, stage), flags[pid])
            event_at = GovernanceEvent(protocol, pid, stage, shown.flags, event.tx_hash, shown.reasons)
            found.append((event.block_number, event_at))
    return found


def _proposal_id(event: StoredEvent) -> str:
    return str(event.payload.get("id", ""))


def signal_source(repo: Repository) -> SignalSource:
    """The grade signals published in a span of blocks, by block (one bounded read of `grade_signals` per span)."""
    store = GradeStore(repo.engine)

    def over(chain_id: int, first: int, last: int) -> dict[int, list[SignalEvent]]:
        found: dict[int, list[SignalEvent]] = {}
        for stored in store.signals_between(chain_id, first, last):
            found.setdefault(stored.block_number, []).append(signal_event(stored))
        return found

    return over


def signal_event(stored: StoredSignal) -> SignalEvent:
    """A stored signal as the evaluator sees it: its published document is the alert's evidence, as published."""
    document = json.loads(stored.document)
    grade = Decimal(str(document["grade"]))  # the published (rounded) grade's own digits, not the binary float's
    return SignalEvent(stored.entity, stored.horizon, stored.state, grade, document)


def alert_engine(repo: Repository, sink: AlertSink) -> AlertEngine:
    """The alert engine every process runs (`serve` with its ringing sink, `index` with the outbox's): every rule
    kind wired, governance and grade signals included."""
    return AlertEngine(repo, sink, governance=governance_source(repo), signals=signal_source(repo))


def around(alerts: AlertEngine, publishers: Sequence[BlockHook]) -> tuple[BlockHook, ...]:
    """The alert engine's two passes around the hooks that publish what rules judge (the grades publisher's signals),
    in the order the indexer tells its hooks: every other rule first (their alerts never wait for a publication),
    then the publishers, then the rules on what they published (`engine.PUBLISHED_KINDS`), so a signal published at
    block B is judged at B."""
    return (alerts, *publishers, alerts.after_publishers)


def alert_hooks(repo: Repository, publishers: Sequence[BlockHook] = ()) -> tuple[BlockHook, ...]:
    """The alert engine's passes around `publishers` (`around`), or the publishers alone without delivery."""
    sink = delivery_sink(repo)
    if sink is None:
        log.warning("alerts.not_evaluated", reason="this build has no alert delivery (outbox); rules stay stored")
        return tuple(publishers)
    return around(alert_engine(repo, sink), publishers)
