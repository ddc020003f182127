"""Maker's spells as proposals, from the chief's and the pause's kept notes (`protocols.maker_governance_events`).

Maker votes by approval: each voter's locked MKR backs every candidate of the slate it voted for, and whoever
has more approval than the hat may be lifted to it. A spell is the proposal; its life maps onto the Governor's
states as follows (Pending and Defeated do not occur: a candidate collects approval from its first slate on,
and is never voted down, only out-approved):

- Active: in a slate (created when first etched or voted for), collecting approval;
- Succeeded: lifted to the hat at some block (so it may schedule itself);
- Queued: scheduled, its action plotted in the pause (eta = the plot's);
- Executed: cast (the pause executed its plan);
- Canceled: its plan dropped from the pause;
- Expired: past its `expiration` without being scheduled (DssSpell.schedule refuses it after).

The votes are approval only: `for` is the MKR approving the spell at the block; against and abstain do not
exist, and no quorum applies (a spell passes by out-approving the hat).

    spells = build_spells(events, block=head, facts={spell: SpellFacts(...)}, decode=decoder)
    spells.proposals[0].state, spells.deposits      # ProposalState.QUEUED, {voter: locked MKR}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from defiscope.chain.block import BlockRef
from defiscope.governance.proposals import APPROVAL, Decoder, Proposal, ordered
from defiscope.governance.state import ProposalState, Tally, Timeline
from defiscope.protocols.events import StoredEvent
from defiscope.protocols.governor_events import PROPOSAL_EXECUTED_KIND, PROPOSAL_QUEUED_KIND
from defiscope.protocols.maker_governance_events import (
    CHIEF_DEPOSIT_KIND,
    CHIEF_ETCH_KIND,
    CHIEF_LIFT_KIND,
    CHIEF_VOTE_KIND,
    PLAN_DROPPED_KIND,
)

ZERO: Final = "0x" + "00" * 20


@dataclass(frozen=True, slots=True)
class SpellFacts:
    """What a spell's events do not say, read from the spell at the view's block."""

    expiration: int  # unix time after which it cannot be scheduled
    action: str  # the address its plan runs (by delegatecall from the pause proxy)
    calldata: str  # its `sig`: the call the plan makes on the action
    description: str


@dataclass(frozen=True, slots=True)
class Plan:
    eta: int
    plan: str
    action: str
    calldata: str


@dataclass(slots=True)
class ChiefState:
    """The chief's approval book and the pause's plans, replayed from the notes in chain order."""

    deposits: dict[str, int] = field(default_factory=dict)
    slates: dict[str, tuple[str, ...]] = field(default_factory=dict)
    votes: dict[str, str] = field(default_factory=dict)  # voter -> slate
    approvals: dict[str, int] = field(default_factory=dict)
    created: dict[str, tuple[StoredEvent, str]] = field(default_factory=dict)  # candidate -> (event, by)
    lifted: set[str] = field(default_factory=set)
    plans: dict[str, Plan] = field(default_factory=dict)  # spell -> its plotted plan
    executed: set[str] = field(default_factory=set)
    dropped: set[str] = field(default_factory=set)

    def apply(self, event: StoredEvent) -> None:
        p = event.payload
        if event.kind == CHIEF_DEPOSIT_KIND:
            voter, change = str(p["voter"]), int(p["change"])
            self.deposits[voter] = self.deposits.get(voter, 0) + change
            self._weigh(self.votes.get(voter), change)
        elif event.kind == CHIEF_ETCH_KIND:
            self._etch(event, str(p["slate"]), p["yays"], str(p["by"]))
        elif event.kind == CHIEF_VOTE_KIND:
            self._vote(event, p)
        elif event.kind == CHIEF_LIFT_KIND:
            self.lifted.add(str(p["whom"]))
        elif event.kind == PROPOSAL_QUEUED_KIND:
            spell = str(p["id"])
            self.created.setdefault(spell, (event, spell))  # voted for before the scanned range
            self.plans[spell] = Plan(int(p["eta"]), str(p["plan"]), str(p["action"]), str(p["calldata"]))
        elif event.kind == PROPOSAL_EXECUTED_KIND:
            # Anyone may call pause.exec: the plan, not the caller, says whose it was (the caller when unknown).
            self.executed |= self._owners(str(p["plan"])) or {str(p["id"])}
        elif event.kind == PLAN_DROPPED_KIND:
            self.dropped |= self._owners(str(p["plan"]))

    def _owners(self, plan: str) -> set[str]:
        return {spell for spell, plotted in self.plans.items() if plotted.plan == plan}

    def _etch(self, event: StoredEvent, slate: str, yays: Iterable[Any], by: str) -> None:
        self.slates[slate] = tuple(str(y) for y in yays)
        for candidate in self.slates[slate]:
            if candidate != ZERO:
                self.created.setdefault(candidate, (event, by))

    def _vote(self, event: StoredEvent, p: Mapping[str, Any]) -> None:
        voter, slate = str(p["voter"]), str(p["slate"])
        if p.get("yays") is not None:
            self._etch(event, slate, p["yays"], voter)
        weight = self.deposits.get(voter, 0)
        self._weigh(self.votes.get(voter), -weight)
        self.votes[voter] = slate
        self._weigh(slate, weight)

    def _weigh(self, slate: str | None, change: int) -> None:
        for candidate in self.slates.get(slate or "", ()):
            self.approvals[candidate] = self.approvals.get(candidate, 0) + change

    def voters_of(self, candidate: str) -> int:
        return sum(
            1
            for voter, slate in self.votes.items()
            if self.deposits.get(voter) and candidate in self.slates.get(slate, ())
        )


def replay(events: Iterable[StoredEvent], at_block: int) -> ChiefState:
    state = ChiefState()
    for event in ordered(events):
        if event.block_number <= at_block:
            state.apply(event)
    return state


def spell_state(
    chief: ChiefState, spell: str, facts: SpellFacts | None, timestamp: int
) -> tuple[ProposalState | None, str]:
    """The spell's state and how it follows (or why it is unknown)."""
    if spell in chief.dropped:
        return ProposalState.CANCELED, "its plan was dropped from the pause"
    if spell in chief.executed:
        return ProposalState.EXECUTED, "cast: the pause executed its plan"
    if spell in chief.plans:
        return ProposalState.QUEUED, "scheduled: its plan is plotted in the pause"
    if facts is None:
        return None, "its expiration could not be read (no chain connection, or not a spell)"
    if timestamp > facts.expiration:
        return ProposalState.EXPIRED, "past its expiration, never scheduled"
    if spell in chief.lifted:
        return ProposalState.SUCCEEDED, "lifted to the chief's hat, not scheduled yet"
    return ProposalState.ACTIVE, "a candidate collecting approval in the chief"


@dataclass(frozen=True, slots=True)
class Spells:
    proposals: tuple[Proposal, ...]
    deposits: Mapping[str, int]  # each voter's locked MKR: its voting power


def build_spells(
    events: Iterable[StoredEvent], *, block: BlockRef, facts: Mapping[str, SpellFacts], decode: Decoder
) -> Spells:
    """Every spell candidate in `events`, newest first, as of `block`."""
    chief = replay(events, block.number)
    proposals = [
        _proposal(chief, spell, created, by, facts.get(spell), block, decode)
        for spell, (created, by) in chief.created.items()
    ]
    proposals.sort(key=lambda x: x.created_block, reverse=True)
    return Spells(tuple(proposals), dict(chief.deposits))


def _proposal(
    chief: ChiefState,
    spell: str,
    created: StoredEvent,
    by: str,
    facts: SpellFacts | None,
    block: BlockRef,
    decode: Decoder,
) -> Proposal:
    state, reason = spell_state(chief, spell, facts, block.timestamp)
    plan = chief.plans.get(spell)
    # What it plotted once scheduled; before that, what it would plot.
    planned = plan or facts
    actions = () if planned is None else (decode(planned.action, 0, "", planned.calldata),)
    # Approval voting never closes: the timeline's end is the block the approval is read at.
    timeline = Timeline(
        created.block_number,
        block.number,
        eta=None if plan is None else plan.eta,
        executed=spell in chief.executed,
        canceled=spell in chief.dropped,
    )
    return Proposal(
        spell,
        by,
        "" if facts is None else facts.description,
        created.block_number,
        created.block_hash,
        timeline,
        Tally(chief.approvals.get(spell, 0), 0, 0),
        chief.voters_of(spell),
        None,
        state,
        reason,
        actions,
        counting=APPROVAL,
    )
