"""Aave Governance V3 without a chain: the parsers against logs laid out by the address book's ABIs, the state
mapping with GovernanceCore's expiry boundary, honest unknowns without `getProposal`, and a governance alert rule
firing on V3's created, queued and executed stages (a backtest over stored events)."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import encode

from defiscope.alerts.engine import backtest
from defiscope.alerts.figures import StoredFigures
from defiscope.alerts.wiring import governance_source
from defiscope.chain.block import BlockRef
from defiscope.governance.aave_v3 import (
    GOVERNOR_STATE,
    PROPOSAL_EXPIRATION_TIME,
    PayloadRef,
    ProposalFacts,
    V3Context,
    V3State,
    build_v3_proposals,
    v3_state,
)
from defiscope.governance.actions import decode_action
from defiscope.governance.load import abi_library
from defiscope.governance.state import ProposalState
from defiscope.protocols.aave_governance_v3_events import (
    GOVERNANCE_CORE_EVENTS,
    PAYLOAD_CREATED_KIND,
    PAYLOADS_CONTROLLER_EVENTS,
    V3_CREATED_KIND,
    V3_EXECUTED_KIND,
    V3_PAYLOAD_SENT_KIND,
    V3_QUEUED_KIND,
    parse_aave_governance_v3_log,
)
from defiscope.protocols.events import StoredEvent
from defiscope.protocols.governors import GOVERNORS
from defiscope.store import Repository
from defiscope.store.alerts import StoredRule
from tests.governance.abi_logs import event_signature, real_event, real_log
from tests.service.conftest import repo, sqlite_url  # noqa: F401  (fixtures reused)
from tests.store.storekit import block, make_snapshot

CONTROLLER = "0x" + "cc" * 20
CONFIGURATOR = "0x" + "11" * 20
CREATOR = "0x" + "22" * 20
CREATED_AT = 1_700_000_000


def _decoder(target: str, value: int, signature: str, data: str) -> Any:
    return decode_action(abi_library(), {}, target, value, signature, data)


def test_declared_events_are_the_address_books() -> None:
    core = {event_signature(real_event("IGovernanceCore", e.split("(")[0])) for e in GOVERNANCE_CORE_EVENTS}
    controller = {
        event_signature(real_event("IPayloadsControllerCore", e.split("(")[0])) for e in PAYLOADS_CONTROLLER_EVENTS
    }
    assert (core, controller) == (set(GOVERNANCE_CORE_EVENTS), set(PAYLOADS_CONTROLLER_EVENTS))


def _created(pid: int, number: int) -> dict[str, Any]:
    values = {"proposalId": pid, "creator": CREATOR, "accessLevel": 1, "ipfsHash": b"\x11" * 32}
    return real_log("IGovernanceCore", "ProposalCreated", values, block=number)


def _payload(payload_id: int, number: int) -> dict[str, Any]:
    # PoolConfigurator.setReserveFactor(asset, 1500) with the function in `signature`.
    action = (
        CONFIGURATOR,
        False,
        1,
        0,
        "setReserveFactor(address,uint256)",
        encode(["address", "uint256"], [CREATOR, 1500]),
    )
    values = {"payloadId": payload_id, "creator": CREATOR, "actions": [action], "maximumAccessLevelRequired": 1}
    return real_log("IPayloadsControllerCore", "PayloadCreated", values, block=number, address=CONTROLLER)


def test_parsers_read_the_real_layout() -> None:
    created = parse_aave_governance_v3_log(_created(7, 16))
    assert (created.kind, created.key) == (V3_CREATED_KIND, "7")
    assert created.payload["proposer"].lower() == CREATOR
    assert (created.payload["access_level"], created.payload["ipfs_hash"]) == (1, "0x" + "11" * 32)
    queued = parse_aave_governance_v3_log(
        real_log("IGovernanceCore", "ProposalQueued", {"proposalId": 7, "votesFor": 9, "votesAgainst": 2})
    )
    assert (queued.kind, queued.payload["for"], queued.payload["against"]) == (V3_QUEUED_KIND, "9", "2")
    payload = parse_aave_governance_v3_log(_payload(3, 15))
    (action,) = payload.payload["actions"]
    assert (payload.kind, payload.key, payload.payload["controller"].lower()) == (PAYLOAD_CREATED_KIND, "3", CONTROLLER)
    assert (action["target"].lower(), action["signature"], action["access_level"]) == (
        CONFIGURATOR,
        "setReserveFactor(address,uint256)",
        1,
    )
    sent = parse_aave_governance_v3_log(
        real_log(
            "IGovernanceCore",
            "PayloadSent",
            {
                "proposalId": 7,
                "payloadId": 3,
                "payloadsController": CONTROLLER,
                "chainId": 1,
                "payloadNumberOnProposal": 0,
                "numberOfPayloadsOnProposal": 1,
            },
        )
    )
    assert (sent.payload["payload_id"], sent.payload["chain_id"], sent.key) == (3, 1, "7:0")


@pytest.mark.parametrize(
    ("recorded", "seconds_after_creation", "expected"),
    [
        (V3State.CREATED, PROPOSAL_EXPIRATION_TIME, V3State.CREATED),  # `>` in _getProposalState: not yet
        (V3State.CREATED, PROPOSAL_EXPIRATION_TIME + 1, V3State.EXPIRED),
        (V3State.ACTIVE, PROPOSAL_EXPIRATION_TIME + 1, V3State.EXPIRED),  # a result that never came back
        (V3State.QUEUED, PROPOSAL_EXPIRATION_TIME + 1, V3State.EXPIRED),  # queued but never executed
        (V3State.EXECUTED, PROPOSAL_EXPIRATION_TIME + 1, V3State.EXECUTED),  # final states stand
        (V3State.FAILED, PROPOSAL_EXPIRATION_TIME + 1, V3State.FAILED),
    ],
)
def test_expiry_as_governance_core(recorded: int, seconds_after_creation: int, expected: int) -> None:
    timestamp = CREATED_AT + seconds_after_creation
    assert v3_state(recorded, creation_time=CREATED_AT, timestamp=timestamp) == expected


def test_state_names_map_onto_the_governors() -> None:
    assert GOVERNOR_STATE[V3State.CREATED] is ProposalState.PENDING
    assert GOVERNOR_STATE[V3State.FAILED] is ProposalState.DEFEATED
    assert ProposalState.SUCCEEDED not in GOVERNOR_STATE.values()


def _events() -> list[StoredEvent]:
    return [parse_aave_governance_v3_log(_payload(3, 15)), parse_aave_governance_v3_log(_created(7, 16))]


def test_without_get_proposal_nothing_is_guessed() -> None:
    context = V3Context(1, CONTROLLER, {}, None)
    head = BlockRef(1, 20, "0x" + "00" * 32, CREATED_AT + 10)
    (proposal,) = build_v3_proposals(_events(), block=head, facts={}, context=context, decode=_decoder)
    assert proposal.state is None
    assert "creation time could not be read" in proposal.state_reason
    assert "payloads could not be read" in proposal.state_reason
    assert (proposal.quorum, proposal.actions) == (None, ())


def test_payload_actions_are_decoded_and_foreign_payloads_named() -> None:
    refs = (PayloadRef(1, 1, CONTROLLER, 3), PayloadRef(137, 1, "0x" + "dd" * 20, 9))
    facts = {"7": ProposalFacts(CREATED_AT, 0, 0, refs)}
    context = V3Context(1, CONTROLLER, {1: 320_000}, 86_400)
    head = BlockRef(1, 20, "0x" + "00" * 32, CREATED_AT + 10)
    (proposal,) = build_v3_proposals(_events(), block=head, facts=facts, context=context, decode=_decoder)
    assert proposal.state is ProposalState.PENDING
    assert proposal.quorum == 320_000 * 10**18
    (action,) = proposal.actions
    assert (action.function, action.flag) == ("setReserveFactor(address,uint256)", "parameter-change")
    assert "payload 3: created" in proposal.state_reason
    assert "payload 9 on chain 137's PayloadsController" in proposal.state_reason


def _stored(kind: str, number: int, pid: int, payload: dict[str, Any]) -> StoredEvent:
    return StoredEvent(kind, number, block(number).hash, 0, f"0x{number:064x}", {"id": str(pid), **payload}, str(pid))


def _rule(flags: list[str]) -> StoredRule:
    params = {"chain": "ethereum", "events": ["created", "queued", "executed"], "flags": flags}
    return StoredRule("rul_v3", "k_owner1", "governance", 1, params, "0", 0, [], "whsec_x", 0, 0)


async def test_a_governance_rule_fires_on_v3_stages(repo: Repository) -> None:  # noqa: F811
    """Created, queued and executed fire; only the execution names the payloads (PayloadSent), so only it
    carries their flags, and a rule on a flag fires there alone."""
    first, last = 100, 130
    repo.save_snapshots([make_snapshot("treasury", block(n)) for n in range(first, last + 1)])
    keeper = GOVERNORS["aave"].keeper
    created = {"proposer": CREATOR, "access_level": 1, "ipfs_hash": "0x" + "11" * 32, "description": "IPFS"}
    sent = {"payload_id": 3, "payloads_controller": CONTROLLER, "chain_id": 1, "number": 0, "of": 1}
    repo.save_events(
        1,
        keeper,
        [
            parse_aave_governance_v3_log(_payload(3, 101)),
            _stored(V3_CREATED_KIND, 105, 4, created),
            _stored(V3_QUEUED_KIND, 115, 4, {"for": "9", "against": "1"}),
            _stored(V3_PAYLOAD_SENT_KIND, 125, 4, sent),
            _stored(V3_EXECUTED_KIND, 125, 4, {}),
        ],
    )
    source = governance_source(repo)
    bodies = await backtest(StoredFigures(repo.engine), _rule([]), first, last, governance=source)
    fired = [
        (b["data"]["block"]["number"], b["data"]["evidence"]["subject"], b["data"]["evidence"]["flags"])
        for b in bodies
        if b["type"] == "alert.firing"
    ]
    assert fired == [
        (105, "aave:4:created", []),
        (115, "aave:4:queued", []),
        (125, "aave:4:executed", ["parameter-change"]),
    ]
    flagged = await backtest(StoredFigures(repo.engine), _rule(["parameter-change"]), first, last, governance=source)
    assert [b["data"]["evidence"]["subject"] for b in flagged if b["type"] == "alert.firing"] == ["aave:4:executed"]
