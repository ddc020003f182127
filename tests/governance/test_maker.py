"""Maker's spells read from the devnet's chain equal what the chief, the pause and the spells say of themselves.

The simulation's Maker agent writes, votes for, lifts, schedules and casts spells (one in four is backed by the
small voters only and expires); then one scheduled spell's plan is dropped by a hat lifted for that. At every
block of the run the view's state of each spell must follow from the chain's own `hat` (and the hats before it),
`done`, `eta`, `expiration` and the pause's `plans`; its approval must equal `approvals(spell)` and the voting
power each voter's `deposits`. Actions are decoded and flagged as written, and cast spells changed the Jug, Vat.
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_abi import encode
from eth_utils import keccak
from typer.testing import CliRunner
from web3.contract import Contract

from defiscope.alerts.wiring import STAGE_KINDS, governance_source
from defiscope.chain.block import BlockRef
from defiscope.cli import app
from defiscope.deployments import Deployment
from defiscope.devnet import Devnet
from defiscope.devnet.agents.maker_governance import MakerGovernanceAgents
from defiscope.devnet.anvil import rpc
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.maker_governance import PAUSE_DELAY, VOTER_SHARES, voter_address
from defiscope.devnet.simulation import Simulation, SimulationConfig
from defiscope.governance.document import proposal_json
from defiscope.governance.load import governance_view, stored_events
from defiscope.governance.state import ProposalState
from defiscope.protocols.governors import GOVERNORS
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine
from tests.api.conftest import indexed_app
from tests.governance.chain_reads import calls_at, calls_at_blocks, timestamps
from tests.governance.kit import collected, view_at
from tests.service.conftest import cli, devnet_home  # noqa: F401  (fixtures reused)

SPEC = GOVERNORS["maker"]
FLAG_OF_KIND = {"stability fee": "parameter-change", "debt ceiling": "parameter-change", "ward": "admin-change"}
DROPPER_NAME = "maker dropper"


@dataclass(slots=True)
class MakerRun:
    sim: Simulation
    agents: MakerGovernanceAgents
    first_block: int
    head: int
    dropped: str  # the spell whose plan was dropped
    dropper: str  # the account lifted to the hat to drop it

    def contract(self, artifact: str, address: str) -> Contract:
        return self.sim.sender.contract(contract_artifact(artifact), address)

    @property
    def chief(self) -> Contract:
        return self.contract("DSChief", self.sim.chain.contracts["MakerChief"])

    @property
    def spells(self) -> list[str]:
        return [s.address for s in self.agents.spells]


def _tick(sim: Simulation, agents: MakerGovernanceAgents, rng: random.Random, seconds: int) -> None:
    agents(sim, rng)
    rpc(sim.chain.rpc_url, "evm_increaseTime", [seconds])
    rpc(sim.chain.rpc_url, "anvil_mine", ["0x2"])


def _drop_the_next_spell(sim: Simulation, agents: MakerGovernanceAgents, rng: random.Random) -> tuple[str, str]:
    """The agent writes a spell and runs until it is scheduled; then the large voters lift an account to the hat,
    which drops the spell's plan from the pause (DSPause.drop is the hat's, as plot is)."""
    agents.spell_every = 10**6
    agents._write(sim, rng)
    live = agents.spells[-1]
    spell = sim.sender.contract(contract_artifact("DssSpell"), live.address)
    while spell.functions.eta().call() == 0:
        agents(sim, rng)  # votes, lifts, schedules: seconds apart, well inside the pause's delay
    live.finished = True  # the agent leaves it alone now
    chief = sim.sender.contract(contract_artifact("DSChief"), sim.chain.contracts["MakerChief"])
    dropper = sim.sender.w3.to_checksum_address(keccak(text=DROPPER_NAME)[12:])
    vote = chief.get_function_by_signature("vote(address[])")
    for index in (0, 1, 2, 3):
        with sim.sender.impersonating(voter_address(index)):
            sim.sender.send(vote([dropper]), sender=voter_address(index))
    sim.sender.send(chief.functions.lift(dropper))
    pause = sim.sender.contract(contract_artifact("DSPause"), sim.chain.contracts["MakerPause"])
    f = spell.functions
    with sim.sender.impersonating(dropper, gas_money=10**18):
        sim.sender.send(
            pause.functions.drop(f.action().call(), f.tag().call(), f.sig().call(), f.eta().call()), sender=dropper
        )
    return live.address, dropper


@pytest.fixture(scope="module")
def maker_run(devnet: Devnet) -> Iterator[MakerRun]:
    chain = devnet.chain(1)
    url = chain.rpc_url
    snapshot = rpc(url, "evm_snapshot")
    try:
        sim = Simulation(chain, SimulationConfig(seed=5, agents=()))
        agents = MakerGovernanceAgents(spell_every=3, lifetime=90)
        rng = random.Random(5)
        first = sim.sender.w3.eth.block_number
        for _ in range(18):
            _tick(sim, agents, rng, seconds=PAUSE_DELAY // 2)
        dropped, dropper = _drop_the_next_spell(sim, agents, rng)
        rpc(url, "anvil_mine", ["0x1"])
        yield MakerRun(sim, agents, first, sim.sender.w3.eth.block_number, dropped, dropper)
    finally:
        assert rpc(url, "evm_revert", [snapshot]) is True


@pytest.fixture
async def maker_engine(
    maker_run: MakerRun, deployment: Deployment, tmp_path: Path
) -> AsyncIterator[tuple[TvlEngine, Repository]]:
    repo = Repository.open(f"sqlite:///{tmp_path / 'maker.db'}")
    try:
        async with collected(deployment, maker_run.sim.chain.rpc_url, repo, [SPEC.keeper], maker_run.head) as engine:
            yield engine, repo
    finally:
        repo.close()


@dataclass(frozen=True, slots=True)
class MakerFigures:
    """The chief's, the spells' and the pause's own answers at every block of the run. `done` and `eta` are None
    where the spell is not deployed yet; `plan_kept` is read where the spell has an eta."""

    timestamp: dict[int, int]
    hat: dict[int, str]
    approvals: dict[tuple[int, str], int]
    done: dict[tuple[int, str], bool | None]
    eta: dict[tuple[int, str], int | None]
    plan_kept: dict[tuple[int, str], bool]
    expiration: dict[str, int]
    deposits: dict[int, int]  # the voters' total

    def state(self, spell: str, block: int, hats: set[str]) -> ProposalState:
        """The spell's state from the chain's own figures at `block` (and the hats seen up to it)."""
        if self.done[block, spell]:
            return ProposalState.EXECUTED
        if self.eta[block, spell]:
            return ProposalState.QUEUED if self.plan_kept[block, spell] else ProposalState.CANCELED
        if self.timestamp[block] > self.expiration[spell]:
            return ProposalState.EXPIRED
        return ProposalState.SUCCEEDED if spell in hats else ProposalState.ACTIVE


def _figures(run: MakerRun) -> MakerFigures:
    """Every block of the run, read in a few JSON-RPC batches (a web3 call for each took minutes)."""
    url, chief, blocks = run.sim.chain.rpc_url, run.chief.functions, range(run.first_block, run.head + 1)
    spells = {s: run.contract("DssSpell", s).functions for s in run.spells}
    voters = [voter_address(i) for i in range(7)]
    read = calls_at_blocks(
        url,
        blocks,
        {
            ("hat", ""): chief.hat(),
            **{("approvals", s): chief.approvals(s) for s in spells},
            **{("done", s): f.done() for s, f in spells.items()},
            **{("eta", s): f.eta() for s, f in spells.items()},
            **{("deposits", v): chief.deposits(v) for v in voters},
        },
    )
    eta = {(block, s): read[block, ("eta", s)] for block in blocks for s in spells}
    # A spell's action, tag, sig and expiration never change: read at the head.
    constant = calls_at_blocks(
        url,
        [run.head],
        {(name, s): getattr(f, name)() for s, f in spells.items() for name in ("action", "tag", "sig", "expiration")},
    )
    plan_of = {s: tuple(constant[run.head, (name, s)] for name in ("action", "tag", "sig")) for s in spells}
    return MakerFigures(
        timestamp=dict(zip(blocks, timestamps(url, blocks), strict=True)),
        hat={block: read[block, ("hat", "")] for block in blocks},
        approvals={(block, s): read[block, ("approvals", s)] for block in blocks for s in spells},
        done={(block, s): read[block, ("done", s)] for block in blocks for s in spells},
        eta=eta,
        plan_kept=_plans_kept(run, eta, plan_of),
        expiration={s: constant[run.head, ("expiration", s)] for s in spells},
        deposits={block: sum(read[block, ("deposits", v)] for v in voters) for block in blocks},
    )


def _plans_kept(
    run: MakerRun, eta: dict[tuple[int, str], int | None], plan_of: dict[str, tuple[Any, ...]]
) -> dict[tuple[int, str], bool]:
    """Whether the pause still holds each scheduled spell's plan (usr, tag, fax, eta), where it has an eta."""
    pause = run.contract("DSPause", run.sim.chain.contracts["MakerPause"]).functions
    scheduled = [(block, spell, when) for (block, spell), when in eta.items() if when]
    types = ["address", "bytes32", "bytes", "uint256"]
    plans = [(pause.plans(keccak(encode(types, [*plan_of[s], when]))), block) for block, s, when in scheduled]
    kept = calls_at(run.sim.chain.rpc_url, plans)
    return {(block, spell): bool(k) for (block, spell, _), k in zip(scheduled, kept, strict=True)}


async def test_state_and_approval_equal_the_chain_at_every_block(
    maker_run: MakerRun, maker_engine: tuple[TvlEngine, Repository]
) -> None:
    engine, repo = maker_engine
    chain = _figures(maker_run)
    events = stored_events(repo, 1, SPEC)
    hats: set[str] = set()
    covered: set[ProposalState] = set()
    for block in range(maker_run.first_block, maker_run.head + 1):
        hats.add(chain.hat[block])
        view = await view_at(engine, repo, SPEC, block, events)
        listed = {p.id: p for p in view.proposals}
        for spell in maker_run.spells:
            approval = chain.approvals[block, spell]
            if spell not in listed:
                assert approval == 0, (block, spell)  # not in any slate yet
                continue
            proposal = listed[spell]
            assert proposal.tally.for_votes == approval, (block, spell)
            expected = chain.state(spell, block, hats)
            assert proposal.state is expected, (block, spell, proposal.state_reason)
            covered.add(expected)
        assert view.concentration.total == chain.deposits[block]
    assert covered == set(ProposalState) - {ProposalState.PENDING, ProposalState.DEFEATED}


async def test_actions_decoded_flagged_and_cast_spells_changed_the_system(
    maker_run: MakerRun, maker_engine: tuple[TvlEngine, Repository]
) -> None:
    engine, repo = maker_engine
    view = await view_at(engine, repo, SPEC, maker_run.head)
    listed = {p.id: p for p in view.proposals}
    jug = maker_run.contract("Jug", maker_run.sim.chain.contracts["MakerJug"]).functions
    vat = maker_run.contract("Vat", maker_run.sim.chain.contracts["MakerVat"]).functions
    changed: set[tuple[str, str]] = set()
    for live in reversed(maker_run.agents.spells):  # newest first: a later cast may overwrite an older one's value
        proposal = listed[live.address]
        assert proposal.description == live.title
        (action,) = proposal.actions
        spell = maker_run.contract("DssSpell", live.address).functions
        assert action.target == spell.action().call() == maker_run.sim.chain.contracts["MakerGovActions"]
        assert action.target_name == "MakerGovActions"
        assert action.calldata == "0x" + spell.sig().call().hex()
        assert action.flag == FLAG_OF_KIND[live.kind], action.why
        target, first, *rest = [a.value for a in action.arguments]
        if proposal.state is not ProposalState.EXECUTED or (live.kind, first) in changed:
            continue
        changed.add((live.kind, first))
        if live.kind == "stability fee":
            assert target == maker_run.sim.chain.contracts["MakerJug"]
            assert str(jug.ilks(bytes.fromhex(first[2:])).call()[0]) == rest[1]
        elif live.kind == "debt ceiling":
            assert target == maker_run.sim.chain.contracts["MakerVat"]
            assert str(vat.ilks(bytes.fromhex(first[2:])).call()[3]) == rest[1]
        else:
            assert jug.wards(first).call() == 1
    assert {kind for kind, _ in changed} == set(FLAG_OF_KIND)


async def test_the_dropped_spell_is_canceled_and_the_account_hat_has_no_facts(
    maker_run: MakerRun, maker_engine: tuple[TvlEngine, Repository]
) -> None:
    engine, repo = maker_engine
    view = await view_at(engine, repo, SPEC, maker_run.head)
    listed = {p.id: p for p in view.proposals}
    assert listed[maker_run.dropped].state is ProposalState.CANCELED
    account = listed[maker_run.dropper]
    assert account.state is None
    assert "expiration could not be read" in account.state_reason
    assert account.actions == ()
    doc = proposal_json(view, listed[maker_run.dropped])
    assert doc["counting"] == "approval"
    assert (doc["votes"]["against"], doc["votes"]["abstain"], doc["vote_end"], doc["quorum"]) == (
        None,
        None,
        None,
        None,
    )
    assert doc["eta"] == maker_run.contract("DssSpell", maker_run.dropped).functions.eta().call()
    power = view.concentration
    chief = maker_run.chief.functions
    votes = {voter_address(i): chief.deposits(voter_address(i)).call() for i in range(len(VOTER_SHARES))}
    assert power.total == sum(votes.values())
    assert power.top == tuple(sorted(((v, w) for v, w in votes.items() if w), key=lambda kv: -kv[1])[:5])


async def test_without_a_chain_connection_unsettled_spells_say_why(
    maker_run: MakerRun, maker_engine: tuple[TvlEngine, Repository]
) -> None:
    engine, repo = maker_engine
    snapshot = await engine.client.snapshot(maker_run.head)
    block: BlockRef = snapshot.block
    view = await governance_view(stored_events(repo, 1, SPEC), block, engine.deployment, SPEC, None)
    for proposal in view.proposals:
        if proposal.state is None:
            assert "could not be read" in proposal.state_reason
        else:
            assert proposal.state in (ProposalState.QUEUED, ProposalState.EXECUTED, ProposalState.CANCELED)
    assert any(p.state is None for p in view.proposals)


def _chain_states(run: MakerRun) -> dict[str, str]:
    """Each spell's state from the chain's own figures at the head (hats: every block of the run)."""
    chain = _figures(run)
    hats = set(chain.hat.values())
    return {s: chain.state(s, run.head, hats).value for s in run.spells}


def test_cli_and_api_list_the_spells_in_the_chains_state(
    maker_run: MakerRun,
    devnet: Devnet,
    cli: CliRunner,  # noqa: F811
    devnet_home: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    expected = _chain_states(maker_run) | {maker_run.dropper: None}
    result = cli.invoke(app, ["governance", "proposals", "--chain", "1", "--protocol", "maker", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)["proposals"]
    assert {p["id"]: p["state"] for p in listed} == expected
    assert all(p["counting"] == "approval" and p["votes"]["against"] is None for p in listed)
    text = cli.invoke(app, ["governance", "proposals", "--chain", "1", "--protocol", "maker", "--state", "queued"])
    assert text.exit_code == 0, text.output
    assert text.stdout.count("Queued") == list(expected.values()).count("Queued")
    with indexed_app(devnet, f"sqlite:///{tmp_path / 'indexed.db'}") as indexed:
        body = indexed.client.get("/v1/governance/proposals", params={"chain": "ethereum", "protocol": "maker"})
        assert body.status_code == 200, body.text
        assert {p["id"]: p["state"] for p in body.json()["proposals"]} == expected
        flags = {f for p in body.json()["proposals"] for f in p["flags"]}
        assert flags == {"parameter-change", "admin-change"}


async def test_governance_rules_see_spells_queued_and_executed_with_their_flags(
    maker_run: MakerRun, maker_engine: tuple[TvlEngine, Repository]
) -> None:
    """The alert engine's governance source: a spell's schedule is its `queued` stage and its cast `executed`,
    each with the flag of the plan's action. (A spell has no creation event: `created` is not staged.)"""
    _, repo = maker_engine
    kinds = {s.address: s.kind for s in maker_run.agents.spells}
    source = governance_source(repo)
    seen = set()
    for stage in ("queued", "executed"):
        for event in repo.events(1, SPEC.keeper, STAGE_KINDS[stage]):
            at = event.block_number
            found = [e for e in source(1, at, at)[at] if e.proposal_id == event.payload["id"]]
            (mine,) = [e for e in found if e.event == stage]
            assert (mine.protocol, mine.tx_hash) == ("maker", event.tx_hash)
            assert mine.flags == (FLAG_OF_KIND[kinds[mine.proposal_id]],)
            seen.add(stage)
    assert seen == {"queued", "executed"}
