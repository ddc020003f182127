"""Aave Governance V3 as a simulation agent: the largest AAVE delegate registers a payload on the
PayloadsController and proposes it on GovernanceCore; anyone activates the vote after its cool-down; the voting
portal's owner delivers the voting machine's result once the vote's duration has passed; anyone executes the
queued proposal after COOLDOWN_PERIOD (which queues the payload) and then the payload after its executor's delay.

Example::

    aave = AaveGovernanceV3Agents()
    sim = Simulation(devnet.chain(1), SimulationConfig(seed=7, agents=(aave,)))
    sim.run(20)
    aave.proposals[0].kinds                      # ("reserve factor", "risk admin")

Every `propose_every` ticks (and on the first) the next change of `CHANGES`: a reserve factor (the function in
`signature`, the arguments alone as calldata) and a new risk admin (an ACL role: an admin change); the Core
market oracle's fallback. The result delivered is the delegates' AAVE power for and against (every
`doom_every`-th proposal meets a majority against and Fails).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import eth_abi
from eth_utils import keccak
from web3.contract import Contract

from defiscope.devnet.aave_governance import delegate_address, token_artifact
from defiscope.devnet.aave_governance_v3 import COOLDOWN, voting_machine
from defiscope.devnet.agents.aave_governance import (
    AaveAction,
    Change,
    _oracle_fallback,
    _reserve_factor,
    _risk_admin,
    plan_changes,
)
from defiscope.devnet.agents.wallet import GAS_MONEY, Wallet
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.governance import DELEGATE_SHARES

if TYPE_CHECKING:
    from defiscope.devnet.simulation import Simulation

#: IGovernanceCore.State and IPayloadsControllerCore.PayloadState values.
NULL, CREATED, ACTIVE, QUEUED, EXECUTED, FAILED, CANCELLED, EXPIRED = range(8)
PAYLOAD_QUEUED, PAYLOAD_EXECUTED = 2, 3
LEVEL_1: Final = 1
VOTING_POWER: Final = 0  # IGovernancePowerDelegationToken.DelegationType

CHANGES: Final[tuple[tuple[Change, ...], ...]] = (
    (("reserve factor", _reserve_factor), ("risk admin", _risk_admin)),
    (("oracle", _oracle_fallback),),
)


@dataclass(slots=True)
class LiveV3Proposal:
    id: int
    payload_id: int
    kinds: tuple[str, ...]  # one per action
    actions: tuple[AaveAction, ...]
    doomed: bool  # the delivered result has a majority against
    state: int = CREATED
    payload_state: int = 1  # Created

    @property
    def done(self) -> bool:
        return self.state in (FAILED, CANCELLED, EXPIRED) or self.payload_state == PAYLOAD_EXECUTED


@dataclass(slots=True)
class AaveGovernanceV3Agents:
    propose_every: int = 15  # ticks between proposals
    doom_every: int = 3  # every doom_every-th proposal fails; 0: none
    proposals: list[LiveV3Proposal] = field(default_factory=list)  # every proposal made, in order
    ticks: int = 0

    def __call__(self, sim: Simulation, rng: random.Random) -> None:
        self.ticks += 1
        if (self.ticks - 1) % self.propose_every == 0:
            self.propose(sim, rng)
        for proposal in self.proposals:
            if not proposal.done:
                self._advance(sim, proposal)

    def propose(self, sim: Simulation, rng: random.Random) -> LiveV3Proposal | None:
        made = len(self.proposals)
        changes = CHANGES[made % len(CHANGES)]
        kinds, actions = plan_changes(sim, rng, changes)
        controller, core = payloads_controller(sim), governance_core(sim)
        proposer = _wallet(sim, 0)
        payload_id = controller.functions.getPayloadsCount().call()
        execution = [(a.target, False, LEVEL_1, a.value, a.signature, a.calldata) for a in actions]
        if not proposer.send(controller.functions.createPayload(execution)):
            return None
        proposal_id = core.functions.getProposalsCount().call()
        # The IPFS document's hash stands for the description (mainnet's proposals keep theirs on IPFS).
        ipfs_hash = keccak(text=f"Aave V3: {' and '.join(k for k, _ in changes)} #{made + 1}")
        portal = sim.chain.contracts["AaveVotingPortalEthEth"]
        reference = [(sim.chain.chain_id, LEVEL_1, controller.address, payload_id)]
        if not proposer.send(core.functions.createProposal(reference, portal, ipfs_hash)):
            return None
        doomed = self.doom_every > 0 and (made + 1) % self.doom_every == 0
        proposal = LiveV3Proposal(proposal_id, payload_id, kinds, tuple(actions), doomed)
        self.proposals.append(proposal)
        return proposal

    def _advance(self, sim: Simulation, proposal: LiveV3Proposal) -> None:
        core = governance_core(sim).functions
        now = sim.sender.pending_timestamp()
        stored = core.getProposal(proposal.id).call()
        proposal.state = int(stored[0])
        anyone = _wallet(sim, len(DELEGATE_SHARES) - 1)
        if proposal.state == CREATED:
            anyone.send(core.activateVoting(proposal.id))  # reverts while the cool-down runs
        elif proposal.state == ACTIVE and now > int(stored[4]) + int(stored[3]):  # activation + duration
            sim.sender.submit(voting_portal(sim).functions.receiveCrossChainMessage(*self._result(sim, proposal)))
        elif proposal.state == QUEUED and now >= int(stored[5]) + COOLDOWN:
            anyone.send(core.executeProposal(proposal.id))
        elif proposal.state == EXECUTED:
            controller = payloads_controller(sim).functions
            if controller.getPayloadState(proposal.payload_id).call() == PAYLOAD_QUEUED:
                anyone.send(controller.executePayload(proposal.payload_id))
            proposal.payload_state = int(controller.getPayloadState(proposal.payload_id).call())
        proposal.state = int(core.getProposalState(proposal.id).call())

    def _result(self, sim: Simulation, proposal: LiveV3Proposal) -> tuple[str, int, bytes]:
        """The voting machine's message: the delegates' voting power for and against (the three largest carry
        the vote, for unless the proposal is doomed)."""
        token = sim.sender.contract(token_artifact(), sim.chain.contracts["AaveGovernanceToken"]).functions
        powers = [int(token.getPowerCurrent(delegate_address(i), VOTING_POWER).call()) for i in range(3)]
        minor = int(token.getPowerCurrent(delegate_address(3), VOTING_POWER).call())
        votes_for, against = (minor, sum(powers)) if proposal.doomed else (sum(powers), minor)
        message = eth_abi.encode(["uint256", "uint128", "uint128"], [proposal.id, votes_for, against])
        return voting_machine(), sim.chain.chain_id, message


def _wallet(sim: Simulation, index: int) -> Wallet:
    wallet = Wallet(sim, delegate_address(index))
    sim.sender.ensure_balance(wallet.address, GAS_MONEY)
    return wallet


def governance_core(sim: Simulation) -> Contract:
    return sim.sender.contract(contract_artifact("AaveGovernanceCore"), sim.chain.contracts["AaveGovernanceCore"])


def payloads_controller(sim: Simulation) -> Contract:
    address = sim.chain.contracts["AavePayloadsController"]
    return sim.sender.contract(contract_artifact("AavePayloadsController"), address)


def voting_portal(sim: Simulation) -> Contract:
    return sim.sender.contract(contract_artifact("AaveVotingPortal"), sim.chain.contracts["AaveVotingPortalEthEth"])
