"""Governance read from the devnet's chain equals what the Governors say of themselves, through the code, the
CLI and the API: states at every step (`state(id)`), votes (`proposalVotes`), quorums (`quorum(snapshot)`),
decoded actions equal to what the simulation proposed, flags, state really changed by executed proposals, and
voting-power concentration against the token's own `getVotes`. Bad input: CLI exit 2, API 4xx naming it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from defiscope.alerts.wiring import STAGE_KINDS, governance_source
from defiscope.cli import app
from defiscope.deployments import Deployment
from defiscope.devnet import Devnet
from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.governance import DELEGATE_SHARES, delegate_address
from defiscope.governance.state import ProposalState
from defiscope.protocols.governors import GOVERNOR, GOVERNORS
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine
from tests.api.conftest import indexed_app
from tests.governance.conftest import Governed
from tests.governance.hub import closed_port_url
from tests.governance.kit import collected, view_at
from tests.service.conftest import cli, devnet_home  # noqa: F401  (fixtures reused)

STATES = list(ProposalState)  # in IGovernor.ProposalState's order
#: The protocols governed by an OpenZeppelin Governor here (Aave's governance: test_aave_devnet.py).
OZ_GOVERNED = [protocol for protocol, spec in GOVERNORS.items() if spec.shape == GOVERNOR]
#: What each change of the simulation's cycle is flagged as.
FLAG_OF_KIND = {
    "oracle": "oracle-change",
    "rate model": "parameter-change",
    "admin": "admin-change",
    "upgrade": "upgrade",
    "collateral factor": "parameter-change",
    "grant": "treasury-transfer",
    "fee tier": "parameter-change",
    "close factor": "parameter-change",
}


@pytest.fixture
def kept(governed: Governed, tmp_path: Path) -> Iterator[Repository]:
    """A store holding the governance events, as the indexer keeps them (the adapters' streams)."""
    repo = Repository.open(f"sqlite:///{tmp_path / 'governance.db'}")
    yield repo
    repo.close()


@pytest.fixture
async def gov_engine(governed: Governed, deployment: Deployment, kept: Repository) -> AsyncIterator[TvlEngine]:
    async with collected(
        deployment, governed.sim.chain.rpc_url, kept, [spec.keeper for spec in GOVERNORS.values()], governed.seen[-1][0]
    ) as engine:
        yield engine


async def test_state_equals_the_governors_at_every_step(
    governed: Governed, gov_engine: TvlEngine, kept: Repository
) -> None:
    covered: set[ProposalState] = set()
    for block, states in governed.seen:
        for protocol in OZ_GOVERNED:
            view = await view_at(gov_engine, kept, GOVERNORS[protocol], block)
            for proposal in view.proposals:
                assert proposal.state is not None, proposal.state_reason
                assert STATES.index(proposal.state) == states[int(proposal.id)], (block, protocol, proposal.title)
                covered.add(proposal.state)
    # Expired cannot happen on OpenZeppelin's TimelockController (no grace period); Bravo's is unit-tested.
    assert covered == set(ProposalState) - {ProposalState.EXPIRED}


async def test_votes_quorum_and_eta_equal_the_governors(
    governed: Governed, gov_engine: TvlEngine, kept: Repository
) -> None:
    head = governed.seen[-1][0]
    for protocol in OZ_GOVERNED:
        governor = governed.governor(protocol.capitalize()).functions
        view = await view_at(gov_engine, kept, GOVERNORS[protocol], head)
        assert view.proposals
        for proposal in view.proposals:
            pid = int(proposal.id)
            against, for_votes, abstain = governor.proposalVotes(pid).call(block_identifier=head)
            assert (proposal.tally.for_votes, proposal.tally.against, proposal.tally.abstain) == (
                for_votes,
                against,
                abstain,
            )
            assert proposal.timeline.vote_start == governor.proposalSnapshot(pid).call(block_identifier=head)
            assert proposal.timeline.vote_end == governor.proposalDeadline(pid).call(block_identifier=head)
            eta = governor.proposalEta(pid).call(block_identifier=head)
            assert (proposal.timeline.eta or 0) == eta or proposal.state is ProposalState.EXECUTED
            if proposal.timeline.vote_start < head:
                assert proposal.quorum == governor.quorum(proposal.timeline.vote_start).call(block_identifier=head)
            else:
                assert proposal.quorum is None  # quorum(timepoint) refuses a timepoint not yet past
            assert proposal.proposer == delegate_address(protocol.capitalize(), 0)


async def test_actions_are_decoded_and_flagged_as_proposed(
    governed: Governed, gov_engine: TvlEngine, kept: Repository
) -> None:
    head = governed.seen[-1][0]
    by_id = {str(p.id): p for p in governed.proposals}
    kinds = set()
    for protocol in OZ_GOVERNED:
        for proposal in (await view_at(gov_engine, kept, GOVERNORS[protocol], head)).proposals:
            made = by_id[proposal.id]
            assert len(proposal.actions) == len(made.kinds)
            for action, kind, target, calldata in zip(
                proposal.actions, made.kinds, made.targets, made.calldatas, strict=True
            ):
                assert action.target == target
                assert action.flag == FLAG_OF_KIND[kind], (kind, action.why)
                contract = governed.sim.sender.w3.eth.contract(abi=_abi_of(action.target_name))
                function, arguments = contract.decode_function_input(calldata)
                assert action.function is not None
                assert action.function.startswith(function.fn_name + "(")
                # Names come from the first ABI we hold with the selector (`dst` for WETH's transfer): values count.
                assert len(action.arguments) == len(arguments)
                assert [a.value for a in action.arguments] == [_as_json(v) for v in arguments.values()]
                kinds.add(kind)
    assert kinds == set(FLAG_OF_KIND)  # every change of both cycles was proposed


def _abi_of(registry_name: str | None) -> list[dict[str, object]]:
    assert registry_name is not None
    if registry_name == "UniswapV3Factory":
        return list(npm_artifact("UniswapV3Factory").abi)
    # A grant's target is the governed token, which the registry lists as a token (by symbol) too.
    if registry_name.endswith("GovernanceToken") or registry_name in ("COMP", "UNI"):
        return list(contract_artifact("GovernanceToken").abi)
    if registry_name.startswith("CompoundV2cToken:"):
        return list(contract_artifact("CErc20").abi)
    # The Comptroller's address is its Unitroller: the proxy's own functions, then the implementation's.
    entries = [*contract_artifact("Unitroller").abi, *contract_artifact("Comptroller").abi]
    seen: set[str] = set()
    unique = []
    for entry in entries:
        key = f"{entry.get('type')} {entry.get('name')} {[i['type'] for i in entry.get('inputs', [])]}"
        if key not in seen:
            seen.add(key)
            unique.append(entry)
    return unique


def _as_json(value: object) -> object:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


async def test_executed_proposals_changed_the_protocols(
    governed: Governed, gov_engine: TvlEngine, kept: Repository
) -> None:
    head = governed.seen[-1][0]
    comptroller = governed.sim.sender.contract(
        contract_artifact("Comptroller"), governed.sim.chain.contracts["CompoundV2Comptroller"]
    ).functions
    executed = {}
    for protocol in OZ_GOVERNED:
        for proposal in (await view_at(gov_engine, kept, GOVERNORS[protocol], head)).proposals:
            if proposal.state is ProposalState.EXECUTED:
                # Newest first: keep the newest executed change of each function.
                for action in proposal.actions:
                    executed.setdefault(action.function, action)
    oracle = executed["_setPriceOracle(address)"]
    assert comptroller.oracle().call() == oracle.arguments[0].value
    # The new oracle was handed to the community multisig as the first one was, and prices every market alike.
    new_oracle = governed.sim.sender.contract(contract_artifact("CompoundV2Oracle"), oracle.arguments[0].value)
    assert new_oracle.functions.owner().call() == governed.sim.chain.contracts["CompoundPauseGuardian"]
    ctokens = [a for n, a in governed.sim.chain.contracts.items() if n.startswith("CompoundV2cToken:")]
    assert all(new_oracle.functions.getUnderlyingPrice(c).call() > 0 for c in ctokens)
    implementation = executed["_setPendingImplementation(address)"]
    assert comptroller.pendingComptrollerImplementation().call() == implementation.arguments[0].value
    admin = executed["_setPendingAdmin(address)"]
    assert comptroller.pendingAdmin().call() == admin.arguments[0].value
    assert comptroller.admin().call() == governed.sim.chain.contracts["CompoundTimelock"]
    model = executed["_setInterestRateModel(address)"]
    ctoken = governed.sim.sender.contract(contract_artifact("CErc20"), model.target).functions
    assert ctoken.interestRateModel().call() == model.arguments[0].value
    tier = executed["enableFeeAmount(uint24,int24)"]
    factory = governed.sim.sender.contract(npm_artifact("UniswapV3Factory"), tier.target).functions
    assert factory.feeAmountTickSpacing(int(tier.arguments[0].value)).call() == int(tier.arguments[1].value)


async def test_concentration_equals_the_tokens_votes(
    governed: Governed, gov_engine: TvlEngine, kept: Repository
) -> None:
    head = governed.seen[-1][0]
    for protocol in OZ_GOVERNED:
        name = protocol.capitalize()
        token = governed.sim.sender.contract(
            contract_artifact("GovernanceToken"), governed.sim.chain.contracts[f"{name}GovernanceToken"]
        ).functions
        votes = {
            delegate_address(name, i): token.getVotes(delegate_address(name, i)).call(block_identifier=head)
            for i in range(len(DELEGATE_SHARES))
        }
        ranked = sorted(votes.values(), reverse=True)
        total = sum(ranked)
        c = (await view_at(gov_engine, kept, GOVERNORS[protocol], head)).concentration
        assert c.total == total
        assert c.delegates == len(votes)
        assert c.top == tuple(sorted(votes.items(), key=lambda kv: -kv[1])[:5])
        assert c.top_share is not None
        assert c.top_share * total == sum(ranked[:5])
        half = next(n for n in range(1, len(ranked) + 1) if 2 * sum(ranked[:n]) > total)
        assert c.nakamoto == half


def _governors_states(governed: Governed) -> dict[str, str]:
    """Each proposal's state as its Governor gives it at the head."""
    return {
        str(p.id): STATES[governed.governor(p.protocol).functions.state(p.id).call()].value for p in governed.proposals
    }


def test_cli_lists_every_proposal_in_the_governors_state(
    governed: Governed,
    cli: CliRunner,  # noqa: F811
    devnet_home: Path,  # noqa: F811
) -> None:
    result = cli.invoke(app, ["governance", "proposals", "--chain", "1", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert {p["id"]: p["state"] for p in doc["proposals"]} == _governors_states(governed)
    assert {c["protocol"] for c in doc["concentration"]} == set(GOVERNORS)
    executed = [p for p in doc["proposals"] if p["state"] == "Executed"]
    assert executed
    assert all(a["function"] and a["flag"] != "unknown" for p in executed for a in p["actions"])

    only = cli.invoke(app, ["governance", "proposals", "--protocol", "uniswap", "--state", "executed", "--json"])
    assert only.exit_code == 0, only.output
    listed = json.loads(only.stdout)["proposals"]
    assert listed
    assert {(p["protocol"], p["state"]) for p in listed} == {("uniswap", "Executed")}


def test_cli_with_snapshot_offline_lists_the_chain_then_exits_1(
    governed: Governed,
    cli: CliRunner,  # noqa: F811
    devnet_home: Path,  # noqa: F811
) -> None:
    url = closed_port_url()
    env = {"DEFISCOPE_SNAPSHOT_ENABLED": "1", "DEFISCOPE_SNAPSHOT_URL": url, "DEFISCOPE_SNAPSHOT_MAX_ATTEMPTS": "1"}
    result = cli.invoke(app, ["governance", "proposals", "--chain", "1", "--json"], env=env)
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert {p["id"]: p["state"] for p in doc["proposals"]} == _governors_states(governed)
    assert [(s["source"], s["status"]) for s in doc["sources"]] == [("chain", "ok"), ("snapshot", "failed")]
    (line,) = result.stderr.strip().splitlines()
    assert f"cannot reach {url.split('/')[2]}" in line
    assert "--source chain" in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--protocol", "sushi"], "error: unknown governed protocol 'sushi'"),
        (["--state", "Finished"], "error: unknown proposal state 'Finished'"),
        (["--chain", "56", "--protocol", "compound"], "error: no governor of compound on chain 56"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(
    cli: CliRunner,  # noqa: F811
    devnet_home: Path,  # noqa: F811
    args: list[str],
    message: str,
) -> None:
    result = cli.invoke(app, ["governance", "proposals", *args])
    assert result.exit_code == 2
    assert result.stderr.startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1


def test_api_serves_the_indexed_proposals(governed: Governed, devnet: Devnet, tmp_path: Path) -> None:
    with indexed_app(devnet, f"sqlite:///{tmp_path / 'indexed.db'}") as indexed:
        body = indexed.client.get("/v1/governance/proposals", params={"chain": "ethereum"}).json()
        assert {p["id"]: p["state"] for p in body["proposals"]} == _governors_states(governed)
        assert body["block"]["number"] == governed.sim.sender.w3.eth.block_number
        oracle = next(a for p in body["proposals"] for a in p["actions"] if a["flag"] == "oracle-change")
        assert oracle["function"] == "_setPriceOracle(address)"
        assert oracle["target_name"] == "CompoundV2Comptroller"
        assert all(p["quorum"] is not None for p in body["proposals"] if p["state"] != "Pending")
        (compound,) = [c for c in body["concentration"] if c["protocol"] == "compound"]
        assert compound["nakamoto_coefficient"] == 3  # 20 + 15 + 12 of 74 delegated
        assert compound["top5_share"] == f"{65 / 74:.6f}"

        for params, field in (
            ({"state": "nope"}, "state"),
            ({"protocol": "x"}, "protocol"),
            ({"chain": "zz"}, "chain"),
        ):
            refused = indexed.client.get("/v1/governance/proposals", params=params)
            assert refused.status_code in (404, 422), refused.text
            assert field in json.dumps(refused.json())


async def test_governance_rules_see_each_stage_with_its_flags(
    governed: Governed, gov_engine: TvlEngine, kept: Repository
) -> None:
    """The alert engine's governance source: at each block where a proposal was created, queued or executed, that
    stage with the flags of the actions it carries; nothing at other blocks."""
    by_id = {str(p.id): p for p in governed.proposals}
    source = governance_source(kept)
    stages_seen = set()
    for protocol, spec in GOVERNORS.items():
        for stage, kind in STAGE_KINDS.items():
            for event in kept.events(1, spec.keeper, kind):
                at = event.block_number
                found = [e for e in source(1, at, at)[at] if e.proposal_id == str(event.payload["id"])]
                assert [e.event for e in found if e.event == stage] == [stage]
                (mine,) = [e for e in found if e.event == stage]
                made = by_id[mine.proposal_id]
                assert (mine.protocol, mine.tx_hash) == (protocol, event.tx_hash)
                assert set(mine.flags) == {FLAG_OF_KIND[k] for k in made.kinds}
                stages_seen.add(stage)
    assert stages_seen == {"created", "queued", "executed"}
    staged = {
        e.block_number
        for spec in GOVERNORS.values()
        for kind in STAGE_KINDS.values()
        for e in kept.events(1, spec.keeper, kind)
    }
    quiet = next(n for n in range(min(staged), max(staged)) if n not in staged)
    assert quiet not in source(1, quiet, quiet)
