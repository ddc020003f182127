"""Aave Governance V2's rules without a chain: the vote differential with the contract's flooring, the strict
grace-period boundary, and the parsers against logs laid out by the real ABI (tests/fixtures/abi/aave)."""

from __future__ import annotations

import json

import pytest
from eth_abi import encode

from defiscope.chain.block import BlockRef
from defiscope.deployments.mainnet import mainnet
from defiscope.governance.document import concentration_json
from defiscope.governance.load import governance_view
from defiscope.governance.state import AAVE_V2, ProposalState, Tally, Timeline, VoteDifferential, proposal_state
from defiscope.protocols.aave_governance_events import (
    AAVE_GOVERNANCE_EVENTS,
    DELEGATED_POWER_CHANGED_EVENT,
    PROPOSITION_POWER_KIND,
    parse_aave_governance_log,
)
from defiscope.protocols.governor_events import (
    DELEGATE_VOTES_KIND,
    PROPOSAL_CREATED_KIND,
    PROPOSAL_QUEUED_KIND,
    VOTE_CAST_KIND,
)
from defiscope.protocols.governors import GOVERNORS, streams_of
from tests.governance.abi_logs import ABI_DIR, event_signature, real_event, real_log

S = ProposalState
SUPPLY = 16_000_000 * 10**18
SHORT = VoteDifferential(SUPPLY, 50)  # the short executor: 0.5 %
QUORUM = SUPPLY * 200 // 10_000  # 2 %


def _state(tally: Tally, *, block: int = 21, timestamp: int = 0, eta: int | None = None) -> ProposalState | None:
    timeline = Timeline(10, 20, eta=eta)
    return proposal_state(
        timeline, tally, quorum=QUORUM, block=block, timestamp=timestamp, rules=AAVE_V2, differential=SHORT
    )


@pytest.mark.parametrize(
    ("for_votes", "against", "expected"),
    [
        (QUORUM, 0, S.SUCCEEDED),
        (QUORUM - 1, 0, S.DEFEATED),  # below the quorum (for votes alone)
        # 10 % for against 9.5 %: 1000 > 950 + 50 fails, the margin must exceed the differential
        (SUPPLY // 10, SUPPLY * 95 // 1000, S.DEFEATED),
        (SUPPLY // 10, SUPPLY * 94 // 1000, S.SUCCEEDED),
        # each share is floored to a hundredth of a percent first: 10.0099 % is 1000, 9.4999 % is 949
        (SUPPLY * 100099 // 1000000, SUPPLY * 94999 // 1000000, S.SUCCEEDED),
        (SUPPLY * 100099 // 1000000, SUPPLY * 95 // 1000, S.DEFEATED),
    ],
)
def test_vote_differential_floors_as_the_validator(for_votes: int, against: int, expected: ProposalState) -> None:
    assert _state(Tally(for_votes, against, 0)) is expected


def test_expired_only_past_eta_plus_grace() -> None:
    grace = AAVE_V2.grace_period
    assert grace == 5 * 24 * 3600
    passed = Tally(QUORUM * 2, 0, 0)
    assert _state(passed, eta=1000, timestamp=1000 + grace) is S.QUEUED  # executeTransaction still accepts it
    assert _state(passed, eta=1000, timestamp=1000 + grace + 1) is S.EXPIRED


def test_without_the_differential_facts_the_state_is_not_guessed() -> None:
    timeline = Timeline(10, 20)
    tally = Tally(QUORUM, 0, 0)
    assert proposal_state(timeline, tally, quorum=QUORUM, block=21, timestamp=0, rules=AAVE_V2) is None
    assert proposal_state(timeline, tally, quorum=QUORUM, block=20, timestamp=0, rules=AAVE_V2) is S.ACTIVE


def test_declared_events_are_the_real_abis() -> None:
    governance = json.loads((ABI_DIR / "AaveGovernanceV2.json").read_text())
    real = {event_signature(e) for e in governance if e.get("type") == "event"}
    assert set(AAVE_GOVERNANCE_EVENTS) <= real
    assert event_signature(real_event("AaveTokenV2", "DelegatedPowerChanged")) == DELEGATED_POWER_CHANGED_EVENT


def test_proposal_created_is_normalised_to_the_governor_payload() -> None:
    creator, executor, target, strategy = ("0x" + c * 40 for c in "1234")
    log = real_log(
        "AaveGovernanceV2",
        "ProposalCreated",
        {
            "id": 7,
            "creator": creator,
            "executor": executor,
            "targets": [target],
            "values": [0],
            "signatures": ["setReserveFactor(address,uint256)"],
            "calldatas": [encode(["address", "uint256"], [target, 1500])],
            "withDelegatecalls": [False],
            "startBlock": 100,
            "endBlock": 160,
            "strategy": strategy,
            "ipfsHash": b"\x11" * 32,
        },
    )
    event = parse_aave_governance_log(log)
    p = event.payload
    assert (event.kind, event.key, p["id"]) == (PROPOSAL_CREATED_KIND, "7", "7")
    assert (p["proposer"].lower(), p["executor"].lower(), p["strategy"].lower()) == (creator, executor, strategy)
    assert (p["vote_start"], p["vote_end"], p["with_delegatecalls"]) == (100, 160, [False])
    assert p["signatures"] == ["setReserveFactor(address,uint256)"]
    assert p["calldatas"] == ["0x" + encode(["address", "uint256"], [target, 1500]).hex()]
    assert p["description"] == "IPFS 0x" + "11" * 32


def test_votes_queueing_and_power_are_normalised() -> None:
    voter = "0x" + "5" * 40
    vote = parse_aave_governance_log(
        real_log("AaveGovernanceV2", "VoteEmitted", {"id": 3, "voter": voter, "support": False, "votingPower": 9})
    )
    assert (vote.kind, vote.payload["support"], vote.payload["weight"]) == (VOTE_CAST_KIND, 0, "9")
    queued = parse_aave_governance_log(
        real_log("AaveGovernanceV2", "ProposalQueued", {"id": 3, "executionTime": 1234, "initiatorQueueing": voter})
    )
    assert (queued.kind, queued.payload["eta"]) == (PROPOSAL_QUEUED_KIND, 1234)
    kinds = [
        parse_aave_governance_log(
            real_log("AaveTokenV2", "DelegatedPowerChanged", {"user": voter, "amount": 5, "delegationType": t})
        ).kind
        for t in (0, 1)
    ]
    assert kinds == [DELEGATE_VOTES_KIND, PROPOSITION_POWER_KIND]


async def test_mainnet_concentration_says_why_it_is_missing() -> None:
    """Mainnet's AAVE no longer checkpoints voting power in events: no token stream, null figures with the reason."""
    deployment = mainnet(1)
    spec = GOVERNORS["aave-v2"]
    addresses = [s.address for s in streams_of(deployment, spec.keeper)]  # V3's core and controller too
    assert deployment.contracts[spec.governor] in addresses
    assert deployment.contracts[spec.token] not in addresses  # neither governance follows the token
    view = await governance_view([], BlockRef(1, 20_000_000, "0x" + "00" * 32, 0), deployment, spec, None)
    doc = concentration_json(view)
    assert doc["delegated_votes"] is None
    assert doc["unavailable"] is not None
    assert "DelegatedPowerChanged" in doc["unavailable"]
