"""Proposals assembled from a governor's kept events: timeline, tally, state, decoded actions.

    proposals = build_proposals(events, block=head, quorums={pid: q}, rules=OPENZEPPELIN, decode=decoder)

`events` are the `StoredEvent`s of one governor (any order; they are applied in chain order). `quorums` maps
a proposal id to its quorum as the governor computes it for that proposal; a missing one leaves the state of
an ended, unqueued proposal undetermined (None, with the reason), never guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from defiscope.chain.block import BlockRef
from defiscope.governance.actions import Action
from defiscope.governance.state import (
    GovernorRules,
    ProposalState,
    Tally,
    Timeline,
    VoteDifferential,
    proposal_state,
)
from defiscope.protocols.events import StoredEvent
from defiscope.protocols.governor_events import (
    DELEGATE_VOTES_KIND,
    PROPOSAL_CANCELED_KIND,
    PROPOSAL_CREATED_KIND,
    PROPOSAL_EXECUTED_KIND,
    PROPOSAL_QUEUED_KIND,
    VOTE_CAST_KIND,
)

#: VoteCast's `support`: 0 against, 1 for, 2 abstain (Bravo and GovernorCountingSimple alike).
AGAINST, FOR, ABSTAIN = 0, 1, 2

Decoder = Callable[[str, int, str, str], Action]  # target, value, signature, calldata


@dataclass(frozen=True, slots=True)
class Counting:
    """How a governor counts votes, and what of the Governor's figures it has no equivalent for."""

    name: str
    note: str
    has_vote_window: bool  # a vote opens and closes at blocks
    has_against_abstain: bool
    has_quorum: bool
    has_abstain: bool = True  # Aave V3's results carry for and against only
    has_voters: bool = True  # Aave V3: the voters are on the voting machines, not counted here


FOR_AGAINST_ABSTAIN = Counting("for-against-abstain", "token-weighted for/against/abstain votes", True, True, True)
APPROVAL = Counting(
    "approval",
    "approval voting (Maker's chief): `for` is the MKR approving the spell; there are no against or abstain votes, "
    "no vote window and no quorum: a spell passes by out-approving the hat",
    False,
    False,
    False,
)


@dataclass(frozen=True, slots=True)
class Proposal:
    id: str
    proposer: str
    description: str
    created_block: int
    created_block_hash: str
    timeline: Timeline
    tally: Tally
    voters: int
    quorum: int | None
    state: ProposalState | None
    state_reason: str  # how the state follows, or why it is unknown
    actions: tuple[Action, ...]
    counting: Counting = FOR_AGAINST_ABSTAIN

    @property
    def title(self) -> str:
        return self.description.strip().splitlines()[0].lstrip("# ") if self.description.strip() else ""

    @property
    def flags(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a.flag for a in self.actions))


def ordered(events: Iterable[StoredEvent]) -> list[StoredEvent]:
    """In chain order (block, then log index)."""
    return sorted(events, key=lambda e: (e.block_number, e.log_index if e.log_index is not None else -1))


def build_proposals(
    events: Iterable[StoredEvent],
    *,
    block: BlockRef,
    timestamp: int,
    quorums: Mapping[str, int],
    rules: GovernorRules,
    decode: Decoder,
    differentials: Mapping[str, VoteDifferential] | None = None,
) -> list[Proposal]:
    """Every proposal created in `events`, newest first, as of `block` (at `timestamp`); `differentials` are
    Aave's per-proposal vote-differential facts (`rules.vote_differential`)."""
    created: dict[str, StoredEvent] = {}
    timelines: dict[str, Timeline] = {}
    tallies: dict[str, Tally] = {}
    voters: dict[str, int] = {}
    for event in ordered(events):
        if event.block_number > block.number:
            continue
        p = event.payload
        pid = str(p.get("id", ""))
        if event.kind == PROPOSAL_CREATED_KIND:
            created[pid] = event
            timelines[pid] = Timeline(int(p["vote_start"]), int(p["vote_end"]))
            tallies[pid] = Tally(0, 0, 0)
            voters[pid] = 0
        elif pid not in timelines:
            continue  # an event of a proposal created before the scanned range
        elif event.kind == VOTE_CAST_KIND:
            tallies[pid] = _counted(tallies[pid], int(p["support"]), int(p["weight"]))
            voters[pid] += 1
        elif event.kind == PROPOSAL_QUEUED_KIND:
            timelines[pid] = replace(timelines[pid], eta=int(p["eta"]))
        elif event.kind == PROPOSAL_EXECUTED_KIND:
            timelines[pid] = replace(timelines[pid], executed=True)
        elif event.kind == PROPOSAL_CANCELED_KIND:
            timelines[pid] = replace(timelines[pid], canceled=True)
    proposals = []
    for pid, event in created.items():
        quorum = quorums.get(pid)
        state = proposal_state(
            timelines[pid],
            tallies[pid],
            quorum=quorum,
            block=block.number,
            timestamp=timestamp,
            rules=rules,
            differential=(differentials or {}).get(pid),
        )
        reason = "from the proposal's events and the block" if state is not None else "its quorum could not be read"
        p = event.payload
        actions = created_actions(p, decode)
        proposals.append(
            Proposal(
                pid,
                str(p["proposer"]),
                str(p["description"]),
                event.block_number,
                event.block_hash,
                timelines[pid],
                tallies[pid],
                voters[pid],
                quorum,
                state,
                reason,
                actions,
            )
        )
    return sorted(proposals, key=lambda x: x.created_block, reverse=True)


def created_actions(payload: Mapping[str, Any], decode: Decoder) -> tuple[Action, ...]:
    """The actions of a ProposalCreated event's payload, decoded."""
    fields = zip(payload["targets"], payload["values"], payload["signatures"], payload["calldatas"], strict=True)
    return tuple(
        decode(str(target), int(value), str(signature), str(data)) for target, value, signature, data in fields
    )


def _counted(tally: Tally, support: int, weight: int) -> Tally:
    if support == FOR:
        return replace(tally, for_votes=tally.for_votes + weight)
    if support == AGAINST:
        return replace(tally, against=tally.against + weight)
    return replace(tally, abstain=tally.abstain + weight)


def voting_power(events: Iterable[StoredEvent], at_block: int) -> dict[str, int]:
    """Each delegate's votes at `at_block`: its last `DelegateVotesChanged` up to then."""
    votes: dict[str, int] = {}
    for event in ordered(events):
        if event.kind == DELEGATE_VOTES_KIND and event.block_number <= at_block:
            votes[str(event.payload["delegate"])] = int(event.payload["votes"])
    return votes
