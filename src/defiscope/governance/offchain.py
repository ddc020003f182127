"""Off-chain proposals (Snapshot) in the governance view's shape, with their state mapped honestly.

A Snapshot proposal is a signalling vote: it has choices and scores, a quorum the space may set, and no
on-chain actions (an executed change arrives later as a Governor or executor proposal, which the chain
source lists). Its state is the Hub's own — `pending` (voting not open), `active`, `closed` — and `closed`
says the vote ended, not what it decided: a space's own rules (its voting type, quorum, the forum's
process) decide that, so the view gives the scores per choice and the quorum rather than guess an outcome.

    proposal = offchain_proposal(doc, now=1_760_000_000)
    proposal.state, proposal.choices[0]          # OffchainState.CLOSED, ChoiceScore("For", Decimal("1.5e6"))

`SNAPSHOT_SPACES` maps a governed protocol to its mainnet spaces, as the protocols themselves link them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from defiscope.governance.snapshot import ProposalDoc

#: Mainnet Snapshot spaces per protocol (facts checked against the protocols' own links):
#: - aave: the Aave DAO's proposal payloads link their Snapshot votes at `aavedao.eth` since 2025 and at
#:   `aave.eth` before; both are listed so the view spans the move.
#: - uniswap: `uniswapgovernance.eth`; compound: `comp-vote.eth`; lido: `lido-snapshot.eth`.
#: Maker is left out: MakerDAO/Sky governs through its chief and polls on chain, and `makerdao.eth` is not
#: a space its governance uses.
SNAPSHOT_SPACES: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "aave": ("aavedao.eth", "aave.eth"),
        "compound": ("comp-vote.eth",),
        "lido": ("lido-snapshot.eth",),
        "uniswap": ("uniswapgovernance.eth",),
    }
)
PROTOCOL_OF_SPACE: Final[Mapping[str, str]] = MappingProxyType(
    {space: protocol for protocol, spaces in SNAPSHOT_SPACES.items() for space in spaces}
)
NO_ACTIONS: Final = (
    "a Snapshot vote is an off-chain signal: it carries no on-chain actions (a change it approves is "
    "executed later by an on-chain proposal, which the chain source lists)"
)


class OffchainState(StrEnum):
    """The Hub's states; Pending and Active mean what the Governor's do, Closed only that voting ended."""

    PENDING = "Pending"
    ACTIVE = "Active"
    CLOSED = "Closed"


_STATES: Final[Mapping[str, OffchainState]] = MappingProxyType({s.name.lower(): s for s in OffchainState})


@dataclass(frozen=True, slots=True)
class ChoiceScore:
    choice: str
    score: Decimal | None  # None when the Hub sent no score for this choice (shielded or not computed)


@dataclass(frozen=True, slots=True)
class OffchainProposal:
    id: str
    protocol: str
    space_id: str
    space_name: str | None
    chain_id: int | None  # the network of the space's voting strategies
    title: str
    body: str
    author: str
    created: int  # unix seconds
    start: int
    end: int
    snapshot_block: int | None  # the block voting power is read at
    state: OffchainState | None
    state_reason: str
    voting_type: str | None
    choices: tuple[ChoiceScore, ...]
    scores_total: Decimal | None
    scores_final: bool  # the Hub computed the final scores of the closed vote
    quorum: Decimal | None
    quorum_reason: str
    voters: int | None
    link: str | None


def _state(doc: ProposalDoc, now: int) -> tuple[OffchainState | None, str]:
    state = _STATES.get((doc.state or "").lower())
    if state is None:
        return None, f"Snapshot reported state {doc.state!r}, which this view does not know"
    if state is OffchainState.PENDING:
        return state, f"voting opens at {doc.start} (unix time)"
    if state is OffchainState.ACTIVE:
        return state, f"voting closes at {doc.end} (unix time)"
    final = "final" if doc.scores_state == "final" else f"not final yet (scores_state {doc.scores_state!r})"
    ended = "ended" if doc.end <= now else f"ends at {doc.end}"
    return state, f"voting {ended}; Snapshot records scores, not an outcome: the scores are {final}"


def _quorum(doc: ProposalDoc) -> tuple[Decimal | None, str]:
    if doc.quorum is None:
        return None, "the Hub sent no quorum"
    if doc.quorum == 0:
        return None, "the space sets no quorum"
    return doc.quorum, "the space's quorum, in voting-power units"


def _choices(doc: ProposalDoc) -> tuple[ChoiceScore, ...]:
    scores = doc.scores or []
    return tuple(ChoiceScore(choice, scores[i] if i < len(scores) else None) for i, choice in enumerate(doc.choices))


def _int_or_none(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdigit() else None


def offchain_proposal(doc: ProposalDoc, *, now: int) -> OffchainProposal:
    """One Hub proposal in the view's shape; `now` (unix seconds) words the reason of a closed vote."""
    space_id = doc.space.id if doc.space is not None else ""
    state, reason = _state(doc, now)
    quorum, quorum_reason = _quorum(doc)
    return OffchainProposal(
        id=doc.id,
        protocol=PROTOCOL_OF_SPACE.get(space_id, space_id),
        space_id=space_id,
        space_name=doc.space.name if doc.space is not None else None,
        chain_id=_int_or_none(doc.network),
        title=doc.title,
        body=doc.body or "",
        author=doc.author,
        created=doc.created,
        start=doc.start,
        end=doc.end,
        snapshot_block=_int_or_none(doc.snapshot),
        state=state,
        state_reason=reason,
        voting_type=doc.type,
        choices=_choices(doc),
        scores_total=doc.scores_total,
        scores_final=doc.scores_state == "final",
        quorum=quorum,
        quorum_reason=quorum_reason,
        voters=doc.votes,
        link=doc.link,
    )
