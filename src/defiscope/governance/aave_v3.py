"""Aave Governance V3's proposals from GovernanceCore's and the PayloadsController's kept events, with what only
`getProposal` holds (times, payload references) when a chain is at hand.

    proposals = build_v3_proposals(events, block=head, facts={pid: ProposalFacts(...)}, configs=..., decode=decoder)

GovernanceCore.State is mapped onto the Governor's eight states (the governance view's common language):

    Null       -> (no proposal)
    Created    -> Pending     waiting for coolDownBeforeVotingStart, then anyone may activateVoting
    Active     -> Active      voting on the voting machine; stays Active until its portal delivers the result
    Queued     -> Queued      the result passed; executable COOLDOWN_PERIOD after queuingTime
    Executed   -> Executed    payloads sent to their PayloadsControllers (which then queue, delay, execute them)
    Failed     -> Defeated    the delivered result missed yesThreshold or yesNoDifferential
    Cancelled  -> Canceled
    Expired    -> Expired     any unfinished proposal once block time > creationTime + PROPOSAL_EXPIRATION_TIME

V3 has no Succeeded: a passing result goes straight to Queued. The state follows from the events (created,
activated, queued / failed, executed, canceled) and the block's time against the creation time (getProposal's
creationTime, as GovernanceCore._getProposalState computes it); without that time an unfinished proposal's state
is not guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Final

from defiscope.chain.block import BlockRef
from defiscope.governance.actions import Action
from defiscope.governance.proposals import Counting, Decoder, Proposal, ordered
from defiscope.governance.state import ProposalState, Tally, Timeline
from defiscope.protocols.aave_governance_v3_events import (
    PAYLOAD_CANCELLED_KIND,
    PAYLOAD_CREATED_KIND,
    PAYLOAD_EXECUTED_KIND,
    PAYLOAD_QUEUED_KIND,
    V3_ACTIVATED_KIND,
    V3_CANCELED_KIND,
    V3_CREATED_KIND,
    V3_EXECUTED_KIND,
    V3_FAILED_KIND,
    V3_PAYLOAD_SENT_KIND,
    V3_QUEUED_KIND,
)
from defiscope.protocols.events import StoredEvent

#: GovernanceCore.PROPOSAL_EXPIRATION_TIME (a constant: 30 days).
PROPOSAL_EXPIRATION_TIME: Final = 30 * 24 * 3600
#: GovernanceCore.PRECISION_DIVIDER: voting configs keep whole AAVE.
PRECISION_DIVIDER: Final = 10**18

VOTING_MACHINE = Counting(
    "voting-machine-result",
    "votes are cast on Aave's voting machines on other chains; only the result (for, against) reaches "
    "GovernanceCore, when the voting portal queues the proposal or marks it failed: no voter count, no abstain; "
    "the vote window is in seconds (vote_start is the activation block, the creation block before it)",
    False,
    True,
    True,
    has_abstain=False,
    has_voters=False,
)


class V3State:
    """IGovernanceCore.State, in the enum's order."""

    NULL, CREATED, ACTIVE, QUEUED, EXECUTED, FAILED, CANCELLED, EXPIRED = range(8)


#: IGovernanceCore.State -> the Governor's state (see the module's table).
GOVERNOR_STATE: Final[Mapping[int, ProposalState]] = {
    V3State.CREATED: ProposalState.PENDING,
    V3State.ACTIVE: ProposalState.ACTIVE,
    V3State.QUEUED: ProposalState.QUEUED,
    V3State.EXECUTED: ProposalState.EXECUTED,
    V3State.FAILED: ProposalState.DEFEATED,
    V3State.CANCELLED: ProposalState.CANCELED,
    V3State.EXPIRED: ProposalState.EXPIRED,
}


@dataclass(frozen=True, slots=True)
class PayloadRef:
    """PayloadsControllerUtils.Payload: where one of a proposal's payloads lives."""

    chain: int
    access_level: int
    controller: str
    payload_id: int


@dataclass(frozen=True, slots=True)
class ProposalFacts:
    """What getProposal says that the events do not: times (unix seconds) and the payloads. The queuing time is
    None when read at creation (kept with the event), before there was one."""

    creation_time: int
    payloads: tuple[PayloadRef, ...]
    queuing_time: int | None = None


def payload_refs(payloads: Iterable[Mapping[str, object]]) -> tuple[PayloadRef, ...]:
    """Payloads as kept (`aave_governance_v3_events.payload_list`)."""
    return tuple(
        PayloadRef(int(str(p["chain"])), int(str(p["access_level"])), str(p["controller"]), int(str(p["payload_id"])))
        for p in payloads
    )


def recorded_facts(created: StoredEvent) -> ProposalFacts | None:
    """The facts kept with a ProposalCreated (getProposal read at its block when collected); None when its read
    failed (`payloads_unread` says why) or the event was kept without them."""
    if "payloads" not in created.payload:
        return None
    return ProposalFacts(int(created.payload["creation_time"]), payload_refs(created.payload["payloads"]))


def payloads_unread(created: StoredEvent) -> str:
    """Why a ProposalCreated has no payload list kept."""
    call = created.payload.get("payloads_call")
    if isinstance(call, Mapping) and not call.get("success", True):
        return f"getProposal failed at block {call['block']}: {call['result']}"
    return "its payloads were not read when it was collected"


@dataclass(slots=True)
class _Replay:
    created: StoredEvent
    state: int = V3State.CREATED
    activated_block: int | None = None
    result: tuple[int, int] | None = None  # for, against
    sent: tuple[PayloadRef, ...] = ()


def v3_state(recorded: int, *, creation_time: int | None, timestamp: int) -> int | None:
    """GovernanceCore._getProposalState: a final state stands; an unfinished one expires past creation + 30 days
    (a Created one counts its votingDuration, 0 until activation). None: unfinished, creation time unknown."""
    if recorded >= V3State.EXECUTED:
        return recorded
    if creation_time is None:
        return None
    return V3State.EXPIRED if timestamp > creation_time + PROPOSAL_EXPIRATION_TIME else recorded


def replay(events: Iterable[StoredEvent], block_number: int) -> dict[str, _Replay]:
    """Each proposal's recorded state (as GovernanceCore stores it) from its events up to `block_number`."""
    proposals: dict[str, _Replay] = {}
    for event in ordered(events):
        if event.block_number > block_number:
            continue
        p = event.payload
        pid = str(p.get("id", ""))
        if event.kind == V3_CREATED_KIND:
            proposals[pid] = _Replay(event)
            continue
        found = proposals.get(pid)
        if found is None:
            continue  # a payload event, or a proposal created before the scanned range
        if event.kind == V3_ACTIVATED_KIND:
            found.state, found.activated_block = V3State.ACTIVE, event.block_number
        elif event.kind in (V3_QUEUED_KIND, V3_FAILED_KIND):
            found.state = V3State.QUEUED if event.kind == V3_QUEUED_KIND else V3State.FAILED
            found.result = (int(p["for"]), int(p["against"]))
        elif event.kind == V3_EXECUTED_KIND:
            found.state = V3State.EXECUTED
        elif event.kind == V3_CANCELED_KIND:
            found.state = V3State.CANCELLED
        elif event.kind == V3_PAYLOAD_SENT_KIND:
            ref = PayloadRef(int(p["chain_id"]), 0, str(p["payloads_controller"]), int(p["payload_id"]))
            found.sent = (*found.sent, ref)
    return proposals


@dataclass(frozen=True, slots=True)
class PayloadRecord:
    """A payload as the followed PayloadsController's events say: its actions and how far it went."""

    actions: tuple[Mapping[str, object], ...]
    stage: str  # "created", "queued", "executed", "cancelled"
    stage_block: int


def payload_records(events: Iterable[StoredEvent], block_number: int) -> dict[int, PayloadRecord]:
    stages = {PAYLOAD_QUEUED_KIND: "queued", PAYLOAD_EXECUTED_KIND: "executed", PAYLOAD_CANCELLED_KIND: "cancelled"}
    records: dict[int, PayloadRecord] = {}
    for event in ordered(events):
        if event.block_number > block_number:
            continue
        payload_id = event.payload.get("payload_id")
        if event.kind == PAYLOAD_CREATED_KIND:
            actions = tuple(event.payload["actions"])
            records[int(event.payload["payload_id"])] = PayloadRecord(actions, "created", event.block_number)
        elif event.kind in stages and payload_id is not None and int(payload_id) in records:
            records[int(payload_id)] = replace(
                records[int(payload_id)], stage=stages[event.kind], stage_block=event.block_number
            )
    return records


def payload_actions(
    refs: Sequence[PayloadRef],
    controller: str | None,
    chain_id: int,
    records: Mapping[int, PayloadRecord],
    decode: Decoder,
) -> tuple[tuple[Action, ...], tuple[str, ...]]:
    """The actions of a proposal's payloads on the followed controller, decoded, and one line per payload saying
    where it stands (or why its actions are not known)."""
    actions: list[Action] = []
    notes: list[str] = []
    for ref in refs:
        here = ref.chain == chain_id and controller is not None and ref.controller.lower() == controller.lower()
        record = records.get(ref.payload_id) if here else None
        if record is None:
            where = "this chain's" if ref.chain == chain_id else f"chain {ref.chain}'s"
            notes.append(f"payload {ref.payload_id} on {where} PayloadsController {ref.controller}: not followed")
            continue
        notes.append(f"payload {ref.payload_id}: {record.stage} (block {record.stage_block})")
        actions += [_decoded(decode, a) for a in record.actions]
    return tuple(actions), tuple(notes)


def _decoded(decode: Decoder, action: Mapping[str, object]) -> Action:
    decoded = decode(
        str(action["target"]), int(str(action["value"])), str(action["signature"]), str(action["calldata"])
    )
    level = f"access level {action['access_level']}"
    how = f"delegatecall, {level}" if action["with_delegatecall"] else level
    return replace(decoded, why=f"{decoded.why} ({how})" if decoded.why else how)


@dataclass(frozen=True, slots=True)
class V3Context:
    """Where the proposals are read: the chain, its followed PayloadsController, each access level's yes
    threshold (whole AAVE, from getVotingConfig) and the governance's COOLDOWN_PERIOD, when read."""

    chain_id: int
    controller: str | None
    yes_thresholds: Mapping[int, int]
    cooldown: int | None


def build_v3_proposals(
    events: Sequence[StoredEvent],
    *,
    block: BlockRef,
    facts: Mapping[str, ProposalFacts],
    context: V3Context,
    decode: Decoder,
) -> list[Proposal]:
    """Every V3 proposal created in `events`, newest first, as of `block`."""
    records = payload_records(events, block.number)
    proposals = []
    for pid, replayed in replay(events, block.number).items():
        fact = facts.get(pid)
        proposals.append(_proposal(pid, replayed, fact, records, context, block, decode))
    return sorted(proposals, key=lambda x: x.created_block, reverse=True)


def _proposal(
    pid: str,
    replayed: _Replay,
    fact: ProposalFacts | None,
    records: Mapping[int, PayloadRecord],
    context: V3Context,
    block: BlockRef,
    decode: Decoder,
) -> Proposal:
    created = replayed.created
    state = v3_state(replayed.state, creation_time=fact.creation_time if fact else None, timestamp=block.timestamp)
    refs = fact.payloads if fact is not None else replayed.sent
    actions, notes = payload_actions(refs, context.controller, context.chain_id, records, decode)
    if state is None:
        reason = "its creation time could not be read (getProposal), so whether it expired is unknown"
    else:
        reason = f"GovernanceCore state {_STATE_NAMES[state]} from the proposal's events and the block time"
    if fact is None and not replayed.sent:
        notes = ("its payloads could not be read (getProposal)",)
    level = int(created.payload["access_level"])
    threshold = context.yes_thresholds.get(level)
    for_votes, against = replayed.result or (0, 0)
    eta = None
    queued_at = None if fact is None else fact.queuing_time
    if replayed.state == V3State.QUEUED and queued_at is not None and context.cooldown is not None:
        eta = queued_at + context.cooldown
    return Proposal(
        pid,
        str(created.payload["proposer"]),
        str(created.payload["description"]),
        created.block_number,
        created.block_hash,
        Timeline(replayed.activated_block or created.block_number, 0, eta=eta),
        Tally(for_votes, against, 0),
        0,
        None if threshold is None else threshold * PRECISION_DIVIDER,
        None if state is None else GOVERNOR_STATE[state],
        "; ".join((reason, *notes)),
        actions,
        VOTING_MACHINE,
    )


_STATE_NAMES: Final = ("Null", "Created", "Active", "Queued", "Executed", "Failed", "Cancelled", "Expired")
