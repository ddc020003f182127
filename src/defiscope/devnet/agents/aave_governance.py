"""Aave's governance as a simulation agent: AAVE delegates create, vote, queue and execute proposals on
AaveGovernanceV2 through the short executor, which administers the Core market.

Example::

    aave = AaveGovernanceAgents()
    sim = Simulation(devnet.chain(1), SimulationConfig(seed=7, agents=(aave,)))
    sim.run(20)
    aave.proposals[0].kinds                      # ("rate strategy", "reserve factor")

Every `propose_every` ticks (and on the first) the largest delegate creates the next proposal of `CHANGES`: a
new interest rate strategy and a reserve factor for a Core reserve; the oracle's fallback and a grant from the
executor's AAVE; a new risk admin. The reserve factor is sent as Aave V2 proposals often were, with the
function in `signature` and only the arguments in the calldata. Each tick every live proposal moves on from
its state on chain: the delegates vote while Active (every fourth proposal meets a majority against and
Fails), anyone queues it once Succeeded and executes it once its execution time has passed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import eth_abi
from eth_utils import keccak
from web3.contract import Contract

from defiscope.devnet.aave import MARKETS_BY_CHAIN, aave_artifact
from defiscope.devnet.aave_governance import SEED, delegate_address, governor_artifact, token_artifact
from defiscope.devnet.agents.wallet import GAS_MONEY, Wallet, calldata
from defiscope.devnet.governance import DELEGATE_SHARES
from defiscope.devnet.seeding import seed_address

if TYPE_CHECKING:
    from defiscope.devnet.simulation import Simulation

#: IAaveGovernanceV2.ProposalState values (another order than IGovernor's; Failed is Defeated).
PENDING, CANCELED, ACTIVE, FAILED, SUCCEEDED, QUEUED, EXPIRED, EXECUTED = range(8)
FINAL: Final = (CANCELED, FAILED, EXPIRED, EXECUTED)


@dataclass(frozen=True, slots=True)
class AaveAction:
    target: str
    signature: str  # "" when the selector leads the calldata
    calldata: bytes
    value: int = 0


@dataclass(slots=True)
class LiveAaveProposal:
    id: int
    kinds: tuple[str, ...]  # one per action
    actions: tuple[AaveAction, ...]
    doomed: bool  # the delegates vote it down
    voted: set[str] = field(default_factory=set)
    state: int = PENDING


def _core(sim: Simulation, name: str, artifact: str) -> Contract:
    return sim.sender.contract(aave_artifact(artifact), sim.chain.contracts[f"AaveV3{name}"])


def _configurator(sim: Simulation) -> Contract:
    return _core(sim, "PoolConfigurator", "protocol/pool/PoolConfigurator")


def _rate_strategy(sim: Simulation, rng: random.Random) -> list[AaveAction]:
    """A DefaultReserveInterestRateStrategy with a steeper slope above the kink for one Core reserve."""
    reserve = rng.choice(MARKETS_BY_CHAIN[1][0].reserves)
    steeper = reserve.slope2 * rng.choice((11, 12, 15)) // 10
    strategy = sim.sender.deploy(
        aave_artifact("protocol/pool/DefaultReserveInterestRateStrategy"),
        sim.chain.contracts["AaveV3PoolAddressesProvider"],
        reserve.optimal_usage,
        reserve.base_rate,
        reserve.slope1,
        steeper,
        reserve.stable_slope1,
        reserve.stable_slope2,
        reserve.base_stable_offset,
        reserve.stable_excess_offset,
        reserve.optimal_stable_ratio,
    )
    configurator = _configurator(sim)
    asset = sim.chain.tokens[reserve.symbol]
    encoded = calldata(configurator, "setReserveInterestRateStrategyAddress", asset, strategy.address)
    return [AaveAction(configurator.address, "", encoded)]


def _reserve_factor(sim: Simulation, rng: random.Random) -> list[AaveAction]:
    """A reserve factor (basis points), with the function in `signature` and the arguments alone as calldata."""
    reserve = rng.choice(MARKETS_BY_CHAIN[1][0].reserves)
    factor = rng.choice((1000, 1500, 2000, 2500))
    arguments = eth_abi.encode(["address", "uint256"], [sim.chain.tokens[reserve.symbol], factor])
    return [AaveAction(_configurator(sim).address, "setReserveFactor(address,uint256)", arguments)]


def _oracle_fallback(sim: Simulation, rng: random.Random) -> list[AaveAction]:
    """A new fallback oracle for the Core market's AaveOracle (asked only when a source answers <= 0)."""
    oracle = _core(sim, "Oracle", "misc/AaveOracle")
    fallback = seed_address(SEED, f"fallback oracle {rng.randrange(1000)}")
    return [AaveAction(oracle.address, "", calldata(oracle, "setFallbackOracle", fallback))]


def _grant(sim: Simulation, rng: random.Random) -> list[AaveAction]:
    """AAVE from the executor's treasury to a grantee."""
    token = sim.sender.contract(token_artifact(), sim.chain.contracts["AaveGovernanceToken"])
    grantee = seed_address(SEED, f"grantee {rng.randrange(1000)}")
    amount = rng.randint(1_000, 20_000) * 10**18
    return [AaveAction(token.address, "", calldata(token, "transfer", grantee, amount))]


def _risk_admin(sim: Simulation, rng: random.Random) -> list[AaveAction]:
    """A risk steward joins the Core market's risk admins (the executor is the ACL admin)."""
    acl = _core(sim, "ACLManager", "protocol/configuration/ACLManager")
    steward = seed_address(SEED, f"risk steward {rng.randrange(1000)}")
    return [AaveAction(acl.address, "", calldata(acl, "addRiskAdmin", steward))]


Change = tuple[str, Callable[["Simulation", random.Random], list[AaveAction]]]
CHANGES: Final[tuple[tuple[Change, ...], ...]] = (
    (("rate strategy", _rate_strategy), ("reserve factor", _reserve_factor)),
    (("oracle", _oracle_fallback), ("grant", _grant)),
    (("risk admin", _risk_admin),),
)


def plan_changes(
    sim: Simulation, rng: random.Random, changes: tuple[Change, ...]
) -> tuple[tuple[str, ...], list[AaveAction]]:
    """The actions of one proposal's changes, and the kind of each action (a change may make several)."""
    kinds: tuple[str, ...] = ()
    actions: list[AaveAction] = []
    for kind, make in changes:
        made_actions = make(sim, rng)
        actions += made_actions
        kinds += (kind,) * len(made_actions)
    return kinds, actions


@dataclass(slots=True)
class AaveGovernanceAgents:
    propose_every: int = 15  # ticks between proposals
    doom_every: int = 4  # every doom_every-th proposal is voted down; 0: none
    proposals: list[LiveAaveProposal] = field(default_factory=list)  # every proposal made, in order
    ticks: int = 0

    def __call__(self, sim: Simulation, rng: random.Random) -> None:
        self.ticks += 1
        if (self.ticks - 1) % self.propose_every == 0:
            self.propose(sim, rng)
        for proposal in self.proposals:
            if proposal.state not in FINAL:
                self._advance(sim, rng, proposal)

    def propose(self, sim: Simulation, rng: random.Random) -> LiveAaveProposal | None:
        made = len(self.proposals)
        changes = CHANGES[made % len(CHANGES)]
        kinds, actions = plan_changes(sim, rng, changes)
        governance = governor(sim)
        proposal_id = governance.functions.getProposalsCount().call()
        # The IPFS document's hash stands for the description (mainnet's proposals keep theirs on IPFS).
        ipfs_hash = keccak(text=f"Aave: {' and '.join(k for k, _ in changes)} #{made + 1}")
        create = governance.functions.create(
            sim.chain.contracts["AaveShortExecutor"],
            [a.target for a in actions],
            [a.value for a in actions],
            [a.signature for a in actions],
            [a.calldata for a in actions],
            [False] * len(actions),
            ipfs_hash,
        )
        if not self._wallet(sim, 0).send(create):
            return None
        doomed = self.doom_every > 0 and (made + 1) % self.doom_every == 0
        proposal = LiveAaveProposal(proposal_id, kinds, tuple(actions), doomed)
        self.proposals.append(proposal)
        return proposal

    def _wallet(self, sim: Simulation, index: int) -> Wallet:
        wallet = Wallet(sim, delegate_address(index))
        sim.sender.ensure_balance(wallet.address, GAS_MONEY)
        return wallet

    def _advance(self, sim: Simulation, rng: random.Random, proposal: LiveAaveProposal) -> None:
        governance = governor(sim).functions
        proposal.state = governance.getProposalState(proposal.id).call()
        if proposal.state == ACTIVE:
            self._vote(sim, rng, proposal)
        elif proposal.state == SUCCEEDED:
            sim.sender.submit(governance.queue(proposal.id))
        elif proposal.state == QUEUED:
            execution_time = governance.getProposalById(proposal.id).call()[10]  # executionTime
            if sim.sender.pending_timestamp() >= execution_time:
                sim.sender.submit(governance.execute(proposal.id))
        proposal.state = governance.getProposalState(proposal.id).call()

    def _vote(self, sim: Simulation, rng: random.Random, proposal: LiveAaveProposal) -> None:
        governance = governor(sim).functions
        for index in range(len(DELEGATE_SHARES)):
            wallet = self._wallet(sim, index)
            if wallet.address in proposal.voted:
                continue
            # The three largest delegates carry the vote (47 % of the supply against the others' 27 %).
            carried = index < 3
            support = (not carried and rng.random() < 0.5) if proposal.doomed else (carried or rng.random() < 0.75)
            if wallet.send(governance.submitVote(proposal.id, support)):
                proposal.voted.add(wallet.address)


def governor(sim: Simulation) -> Contract:
    return sim.sender.contract(governor_artifact(), sim.chain.contracts["AaveGovernor"])
