"""The flags of Aave Governance V3 proposals at each stage, from the store alone (alerts, backtests).

    marks = v3_stage_flags(repo, chain_id, keeper, origins, staged, last)
    marks[("4", "created")]   # Flagged(flags=("admin-change", "parameter-change"), reasons=())

A proposal's payload list is kept with its ProposalCreated (read at its block when collected), each payload's
actions in its PayloadCreated (earlier), so a proposal is flagged from its creation on. A payload whose actions
are not stored (another chain's PayloadsController, a controller not followed) adds the `unknown` flag with the
reason; so does a proposal whose payload list was not kept, until its execution names the payloads (PayloadSent).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from defiscope.governance.aave_v3 import PayloadRef, payloads_unread, recorded_facts
from defiscope.governance.load import payload_flags
from defiscope.protocols.aave_governance_v3_events import PAYLOAD_CREATED_KIND, V3_PAYLOAD_SENT_KIND
from defiscope.protocols.events import StoredEvent
from defiscope.store import Repository

UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Flagged:
    """A proposal's flags at a stage, and why any of them is `unknown`."""

    flags: tuple[str, ...]
    reasons: tuple[str, ...] = ()


#: Stored PayloadCreated events by (controller, lowercase; payload id).
PayloadIndex = Mapping[tuple[str, int], StoredEvent]


def payload_index(events: Iterable[StoredEvent]) -> dict[tuple[str, int], StoredEvent]:
    return {(str(e.payload["controller"]).lower(), int(e.payload["payload_id"])): e for e in events}


def flags_of_payloads(refs: Sequence[PayloadRef], chain_id: int, payloads: PayloadIndex) -> Flagged:
    """The flags of the payloads' stored actions; `unknown`, with the reason, for each payload not stored."""
    found: list[StoredEvent] = []
    reasons: list[str] = []
    for ref in refs:
        stored = payloads.get((ref.controller.lower(), ref.payload_id)) if ref.chain == chain_id else None
        if stored is not None:
            found.append(stored)
        elif ref.chain != chain_id:
            reasons.append(
                f"payload {ref.payload_id} is on chain {ref.chain}'s PayloadsController {ref.controller}, "
                "which is not followed: its actions are unknown"
            )
        else:
            reasons.append(
                f"payload {ref.payload_id} of PayloadsController {ref.controller}: no PayloadCreated of it is "
                "stored (a controller not followed, or created before the scanned range)"
            )
    flags = payload_flags(found) + ((UNKNOWN,) if reasons else ())
    return Flagged(tuple(dict.fromkeys(flags)), tuple(reasons))


def _flagged(origin: StoredEvent | None, sent: Sequence[PayloadRef], chain_id: int, payloads: PayloadIndex) -> Flagged:
    if origin is None:
        return Flagged((UNKNOWN,), ("its ProposalCreated is not stored (created before the scanned range)",))
    facts = recorded_facts(origin)
    refs = facts.payloads if facts is not None else tuple(sent)
    if not refs:
        return Flagged((UNKNOWN,), (payloads_unread(origin),))
    return flags_of_payloads(refs, chain_id, payloads)


def _sent_refs(
    repo: Repository, chain_id: int, keeper: str, executed: Sequence[StoredEvent], origins: Mapping[str, StoredEvent]
) -> dict[str, list[PayloadRef]]:
    """The payloads that PayloadSent names for executed proposals kept without a payload list (one read, only when
    there is such a proposal): the executions' blocks bound it."""
    unlisted = [e for e in executed if (o := origins.get(_pid(e))) is None or recorded_facts(o) is None]
    if not unlisted:
        return {}
    first, last = min(e.block_number for e in unlisted), max(e.block_number for e in unlisted)
    refs: dict[str, list[PayloadRef]] = {}
    for event in repo.events(chain_id, keeper, V3_PAYLOAD_SENT_KIND, from_block=first, to_block=last):
        p = event.payload
        ref = PayloadRef(int(p["chain_id"]), 0, str(p["payloads_controller"]), int(p["payload_id"]))
        refs.setdefault(_pid(event), []).append(ref)
    return refs


def v3_stage_flags(
    repo: Repository,
    chain_id: int,
    keeper: str,
    origins: Mapping[str, StoredEvent],
    staged: Mapping[str, Sequence[StoredEvent]],
    last: int,
) -> dict[tuple[str, str], Flagged]:
    """(proposal id, stage) -> its flags, for every staged V3 event; one read of the stored PayloadCreated events
    (up to `last`), only when a V3 proposal is staged."""
    keys = {(_pid(e), stage) for stage, events in staged.items() for e in events}
    if not keys:
        return {}
    payloads = payload_index(repo.events(chain_id, keeper, PAYLOAD_CREATED_KIND, to_block=last))
    sent = _sent_refs(repo, chain_id, keeper, staged.get("executed", ()), origins)
    return {
        (pid, stage): _flagged(origins.get(pid), sent.get(pid, []) if stage == "executed" else (), chain_id, payloads)
        for pid, stage in keys
    }


def _pid(event: StoredEvent) -> str:
    return str(event.payload.get("id", ""))
