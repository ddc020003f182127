"""The JSON form of the governance view, shared by `defiscope governance proposals --json` and the API.

    proposal_json(proposal)     # {"id", "state", "votes": {"for", "against", "abstain"}, "actions": [...], ...}

Vote amounts and quorums are token base units as decimal strings (they exceed JSON's exact integers); shares
are decimal strings.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from defiscope.governance.actions import Action
from defiscope.governance.concentration import Concentration
from defiscope.governance.load import GovernanceView
from defiscope.governance.proposals import Proposal


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
            "abstain": str(proposal.tally.abstain) if c.has_against_abstain else None,
            "voters": proposal.voters,
        },
        "counting": c.name,
        "counting_note": c.note,
        "quorum": None if proposal.quorum is None else str(proposal.quorum),
        "flags": list(proposal.flags),
        "actions": [action_json(a) for a in proposal.actions],
    }


def concentration_json(view: GovernanceView) -> dict[str, Any]:
    c: Concentration = view.concentration
    return {
        "protocol": view.protocol,
        "chain_id": view.chain_id,
        "delegated_votes": str(c.total),
        "delegates": c.delegates,
        "top5": [{"delegate": d, "votes": str(v)} for d, v in c.top],
        "top5_share": _share(c.top_share),
        "nakamoto_coefficient": c.nakamoto,
    }
