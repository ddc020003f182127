"""Aave Governance V3's rules: the parsers against logs laid out by the address book's ABIs, the state mapping with
GovernanceCore's expiry boundary, honest unknowns without `getProposal`; governance alert rules on V3 proposals.

On the devnet (our GovernanceCore replica), a rule filtered on a flag fires for a V3 proposal at its creation,
queueing and execution, live (the indexer, its event collector and the alert engine, block by block) and in the
backtest at the same blocks: the payload list is read with getProposal at the creation block and kept with the
event, so the store alone flags the proposal from its creation on. A proposal whose payload is on another chain
gets the `unknown` flag with the reason."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from eth_abi import encode
from eth_utils import keccak

from defiscope.alerts import manage
from defiscope.alerts.backtest import backtest
from defiscope.alerts.engine import AlertEngine
from defiscope.alerts.figures import StoredFigures
from defiscope.alerts.rules import parse_rule
from defiscope.alerts.wiring import governance_source
from defiscope.chain.abi import checksum
from defiscope.chain.block import BlockRef
from defiscope.chain.client import ChainClient
from defiscope.deployments import Deployment
from defiscope.devnet import Devnet
from defiscope.devnet.aave_governance import delegate_address
from defiscope.devnet.aave_governance_v3 import COOLDOWN, EXECUTION_DELAYS, VOTING_CONFIGS
from defiscope.devnet.agents.aave_governance_v3 import AaveGovernanceV3Agents, LiveV3Proposal, governance_core
from defiscope.devnet.agents.wallet import Wallet
from defiscope.devnet.anvil import rpc, start_anvil
from defiscope.devnet.simulation import Simulation, SimulationConfig
from defiscope.devnet.state_dump import compact_dump, unpacked_state
from defiscope.governance.aave_v3 import (
    GOVERNOR_STATE,
    PROPOSAL_EXPIRATION_TIME,
    PayloadRef,
    ProposalFacts,
    V3Context,
    V3State,
    build_v3_proposals,
    payloads_unread,
    recorded_facts,
    v3_state,
)
from defiscope.governance.aave_v3_flags import flags_of_payloads, payload_index
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
    aave_governance_v3_streams,
    parse_aave_governance_v3_log,
)
from defiscope.protocols.events import StoredEvent
from defiscope.protocols.governors import GOVERNORS
from defiscope.service.events import EventCollector
from defiscope.service.indexer import ChainIndexer, Indexer
from defiscope.store import Repository
from defiscope.store.alerts import RuleStore, StoredRule
from defiscope.tvl.engine import TvlEngine
from tests.alerts.conftest import RecordingSink, add_key
from tests.governance.abi_logs import event_signature, real_event, real_log
from tests.governance.conftest import mine
from tests.service.conftest import make_engine, repo, sqlite_url  # noqa: F401  (fixtures reused)
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
    facts = {"7": ProposalFacts(CREATED_AT, refs, 0)}
    context = V3Context(1, CONTROLLER, {1: 320_000}, 86_400)
    head = BlockRef(1, 20, "0x" + "00" * 32, CREATED_AT + 10)
    (proposal,) = build_v3_proposals(_events(), block=head, facts=facts, context=context, decode=_decoder)
    assert proposal.state is ProposalState.PENDING
    assert proposal.quorum == 320_000 * 10**18
    (action,) = proposal.actions
    assert (action.function, action.flag) == ("setReserveFactor(address,uint256)", "parameter-change")
    assert "payload 3: created" in proposal.state_reason
    assert "payload 9 on chain 137's PayloadsController" in proposal.state_reason


def test_unknown_flags_say_why() -> None:
    """A payload on this chain whose PayloadCreated is not stored, and a ProposalCreated whose getProposal reverted
    when it was collected: `unknown`, each with its reason."""
    stored = payload_index([parse_aave_governance_v3_log(_payload(3, 15))])
    refs = (PayloadRef(1, 1, CONTROLLER, 3), PayloadRef(1, 1, "0x" + "ee" * 20, 5))
    flagged = flags_of_payloads(refs, 1, stored)
    assert flagged.flags == ("parameter-change", "unknown")
    (why,) = flagged.reasons
    assert why.startswith(f"payload 5 of PayloadsController 0x{'ee' * 20}: no PayloadCreated of it is stored")
    failed = {"block": 16, "success": False, "result": "execution reverted"}
    created = replace(_events()[1], payload={**_events()[1].payload, "payloads_call": failed})
    assert recorded_facts(created) is None
    assert payloads_unread(created) == "getProposal failed at block 16: execution reverted"


def _stored(kind: str, number: int, pid: int, payload: dict[str, Any]) -> StoredEvent:
    return StoredEvent(kind, number, block(number).hash, 0, f"0x{number:064x}", {"id": str(pid), **payload}, str(pid))


def _rule(flags: list[str]) -> StoredRule:
    params = {"chain": "ethereum", "events": ["created", "queued", "executed"], "flags": flags}
    return StoredRule("rul_v3", "k_owner1", "governance", 1, params, "0", 0, [], "whsec_x", 0, 0)


async def test_a_proposal_kept_without_its_payloads_is_flagged_unknown_until_executed(
    repo: Repository,  # noqa: F811
) -> None:
    """A ProposalCreated kept without its payload list (stored before they were read at creation): created and
    queued say `unknown` and why; the execution names the payloads (PayloadSent), whose actions give the flags."""
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
        (105, "aave:4:created", ["unknown"]),
        (115, "aave:4:queued", ["unknown"]),
        (125, "aave:4:executed", ["parameter-change"]),
    ]
    reasons = [b["data"]["evidence"].get("flag_reasons") for b in bodies if b["type"] == "alert.firing"]
    assert reasons == [["its payloads were not read when it was collected"]] * 2 + [None]
    flagged = await backtest(StoredFigures(repo.engine), _rule(["parameter-change"]), first, last, governance=source)
    assert [b["data"]["evidence"]["subject"] for b in flagged if b["type"] == "alert.firing"] == ["aave:4:executed"]


# ---------------------------------------------------------------- on the devnet

FOREIGN_CHAIN = 137  # Polygon: a PayloadsController we do not follow
FOREIGN_CONTROLLER = "0x" + "dd" * 20


@dataclass(slots=True)
class LiveRun:
    """The indexer with the alert engine as its hook (what `serve` runs), and what the sink was handed."""

    indexer: ChainIndexer
    sink: RecordingSink

    async def catch_up(self) -> None:
        await self.indexer.step(None)


@pytest.fixture
def chain_reverted(devnet: Devnet) -> Iterator[str]:
    url = devnet.chain(1).rpc_url
    snapshot = rpc(url, "evm_snapshot")
    try:
        yield url
    finally:
        assert rpc(url, "evm_revert", [snapshot]) is True


@pytest.fixture
async def live_engine(chain_reverted: str, deployment: Deployment) -> AsyncIterator[TvlEngine]:
    engine = make_engine(deployment, chain_reverted)
    yield engine
    await engine.client.aclose()


def _flag_rule(repo: Repository, owner: str, flags: list[str]) -> StoredRule:  # noqa: F811
    body = {
        "kind": "governance",
        "params": {
            "chain": "ethereum",
            "protocol": "aave",
            "events": ["created", "queued", "executed"],
            "flags": flags,
        },
        "confirmations": 0,
        "channels": [{"type": "webhook", "url": "https://hooks.example.org/v3"}],
    }
    stored, _secret = manage.create(parse_rule(body), owner)
    RuleStore(repo.engine).add(stored)
    return stored


def _propose_on_another_chain(sim: Simulation) -> int:
    """The largest delegate proposes a payload on another chain's PayloadsController (GovernanceCore accepts any
    chain; only that chain's controller holds the payload's actions)."""
    core = governance_core(sim)
    proposal_id = int(core.functions.getProposalsCount().call())
    proposer = Wallet(sim, delegate_address(0))
    reference = [(FOREIGN_CHAIN, 1, checksum(FOREIGN_CONTROLLER), 0)]
    portal = sim.chain.contracts["AaveVotingPortalEthEth"]
    assert proposer.send(core.functions.createProposal(reference, portal, keccak(text="Aave V3: on Polygon")))
    return proposal_id


async def _lifecycle(sim: Simulation, live: LiveRun) -> LiveV3Proposal:
    """The agent's first proposal (a reserve factor and a new risk admin) from creation to its payload's
    execution, every block indexed as it comes; the other-chain proposal made right after the first."""
    agents, rng = AaveGovernanceV3Agents(propose_every=10**6, doom_every=0), random.Random(3)
    waits = (
        VOTING_CONFIGS[0].cool_down_before_voting_start + 1,  # proposes; the vote's cool-down passes
        VOTING_CONFIGS[0].voting_duration + 1,  # activates the vote; its time passes
        COOLDOWN + 1,  # the result arrives: queued; the cool-down passes
        EXECUTION_DELAYS[1] + 1,  # executes the proposal (queues the payload); the executor's delay passes
        1,  # executes the payload
    )
    for tick, seconds in enumerate(waits):
        agents(sim, rng)
        if tick == 0:
            _propose_on_another_chain(sim)
        await live.catch_up()
        mine(sim.chain.rpc_url, 1, seconds=seconds)
        await live.catch_up()
    (proposal,) = agents.proposals
    assert proposal.payload_state == 3  # Executed
    return proposal


def _fired(bodies: list[dict[str, Any]]) -> list[tuple[str, int, str, list[str], list[str] | None]]:
    return [
        (
            b["data"]["rule_id"],
            b["data"]["block"]["number"],
            b["data"]["evidence"]["subject"],
            b["data"]["evidence"]["flags"],
            b["data"]["evidence"].get("flag_reasons"),
        )
        for b in bodies
        if b["type"] == "alert.firing"
    ]


async def test_a_flag_rule_fires_at_every_v3_stage_live_and_in_backtest(
    devnet: Devnet,
    live_engine: TvlEngine,
    repo: Repository,  # noqa: F811
) -> None:
    sim = Simulation(devnet.chain(1), SimulationConfig(seed=3, agents=()))
    owner = add_key(repo, "v3-rules").stored.key_id
    admin, unknown = _flag_rule(repo, owner, ["admin-change"]), _flag_rule(repo, owner, ["unknown"])
    sink = RecordingSink()
    alerts = AlertEngine(repo, sink, governance=governance_source(repo))
    live = LiveRun(Indexer({1: live_engine}, repo, hooks=(alerts,)).chains[1], sink)
    await live.catch_up()
    first = live.indexer.cursor
    assert first is not None
    proposal = await _lifecycle(sim, live)
    last = live.indexer.cursor
    assert last is not None

    keeper, pid = GOVERNORS["aave"].keeper, str(proposal.id)
    stage_blocks = {
        stage: next(e.block_number for e in repo.events(1, keeper, kind) if e.payload["id"] == pid)
        for stage, kind in (("created", V3_CREATED_KIND), ("queued", V3_QUEUED_KIND), ("executed", V3_EXECUTED_KIND))
    }
    (created,) = [e for e in repo.events(1, keeper, V3_CREATED_KIND) if e.payload["id"] == pid]
    call = created.payload["payloads_call"]  # the getProposal behind the list: at the creation block, by hash
    assert (call["block"], call["block_hash"], call["success"]) == (created.block_number, created.block_hash, True)
    assert "why_this_block" not in call
    assert created.payload["payloads"] == [
        {
            "chain": 1,
            "access_level": 1,
            "controller": sim.chain.contracts["AavePayloadsController"],
            "payload_id": proposal.payload_id,
        }
    ]
    flags = ["parameter-change", "admin-change"]  # a reserve factor and a new risk admin, in order
    foreign = str(proposal.id + 1)
    why = (
        f"payload 0 is on chain {FOREIGN_CHAIN}'s PayloadsController {checksum(FOREIGN_CONTROLLER)}, which is not "
        "followed: its actions are unknown"
    )
    foreign_created = next(
        e.block_number for e in repo.events(1, keeper, V3_CREATED_KIND) if e.payload["id"] == foreign
    )
    live_fired = [
        (rule.id, m.block_number, m.evidence["subject"], m.evidence["flags"], m.evidence.get("flag_reasons"))
        for m, _, _ in live.sink.given
        if m.type == "alert.firing"
        for rule in (admin, unknown)
        if m.rule_id == rule.id
    ]
    expected = sorted(
        [(admin.id, stage_blocks[s], f"aave:{pid}:{s}", flags, None) for s in ("created", "queued", "executed")]
        + [(unknown.id, foreign_created, f"aave:{foreign}:created", ["unknown"], [why])]
    )
    assert sorted(live_fired) == expected
    source = governance_source(repo)
    replayed = [
        fired
        for rule in (admin, unknown)
        for fired in _fired(await backtest(StoredFigures(repo.engine), rule, first, last, governance=source))
    ]
    assert sorted(replayed) == expected


async def test_a_node_without_the_creation_block_s_state_gives_the_payloads_at_the_scanned_block(
    devnet: Devnet,
    chain_reverted: str,
    repo: Repository,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A node that keeps the blocks but not their state (anvil reloaded from a dump, as a pruned node): getProposal
    at the creation block is refused, so the payload list (fixed at creation) is read at the scan's block, and
    the kept call says which block answered."""
    sim = Simulation(devnet.chain(1), SimulationConfig(seed=4, agents=()))
    made = AaveGovernanceV3Agents(propose_every=10**6).propose(sim, random.Random(4))
    assert made is not None
    mine(chain_reverted, 1)
    dump = tmp_path / "reloaded.json.gz"
    dump.write_bytes(compact_dump(chain_reverted))
    with unpacked_state(dump) as plain:
        reloaded = await asyncio.to_thread(start_anvil, 1, load_state=plain)
    try:
        async with ChainClient.connect(1, (reloaded.rpc_url,)) as client:
            head = (await client.block("latest")).number
            contracts = sim.chain.contracts
            streams = aave_governance_v3_streams(
                core=contracts["AaveGovernanceCore"],
                payloads_controller=contracts["AavePayloadsController"],
                start_block=head - 3,
                lookback=10**12,
            )
            await EventCollector(client, repo, [("aave-v3", s) for s in streams]).collect(head, strict=True)
    finally:
        reloaded.stop()
    (created,) = [e for e in repo.events(1, "aave-v3", V3_CREATED_KIND) if e.payload["id"] == str(made.id)]
    call = created.payload["payloads_call"]
    assert created.block_number < head, call
    assert (call["block"], call["success"]) == (head, True), call
    assert call["why_this_block"].startswith(f"the node serves no state at block {created.block_number};")
    assert [p["payload_id"] for p in created.payload["payloads"]] == [made.payload_id]
