"""The JSON form of the governance view, shared by `defiscope governance proposals --json` and the API.

    proposal_json(view, proposal)   # {"source": "chain", "id", "state", "votes": {"for", ...}, "actions": [...], ...}
    offchain_json(proposal)         # {"source": "snapshot", "id", "state", "choices": [{"choice", "score"}], ...}

Vote amounts and quorums are token base units as decimal strings (they exceed JSON's exact integers); shares
are decimal strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from defiscope.governance.actions import Action
from defiscope.governance.concentration import Concentration
from defiscope.governance.load import GovernanceView
from defiscope.governance.offchain import NO_ACTIONS, OffchainProposal
from defiscope.governance.proposals import Proposal
from defiscope.governance.query import ProposalQuery
from defiscope.governance.sources import OffchainListing, SourceStatus


def _share(value: Fraction | None) -> str | None:
    return None if value is None else f"{float(value):.6f}"


def action_json(action: Action) -> dict[str, Any]:
    return {
        "target": action.target,
        "target_name": action.target_name,
        "value": str(action.value),
        "function": action.function,
        "arguments": [{"name": a.name, "type": a.type, "value": a.value} for a in action.arguments],
        "calldata": action.calldata,
        "flag": action.flag,
        "why": action.why,
    }


def proposal_json(view: GovernanceView, proposal: Proposal) -> dict[str, Any]:
    t, c = proposal.timeline, proposal.counting
    return {
        "source": "chain",
        "id": proposal.id,
        "protocol": view.protocol,
        "chain_id": view.chain_id,
        "governor": view.governor,
        "title": proposal.title,
        "description": proposal.description,
        "proposer": proposal.proposer,
        "state": None if proposal.state is None else proposal.state.value,
        "state_reason": proposal.state_reason,
        "created_block": proposal.created_block,
        "created_block_hash": proposal.created_block_hash,
        "vote_start": t.vote_start,
        "vote_end": t.vote_end if c.has_vote_window else None,
        "eta": t.eta,
        "votes": {
            "for": str(proposal.tally.for_votes),
            "against": str(proposal.tally.against) if c.has_against_abstain else None,
            "abstain": str(proposal.tally.abstain) if c.has_against_abstain and c.has_abstain else None,
            "voters": proposal.voters if c.has_voters else None,
        },
        "counting": c.name,
        "counting_note": c.note,
        "quorum": None if proposal.quorum is None else str(proposal.quorum),
        "flags": list(proposal.flags),
        "actions": [action_json(a) for a in proposal.actions],
    }


def _decimal(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def offchain_json(proposal: OffchainProposal) -> dict[str, Any]:
    """A Snapshot proposal: times are unix seconds, scores and quorum the Hub's numbers as decimal strings."""
    return {
        "source": "snapshot",
        "id": proposal.id,
        "protocol": proposal.protocol,
        "chain_id": proposal.chain_id,
        "space": {"id": proposal.space_id, "name": proposal.space_name},
        "title": proposal.title,
        "description": proposal.body,
        "proposer": proposal.author,
        "state": None if proposal.state is None else proposal.state.value,
        "state_reason": proposal.state_reason,
        "created_time": proposal.created,
        "vote_start_time": proposal.start,
        "vote_end_time": proposal.end,
        "snapshot_block": proposal.snapshot_block,
        "voting_type": proposal.voting_type,
        "choices": [{"choice": c.choice, "score": _decimal(c.score)} for c in proposal.choices],
        "scores_total": _decimal(proposal.scores_total),
        "scores_final": proposal.scores_final,
        "voters": proposal.voters,
        "quorum": _decimal(proposal.quorum),
        "quorum_reason": proposal.quorum_reason,
        "link": proposal.link,
        "flags": [],
        "actions": [],
        "actions_reason": NO_ACTIONS,
    }


def source_json(status: SourceStatus) -> dict[str, Any]:
    return {"source": status.source, "status": status.status, "detail": status.detail, "fetched_at": status.fetched_at}


def chain_status(views: Sequence[GovernanceView]) -> SourceStatus:
    count = sum(len(v.proposals) for v in views)
    governors = ", ".join(v.protocol for v in views) or "none on this chain"
    return SourceStatus("chain", "ok", f"{count} proposals from the governors' events (governors: {governors})")


def listing_json(
    views: Sequence[GovernanceView], offchain: OffchainListing | None, query: ProposalQuery
) -> dict[str, Any]:
    """The whole answer: on-chain proposals (newest first), then off-chain ones (newest first), the sources
    asked with their status, and the on-chain voting-power concentration."""
    listed = [
        proposal_json(v, p)
        for v in views
        for p in v.proposals
        if query.keeps(None if p.state is None else p.state.value)
    ]
    if offchain is not None:
        listed += [
            offchain_json(p) for p in offchain.proposals if query.keeps(None if p.state is None else p.state.value)
        ]
    sources = [chain_status(views)] if "chain" in query.sources else []
    sources += [offchain.status] if offchain is not None else []
    return {
        "proposals": listed,
        "sources": [source_json(s) for s in sources],
        "concentration": [concentration_json(v) for v in views],
    }


def concentration_json(view: GovernanceView) -> dict[str, Any]:
    """Concentration figures; where voting power is not followed, null figures and `unavailable` says why."""
    c: Concentration = view.concentration
    unavailable = view.concentration_unavailable
    return {
        "protocol": view.protocol,
        "chain_id": view.chain_id,
        "unavailable": unavailable,
        "delegated_votes": None if unavailable else str(c.total),
        "delegates": c.delegates,
        "top5": [{"delegate": d, "votes": str(v)} for d, v in c.top],
        "top5_share": _share(c.top_share),
        "nakamoto_coefficient": c.nakamoto,
    }
