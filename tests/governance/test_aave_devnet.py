"""Aave's governance read from the devnet equals what AaveGovernanceV2 says of itself: the state of every proposal
at every step (`getProposalState`, all eight states, Expired and Canceled among them), votes, start and end
blocks, execution time and quorum (`getProposalById`, the executor's `getMinimumVotingPowerNeeded` of the
strategy's supply), the actions decoded and flagged as the simulation proposed them (one sent with a
`signature`), the Core market really changed by the executed ones, and concentration against the AAVE token's
own `getPowerCurrent`. The CLI lists the same proposals in the same states."""

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
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction

from defiscope.cli import app
from defiscope.deployments import Deployment
from defiscope.devnet import Devnet
from defiscope.devnet.aave import aave_artifact
from defiscope.devnet.aave_governance import (
    EXECUTORS,
    GRACE_PERIOD,
    SHORT_DELAY,
    delegate_address,
    executor_artifact,
    governance_v2_artifact,
    token_artifact,
)
from defiscope.devnet.agents.aave_governance import (
    AaveAction,
    AaveGovernanceAgents,
    LiveAaveProposal,
    governor,
)
from defiscope.devnet.anvil import rpc
from defiscope.devnet.governance import DELEGATE_SHARES
from defiscope.devnet.simulation import Simulation, SimulationConfig
from defiscope.governance.load import stored_events
from defiscope.governance.state import ProposalState
from defiscope.protocols.aave_governance_events import VOTING_POWER
from defiscope.protocols.governors import GOVERNORS
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine
from tests.api.conftest import indexed_app
from tests.governance.chain_reads import proposal_states
from tests.governance.conftest import mine
from tests.governance.kit import collected, view_at
from tests.service.conftest import cli, devnet_home  # noqa: F401  (fixtures reused)

#: IAaveGovernanceV2.ProposalState, in its enum's order.
AAVE_STATES = (
    ProposalState.PENDING,
    ProposalState.CANCELED,
    ProposalState.ACTIVE,
    ProposalState.DEFEATED,  # Failed
    ProposalState.SUCCEEDED,
    ProposalState.QUEUED,
    ProposalState.EXPIRED,
    ProposalState.EXECUTED,
)
FLAG_OF_KIND = {
    "rate strategy": "parameter-change",
    "reserve factor": "parameter-change",
    "oracle": "oracle-change",
    "grant": "treasury-transfer",
    "risk admin": "admin-change",
}
VOTING_DURATION = EXECUTORS[0].voting_duration
SPEC = GOVERNORS["aave-v2"]


@dataclass(slots=True)
class AaveGoverned:
    sim: Simulation
    agents: AaveGovernanceAgents
    direct: list[LiveAaveProposal]  # made by hand: canceled, expired, left pending
    seen: list[tuple[int, dict[int, int]]]  # head block, proposal id -> getProposalState there

    @property
    def proposals(self) -> list[LiveAaveProposal]:
        return [*self.direct, *self.agents.proposals]

    @property
    def governance(self) -> Contract:
        return governor(self.sim)

    def record(self) -> None:
        head = self.sim.sender.w3.eth.block_number
        state = self.governance.functions.getProposalState
        self.seen.append((head, {p.id: state(p.id).call(block_identifier=head) for p in self.proposals}))

    def step(self, rng: random.Random, blocks: int, seconds: int = 0) -> None:
        """One agent tick (its transactions in one block), recorded, then `blocks` mined (`seconds` later)."""
        with self.sim.sender.block():
            self.agents(self.sim, rng)
        self.record()
        mine(self.sim.chain.rpc_url, blocks, seconds=seconds)
        self.record()


def _as_delegate(sim: Simulation, index: int, call: ContractFunction) -> None:
    holder = delegate_address(index)
    with sim.sender.impersonating(holder, gas_money=10**20):
        sim.sender.submit(call, sender=holder)


def _direct(governed: AaveGoverned, factor: int) -> LiveAaveProposal:
    """The largest delegate proposes a reserve factor for WETH (selector in the calldata, no signature)."""
    sim = governed.sim
    configurator = sim.sender.contract(
        aave_artifact("protocol/pool/PoolConfigurator"), sim.chain.contracts["AaveV3PoolConfigurator"]
    )
    args = [sim.chain.tokens["WETH"], factor]
    calldata = bytes.fromhex(configurator.encode_abi("setReserveFactor", args=args)[2:])
    governance = governed.governance.functions
    proposal_id = governance.getProposalsCount().call()
    executor = sim.chain.contracts["AaveShortExecutor"]
    ipfs = keccak(text=f"reserve factor {factor}")
    _as_delegate(sim, 0, governance.create(executor, [configurator.address], [0], [""], [calldata], [False], ipfs))
    proposal = LiveAaveProposal(
        proposal_id, ("reserve factor",), (AaveAction(configurator.address, "", calldata),), False
    )
    governed.direct.append(proposal)
    return proposal


def _expire(governed: AaveGoverned) -> None:
    """A proposal voted through and queued, then left: at eta + GRACE_PERIOD still Queued, a second later Expired."""
    url = governed.sim.chain.rpc_url
    governance = governed.governance.functions
    proposal = _direct(governed, 1300)
    mine(url, 2)
    with governed.sim.sender.block():  # the votes of one block: the vote lasts a few blocks
        for index in range(3):
            _as_delegate(governed.sim, index, governance.submitVote(proposal.id, True))
    mine(url, VOTING_DURATION + 1)
    governed.sim.sender.send(governance.queue(proposal.id))
    governed.record()
    execution_time = governance.getProposalById(proposal.id).call()[10]
    for timestamp in (execution_time + GRACE_PERIOD, execution_time + GRACE_PERIOD + 1):
        rpc(url, "evm_setNextBlockTimestamp", [timestamp])
        mine(url, 1)
        governed.record()


@pytest.fixture(scope="module")
def aave_governed(devnet: Devnet) -> Iterator[AaveGoverned]:
    chain = devnet.chain(1)
    url = chain.rpc_url
    snapshot = rpc(url, "evm_snapshot")
    try:
        sim = Simulation(chain, SimulationConfig(seed=13, agents=()))
        governed = AaveGoverned(sim, AaveGovernanceAgents(propose_every=4), [], [])
        rng = random.Random(13)
        canceled = _direct(governed, 1100)  # the guardian (the deployer) cancels it before the vote opens
        sim.sender.send(governed.governance.functions.cancel(canceled.id))
        governed.record()
        for _ in range(4):  # one proposal of the agent's cycle a round (the fourth is voted down)
            governed.step(rng, 2)  # proposes; the vote opens two blocks on
            governed.step(rng, VOTING_DURATION + 1)  # votes; the vote closes
            governed.step(rng, 1, seconds=SHORT_DELAY + 1)  # queues the succeeded; the delay passes
            governed.step(rng, 1)  # executes
        _expire(governed)
        _direct(governed, 1200)  # left Pending
        governed.record()
        yield governed
    finally:
        assert rpc(url, "evm_revert", [snapshot]) is True


@pytest.fixture
def kept(aave_governed: AaveGoverned, tmp_path: Path) -> Iterator[Repository]:
    repo = Repository.open(f"sqlite:///{tmp_path / 'aave-governance.db'}")
    yield repo
    repo.close()


@pytest.fixture
async def gov_engine(aave_governed: AaveGoverned, deployment: Deployment, kept: Repository) -> AsyncIterator[TvlEngine]:
    async with collected(
        deployment, aave_governed.sim.chain.rpc_url, kept, [SPEC.keeper], aave_governed.seen[-1][0]
    ) as engine:
        yield engine


async def test_state_equals_get_proposal_state_at_every_block(
    aave_governed: AaveGoverned, gov_engine: TvlEngine, kept: Repository
) -> None:
    """Every block from the first proposal to the head (each step's block among them), every proposal created by
    then: the view's state is the contract's, and all eight states occur."""
    governance = aave_governed.governance.functions
    first, head = aave_governed.seen[0][0], aave_governed.seen[-1][0]
    on_chain = proposal_states(aave_governed.sim.chain.rpc_url, governance, range(first, head + 1))
    events = stored_events(kept, 1, SPEC)
    covered: set[ProposalState] = set()
    viewed: dict[int, dict[int, int]] = {}
    for block, states in on_chain.items():
        view = await view_at(gov_engine, kept, SPEC, block, events)
        assert len(view.proposals) == len(states), block
        for proposal in view.proposals:
            assert proposal.state is not None, proposal.state_reason
            assert proposal.state is AAVE_STATES[states[int(proposal.id)]], (block, proposal.id)
            covered.add(proposal.state)
        viewed[block] = {int(p.id): AAVE_STATES.index(p.state) for p in view.proposals if p.state}
    assert covered == set(ProposalState)
    # The steps' records agree (read when each step was the head).
    for block, states in aave_governed.seen:
        assert viewed[block] == states, block
    assert governance.getProposalsCount().call(block_identifier=head) == len(on_chain[head])


async def test_votes_blocks_eta_and_quorum_equal_the_contracts(
    aave_governed: AaveGoverned, gov_engine: TvlEngine, kept: Repository
) -> None:
    head = aave_governed.seen[-1][0]
    w3 = aave_governed.sim.sender.w3
    strategy = aave_governed.sim.sender.contract(
        governance_v2_artifact("contracts/governance/GovernanceStrategy"),
        aave_governed.sim.chain.contracts["AaveGovernanceStrategy"],
    ).functions
    executor = aave_governed.sim.sender.contract(
        executor_artifact(), aave_governed.sim.chain.contracts["AaveShortExecutor"]
    ).functions
    view = await view_at(gov_engine, kept, SPEC, head)
    assert len(view.proposals) == len(aave_governed.proposals)
    for proposal in view.proposals:
        on_chain = aave_governed.governance.functions.getProposalById(int(proposal.id)).call(block_identifier=head)
        (_, creator, _, _, _, _, _, _, start, end, execution_time, for_votes, against, *_rest) = on_chain
        assert (proposal.tally.for_votes, proposal.tally.against, proposal.tally.abstain) == (for_votes, against, 0)
        assert (proposal.timeline.vote_start, proposal.timeline.vote_end) == (start, end)
        assert (proposal.timeline.eta or 0) == execution_time
        assert proposal.proposer == creator == delegate_address(0)
        if start < head:
            supply = strategy.getTotalVotingSupplyAt(start).call(block_identifier=head)
            assert proposal.quorum == executor.getMinimumVotingPowerNeeded(supply).call(block_identifier=head)
        else:
            assert proposal.quorum is None
        assert w3.is_checksum_address(proposal.proposer)


async def test_actions_are_decoded_and_flagged_as_proposed(
    aave_governed: AaveGoverned, gov_engine: TvlEngine, kept: Repository
) -> None:
    head = aave_governed.seen[-1][0]
    by_id = {str(p.id): p for p in aave_governed.proposals}
    kinds, signed = set(), 0
    for proposal in (await view_at(gov_engine, kept, SPEC, head)).proposals:
        made = by_id[proposal.id]
        assert len(proposal.actions) == len(made.actions)
        for action, kind, sent in zip(proposal.actions, made.kinds, made.actions, strict=True):
            assert (action.target, action.value) == (sent.target, sent.value)
            assert action.flag == FLAG_OF_KIND[kind], (kind, action.why)
            assert action.function is not None
            types = action.function[action.function.index("(") + 1 : -1].split(",")
            arguments = sent.calldata if sent.signature else sent.calldata[4:]
            if sent.signature:
                signed += 1
                assert action.function == sent.signature
            else:
                assert keccak(text=action.function)[:4] == sent.calldata[:4]
            decoded = eth_abi.decode(types, arguments)
            assert [a.value for a in action.arguments] == [_as_json(v) for v in decoded]
            kinds.add(kind)
    assert kinds == set(FLAG_OF_KIND)
    assert signed  # the reserve factor of the cycle went with its signature


def _as_json(value: object) -> object:
    if isinstance(value, str) and Web3.is_address(value):
        return Web3.to_checksum_address(value)
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


async def test_executed_proposals_changed_the_core_market(
    aave_governed: AaveGoverned, gov_engine: TvlEngine, kept: Repository
) -> None:
    head = aave_governed.seen[-1][0]
    sender, contracts = aave_governed.sim.sender, aave_governed.sim.chain.contracts
    executed = {}
    for proposal in (await view_at(gov_engine, kept, SPEC, head)).proposals:
        if proposal.state is ProposalState.EXECUTED:
            for action in proposal.actions:  # newest first: the newest executed change of each function
                executed.setdefault(action.function, action)
    pool = sender.contract(aave_artifact("protocol/pool/Pool"), contracts["AaveV3Pool"]).functions
    strategy = executed["setReserveInterestRateStrategyAddress(address,address)"]
    asset, address = (a.value for a in strategy.arguments)
    assert pool.getReserveData(asset).call(block_identifier=head)[11] == address  # interestRateStrategyAddress
    oracle = sender.contract(aave_artifact("misc/AaveOracle"), contracts["AaveV3Oracle"]).functions
    fallback = executed["setFallbackOracle(address)"]
    assert oracle.getFallbackOracle().call(block_identifier=head) == fallback.arguments[0].value
    acl = sender.contract(aave_artifact("protocol/configuration/ACLManager"), contracts["AaveV3ACLManager"]).functions
    assert acl.isRiskAdmin(executed["addRiskAdmin(address)"].arguments[0].value).call(block_identifier=head)
    grant = executed["transfer(address,uint256)"]
    token = sender.contract(token_artifact(), contracts["AaveGovernanceToken"]).functions
    grantee, amount = (a.value for a in grant.arguments)
    assert token.balanceOf(grantee).call(block_identifier=head) >= int(amount)
    factor = executed["setReserveFactor(address,uint256)"]
    data_provider = sender.contract(
        aave_artifact("misc/AaveProtocolDataProvider"), contracts["AaveV3ProtocolDataProvider"]
    ).functions
    reserve, bps = (a.value for a in factor.arguments)
    assert data_provider.getReserveConfigurationData(reserve).call(block_identifier=head)[4] == int(bps)


async def test_concentration_equals_the_tokens_power(
    aave_governed: AaveGoverned, gov_engine: TvlEngine, kept: Repository
) -> None:
    head = aave_governed.seen[-1][0]
    token = aave_governed.sim.sender.contract(
        token_artifact(), aave_governed.sim.chain.contracts["AaveGovernanceToken"]
    ).functions
    c = (await view_at(gov_engine, kept, SPEC, head)).concentration
    # Nobody delegates here: every holder's power is its own balance, checkpointed on each transfer, so the
    # powers add up to the supply.
    assert c.total == token.totalSupply().call(block_identifier=head)
    holders = {delegate_address(i) for i in range(len(DELEGATE_SHARES))}
    holders.add(aave_governed.sim.chain.contracts["AaveShortExecutor"])  # the treasury (the ecosystem reserve's)
    holders.add(aave_governed.sim.sender.owner)  # account 0: the market's circulating AAVE, the largest holder
    power = {h: token.getPowerCurrent(h, VOTING_POWER).call(block_identifier=head) for h in holders}
    assert c.top == tuple(sorted(power.items(), key=lambda kv: -kv[1])[:5])
    assert c.delegates >= len(holders)


def test_cli_lists_aave_proposals_in_the_contracts_state(
    aave_governed: AaveGoverned,
    cli: CliRunner,  # noqa: F811
    devnet_home: Path,  # noqa: F811
) -> None:
    result = cli.invoke(app, ["governance", "proposals", "--chain", "1", "--protocol", "aave-v2", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    expected = {
        str(p.id): AAVE_STATES[aave_governed.governance.functions.getProposalState(p.id).call()].value
        for p in aave_governed.proposals
    }
    assert {p["id"]: p["state"] for p in doc["proposals"]} == expected
    assert {p["protocol"] for p in doc["proposals"]} == {"aave-v2"}
    assert [c["protocol"] for c in doc["concentration"]] == ["aave-v2"]
    assert all(a["function"] and a["flag"] != "unknown" for p in doc["proposals"] for a in p["actions"])


def test_api_serves_aave_proposals_as_the_contract_states_them(
    aave_governed: AaveGoverned, devnet: Devnet, tmp_path: Path
) -> None:
    with indexed_app(devnet, f"sqlite:///{tmp_path / 'indexed.db'}") as indexed:
        body = indexed.client.get(
            "/v1/governance/proposals", params={"chain": "ethereum", "protocol": "aave-v2"}
        ).json()
        head = body["block"]["number"]
        state = aave_governed.governance.functions.getProposalState
        expected = {
            str(p.id): AAVE_STATES[state(p.id).call(block_identifier=head)].value for p in aave_governed.proposals
        }
        assert {p["id"]: p["state"] for p in body["proposals"]} == expected
        executed = [p for p in body["proposals"] if p["state"] == "Executed"]
        assert {a["target_name"] for p in executed for a in p["actions"]} >= {
            "AaveV3PoolConfigurator",
            "AaveV3Oracle",
            "AaveV3ACLManager",
            "AAVE",  # a grant: the governance token is the chain's one AAVE, named by its symbol
        }
        assert all(p["quorum"] is not None for p in body["proposals"] if p["state"] != "Pending")
        (aave,) = body["concentration"]
        assert (aave["protocol"], aave["unavailable"]) == ("aave-v2", None)
        # Account 0's ~25 % (the market's circulating AAVE), then the delegates' 20 and 15 % of the circulating.
        assert aave["nakamoto_coefficient"] == 3
