"""Aave Governance V3 read from the devnet equals what our GovernanceCore replica says of itself: every proposal's
state at every block (`getProposalState`, mapped onto the Governor's states: Pending, Active, Queued, Executed,
Defeated, Canceled, Expired all occur), the delivered result, the quorum (the access level's yes threshold) and the
execution time (`getProposal`), the payloads' actions decoded and flagged as the simulation proposed them (one
sent with a `signature`), the Core market really changed by the executed payloads; the CLI lists the same
proposals, and the governance alerts' source sees their creation, queueing and execution, flagged at each from the
payload list kept with the creation (read once there: the view asks getProposal only of queued proposals)."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import eth_abi
import pytest
from eth_utils import keccak
from typer.testing import CliRunner
from web3.contract import Contract
from web3.exceptions import ContractLogicError

from defiscope.alerts.wiring import governance_source
from defiscope.chain.reader import Batcher
from defiscope.cli import app
from defiscope.deployments import Deployment
from defiscope.devnet import Devnet
from defiscope.devnet.aave import aave_artifact
from defiscope.devnet.aave_governance import delegate_address
from defiscope.devnet.aave_governance_v3 import COOLDOWN, EXECUTION_DELAYS, VOTING_CONFIGS
from defiscope.devnet.agents.aave_governance_v3 import (
    AaveGovernanceV3Agents,
    LiveV3Proposal,
    governance_core,
    payloads_controller,
)
from defiscope.devnet.anvil import rpc
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.simulation import Simulation, SimulationConfig
from defiscope.governance.aave_v3 import GOVERNOR_STATE, PROPOSAL_EXPIRATION_TIME
from defiscope.governance.load import governance_view, stored_events
from defiscope.governance.state import ProposalState
from defiscope.protocols.aave_governance_v3_events import V3_CREATED_KIND
from defiscope.protocols.governors import GOVERNORS
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine
from tests.governance.chain_reads import proposal_states
from tests.governance.conftest import mine
from tests.governance.kit import collected, view_at
from tests.service.conftest import cli, devnet_home  # noqa: F401  (fixtures reused)

SPEC = GOVERNORS["aave"]
FLAG_OF_KIND = {"reserve factor": "parameter-change", "risk admin": "admin-change", "oracle": "oracle-change"}
VOTING_DURATION = VOTING_CONFIGS[0].voting_duration
COOL_DOWN_BEFORE_VOTE = VOTING_CONFIGS[0].cool_down_before_voting_start


@dataclass(slots=True)
class V3Governed:
    sim: Simulation
    agents: AaveGovernanceV3Agents
    direct: list[int]  # proposal ids made by hand: canceled, expired, left pending
    seen: list[tuple[int, dict[int, int]]]  # head block, proposal id -> getProposalState there

    @property
    def core(self) -> Contract:
        return governance_core(self.sim)

    def ids(self) -> list[int]:
        return [*self.direct, *(p.id for p in self.agents.proposals)]

    def record(self) -> None:
        head = self.sim.sender.w3.eth.block_number
        state = self.core.functions.getProposalState
        self.seen.append((head, {pid: state(pid).call(block_identifier=head) for pid in self.ids()}))

    def step(self, rng: random.Random, seconds: int) -> None:
        """One agent tick, recorded, then a block `seconds` later."""
        self.agents(self.sim, rng)
        self.record()
        mine(self.sim.chain.rpc_url, 1, seconds=seconds)
        self.record()

    def propose_directly(self) -> int:
        """The largest delegate registers a risk-admin payload and proposes it (left to the test to move)."""
        sim, rng = self.sim, random.Random(len(self.direct))
        agents = AaveGovernanceV3Agents(doom_every=0, proposals=[])
        made = agents.propose(sim, rng)
        assert made is not None
        self.direct.append(made.id)
        return made.id


@pytest.fixture(scope="module")
def v3_governed(devnet: Devnet) -> Iterator[V3Governed]:
    chain = devnet.chain(1)
    url = chain.rpc_url
    snapshot = rpc(url, "evm_snapshot")
    try:
        sim = Simulation(chain, SimulationConfig(seed=17, agents=()))
        governed = V3Governed(sim, AaveGovernanceV3Agents(propose_every=5), [], [])
        rng = random.Random(17)
        canceled = governed.propose_directly()  # the guardian (the deployer) cancels it before the vote
        sim.sender.send(governed.core.functions.cancelProposal(canceled))
        governed.record()
        for _ in range(3):  # one proposal a round; the third fails
            governed.step(rng, COOL_DOWN_BEFORE_VOTE + 1)  # proposes; its cool-down passes
            governed.step(rng, VOTING_DURATION + 1)  # activates the vote; the vote's time passes
            governed.step(rng, COOLDOWN + 1)  # the result arrives: queued (or failed); the cool-down passes
            governed.step(rng, EXECUTION_DELAYS[1] + 1)  # executes the proposal: the payload is queued
            governed.step(rng, 1)  # executes the payload
        governed.propose_directly()  # left Created: expires 30 days on
        mine(url, 1, seconds=PROPOSAL_EXPIRATION_TIME + 1)
        governed.record()
        governed.propose_directly()  # left Pending
        governed.record()
        yield governed
    finally:
        assert rpc(url, "evm_revert", [snapshot]) is True


@pytest.fixture
def kept(v3_governed: V3Governed, tmp_path: Path) -> Iterator[Repository]:
    repo = Repository.open(f"sqlite:///{tmp_path / 'aave-v3-governance.db'}")
    yield repo
    repo.close()


@pytest.fixture
async def gov_engine(v3_governed: V3Governed, deployment: Deployment, kept: Repository) -> AsyncIterator[TvlEngine]:
    async with collected(
        deployment, v3_governed.sim.chain.rpc_url, kept, [SPEC.keeper], v3_governed.seen[-1][0]
    ) as engine:
        yield engine


async def test_state_equals_get_proposal_state_at_every_block(
    v3_governed: V3Governed, gov_engine: TvlEngine, kept: Repository
) -> None:
    first, head = v3_governed.seen[0][0], v3_governed.seen[-1][0]
    on_chain = proposal_states(v3_governed.sim.chain.rpc_url, v3_governed.core.functions, range(first, head + 1))
    events = stored_events(kept, 1, SPEC)
    covered: set[ProposalState] = set()
    viewed: dict[int, dict[int, ProposalState | None]] = {}
    for block, states in on_chain.items():
        view = await view_at(gov_engine, kept, SPEC, block, events)
        assert len(view.proposals) == len(states), block
        for proposal in view.proposals:
            on_chain_state = GOVERNOR_STATE[states[int(proposal.id)]]
            assert proposal.state is on_chain_state, (block, proposal.id, proposal.state_reason)
            covered.add(proposal.state)
        viewed[block] = {int(p.id): p.state for p in view.proposals}
    assert covered == set(ProposalState) - {ProposalState.SUCCEEDED}  # V3 queues a passing vote at once
    for block, states in v3_governed.seen:  # read when each step was the head
        assert viewed[block] == {pid: GOVERNOR_STATE[state] for pid, state in states.items()}, block


async def test_result_quorum_and_execution_time_equal_the_contracts(
    v3_governed: V3Governed, gov_engine: TvlEngine, kept: Repository
) -> None:
    head = v3_governed.seen[-1][0]
    core = v3_governed.core.functions
    view = await view_at(gov_engine, kept, SPEC, head)
    assert len(view.proposals) == len(v3_governed.ids())
    for proposal in view.proposals:
        stored = core.getProposal(int(proposal.id)).call(block_identifier=head)
        state, level, queuing_time, creator, for_votes, against = (stored[i] for i in (0, 1, 5, 7, 11, 12))
        assert (proposal.tally.for_votes, proposal.tally.against) == (for_votes, against)
        assert proposal.proposer == creator == delegate_address(0)
        threshold = core.getVotingConfig(level).call(block_identifier=head)[2]
        assert proposal.quorum == threshold * 10**18
        expected_eta = queuing_time + COOLDOWN if GOVERNOR_STATE[state] is ProposalState.QUEUED else None
        assert proposal.timeline.eta == expected_eta
    doc_states = {p.state for p in view.proposals}
    assert ProposalState.DEFEATED in doc_states  # the doomed one's result: against beat for


async def test_the_view_reads_get_proposal_only_where_the_kept_facts_fall_short(
    v3_governed: V3Governed, gov_engine: TvlEngine, kept: Repository
) -> None:
    """Creation times and payloads are kept with each ProposalCreated (read at its block, by hash): at every
    recorded block the view asks getProposal only of the proposals queued there (their queuing time)."""
    events = stored_events(kept, 1, SPEC)
    created = [e for e in events if e.kind == V3_CREATED_KIND]
    assert len(created) == len(v3_governed.ids())
    for event in created:
        call = event.payload["payloads_call"]
        assert (call["block"], call["block_hash"], call["success"]) == (event.block_number, event.block_hash, True)
    queued_reads = 0
    for block, _states in v3_governed.seen:
        snapshot = await gov_engine.client.snapshot(block)
        reader = Batcher(snapshot).reader("test")
        view = await governance_view(events, snapshot.block, gov_engine.deployment, SPEC, reader)
        asked = {str(r.call.args[0]) for r in reader.records if r.call.function.name == "getProposal"}
        assert asked == {p.id for p in view.proposals if p.state is ProposalState.QUEUED}
        queued_reads += len(asked)
    assert queued_reads  # some blocks had a queued proposal


async def test_payload_actions_are_decoded_and_flagged_as_proposed(
    v3_governed: V3Governed, gov_engine: TvlEngine, kept: Repository
) -> None:
    head = v3_governed.seen[-1][0]
    by_id: dict[str, LiveV3Proposal] = {str(p.id): p for p in v3_governed.agents.proposals}
    kinds, signed = set(), 0
    for proposal in (await view_at(gov_engine, kept, SPEC, head)).proposals:
        made = by_id.get(proposal.id)
        if made is None:
            continue  # the direct ones (the same payload shape as the agent's first)
        assert len(proposal.actions) == len(made.actions)
        for action, kind, sent in zip(proposal.actions, made.kinds, made.actions, strict=True):
            assert (action.target, action.value) == (sent.target, sent.value)
            assert action.flag == FLAG_OF_KIND[kind], (kind, action.why)
            assert "access level 1" in action.why
            assert action.function is not None
            if sent.signature:
                signed += 1
                assert action.function == sent.signature
            else:
                assert keccak(text=action.function)[:4] == sent.calldata[:4]
            kinds.add(kind)
        assert "payload" in proposal.state_reason
    assert kinds == set(FLAG_OF_KIND)
    assert signed


async def test_executed_payloads_changed_the_core_market(
    v3_governed: V3Governed, gov_engine: TvlEngine, kept: Repository
) -> None:
    head = v3_governed.seen[-1][0]
    sender, contracts = v3_governed.sim.sender, v3_governed.sim.chain.contracts
    controller = payloads_controller(v3_governed.sim).functions
    executed = {}
    for proposal in (await view_at(gov_engine, kept, SPEC, head)).proposals:
        if proposal.state is ProposalState.EXECUTED:
            assert "executed" in proposal.state_reason  # the payload's own execution, after the proposal's
            for action in proposal.actions:
                executed.setdefault(action.function, action)
    made = {p.payload_id: p for p in v3_governed.agents.proposals}
    assert any(controller.getPayloadState(pid).call(block_identifier=head) == 3 for pid in made)  # Executed
    acl = sender.contract(aave_artifact("protocol/configuration/ACLManager"), contracts["AaveV3ACLManager"]).functions
    assert acl.isRiskAdmin(executed["addRiskAdmin(address)"].arguments[0].value).call(block_identifier=head)
    factor = executed["setReserveFactor(address,uint256)"]
    data_provider = sender.contract(
        aave_artifact("misc/AaveProtocolDataProvider"), contracts["AaveV3ProtocolDataProvider"]
    ).functions
    reserve, bps = (a.value for a in factor.arguments)
    assert data_provider.getReserveConfigurationData(reserve).call(block_identifier=head)[4] == int(bps)
    oracle = sender.contract(aave_artifact("misc/AaveOracle"), contracts["AaveV3Oracle"]).functions
    assert (
        oracle.getFallbackOracle().call(block_identifier=head)
        == executed["setFallbackOracle(address)"].arguments[0].value
    )


async def test_alert_source_sees_v3_creation_queueing_and_execution(
    v3_governed: V3Governed, gov_engine: TvlEngine, kept: Repository
) -> None:
    head = v3_governed.seen[-1][0]
    span = governance_source(kept)(1, 1, head)  # from genesis: the first direct proposal came before any record
    assert span is not None
    staged = {(e.proposal_id, e.event) for events in span.values() for e in events if e.protocol == "aave"}
    executed = [p for p in v3_governed.agents.proposals if p.payload_state == 3]
    assert executed
    for proposal in executed:
        assert {(str(proposal.id), s) for s in ("created", "queued", "executed")} <= staged
    flags = {(e.proposal_id, e.event): e.flags for events in span.values() for e in events}
    for proposal in executed:  # the payloads kept at creation, whose actions give the flags at every stage
        for stage in ("created", "queued", "executed"):
            assert set(flags[(str(proposal.id), stage)]) == {FLAG_OF_KIND[kind] for kind in proposal.kinds}
    assert {(str(pid), "created") for pid in v3_governed.direct} <= staged


def test_cli_lists_v3_proposals_in_the_contracts_state(
    v3_governed: V3Governed,
    cli: CliRunner,  # noqa: F811
    devnet_home: Path,  # noqa: F811
) -> None:
    result = cli.invoke(app, ["governance", "proposals", "--chain", "1", "--protocol", "aave", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    state = v3_governed.core.functions.getProposalState
    expected = {str(pid): GOVERNOR_STATE[state(pid).call()].value for pid in v3_governed.ids()}
    assert {p["id"]: p["state"] for p in doc["proposals"]} == expected
    assert {p["protocol"] for p in doc["proposals"]} == {"aave"}
    assert {(p["votes"]["abstain"], p["votes"]["voters"], p["counting"]) for p in doc["proposals"]} == {
        (None, None, "voting-machine-result")
    }
    assert all(a["function"] and a["flag"] != "unknown" for p in doc["proposals"] for a in p["actions"])
    (aave,) = doc["concentration"]
    assert aave["unavailable"] is not None
    assert aave["delegated_votes"] is None


def test_access_control_is_the_real_contracts(v3_governed: V3Governed) -> None:
    """Only the proposal's voting portal queues it, only the guardian cancels a payload, only the
    PayloadsController drives an executor, only the bridge (here the governance) queues a payload."""
    sim = v3_governed.sim
    stranger = delegate_address(1)
    core = v3_governed.core.functions
    pending = core.getProposalsCount().call() - 1  # the last direct one: Created, never activated
    with pytest.raises(ContractLogicError, match="CALLER_NOT_A_VALID_VOTING_PORTAL"):
        core.queueProposal(pending, 10**24, 0).call({"from": sim.sender.owner})
    controller = payloads_controller(sim).functions
    last_payload = controller.getPayloadsCount().call() - 1
    with pytest.raises(ContractLogicError, match="ONLY_BY_GUARDIAN"):
        controller.cancelPayload(last_payload).call({"from": stranger})
    message = eth_abi.encode(["uint40", "uint8", "uint40"], [last_payload, 1, 2**40 - 1])
    with pytest.raises(ContractLogicError, match="WRONG_MESSAGE_ORIGIN"):
        controller.receiveCrossChainMessage(v3_governed.core.address, 1, message).call({"from": stranger})
    executor = sim.sender.contract(contract_artifact("AaveExecutor"), sim.chain.contracts["AaveExecutorLvl1"])
    with pytest.raises(ContractLogicError, match="caller is not the owner"):
        executor.functions.executeTransaction(stranger, 0, "", b"", False).call({"from": stranger})
