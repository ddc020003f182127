"""A governed devnet: the simulation's governance agent run through every proposal state on chain 1.

`governed` (module scope) drives `GovernanceAgents` directly (no market ticks: only governance moves), each step
one block as a tick's (`Sender.block`), mining blocks and time between its steps so that votes open and close
and timelocks pass; it reverts the chain when the module is done, so the rest of the suite sees the world as
deployed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from eth_utils import keccak
from web3.contract import Contract

from defiscope.devnet import Devnet
from defiscope.devnet.agents.governance import GovernanceAgents, LiveProposal
from defiscope.devnet.anvil import rpc
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.governance import TIMELOCK_DELAY, VOTING_PERIOD, delegate_address
from defiscope.devnet.simulation import Simulation, SimulationConfig
from defiscope.devnet.tx import Sender


@dataclass(slots=True)
class Governed:
    sim: Simulation
    agents: GovernanceAgents
    direct: list[LiveProposal]  # made by hand, not by the agent: one canceled, one left pending
    #: After each step: the head block, and proposal id -> the governor's own state(id) there.
    seen: list[tuple[int, dict[int, int]]]

    @property
    def proposals(self) -> list[LiveProposal]:
        return [*self.direct, *self.agents.proposals]

    def governor(self, protocol: str) -> Contract:
        address = self.sim.chain.contracts[f"{protocol}Governor"]
        return self.sim.sender.contract(contract_artifact("DevGovernor"), address)

    def record(self) -> None:
        head = self.sim.sender.w3.eth.block_number
        states = {p.id: self.governor(p.protocol).functions.state(p.id).call() for p in self.proposals}
        self.seen.append((head, states))

    def step(self, rng: random.Random, blocks: int, seconds: int = 0) -> None:
        """One agent tick (its transactions in one block), recorded, then `blocks` mined (`seconds` later)."""
        with self.sim.sender.block():
            self.agents(self.sim, rng)
        self.record()
        mine(self.sim.chain.rpc_url, blocks, seconds=seconds)
        self.record()


def mine(url: str, blocks: int, seconds: int = 0) -> None:
    if seconds:
        rpc(url, "evm_increaseTime", [seconds])
    rpc(url, "anvil_mine", [hex(blocks)], timeout=120)  # about 0.1 s a block on a loaded machine


def _proposal(sim: Simulation, description: str, *, cancel: bool = False) -> LiveProposal:
    """The largest Compound delegate proposes a close factor; with `cancel`, withdraws it before the vote opens."""
    sender: Sender = sim.sender
    governor = sender.contract(contract_artifact("DevGovernor"), sim.chain.contracts["CompoundGovernor"])
    proposer = delegate_address("Compound", 0)
    target = sim.chain.contracts["CompoundV2Comptroller"]
    comptroller = sender.contract(contract_artifact("Comptroller"), target)
    calldata = bytes.fromhex(comptroller.encode_abi("_setCloseFactor", args=[6 * 10**17])[2:])
    with sender.impersonating(proposer):
        sender.send(governor.functions.propose([target], [0], [calldata], description), sender=proposer)
        if cancel:
            hashed = keccak(text=description)
            sender.send(governor.functions.cancel([target], [0], [calldata], hashed), sender=proposer)
    proposal_id = governor.functions.hashProposal([target], [0], [calldata], keccak(text=description)).call()
    return LiveProposal("Compound", ("close factor",), proposal_id, [target], [0], [calldata], description, False)


@pytest.fixture(scope="module")
def governed(devnet: Devnet) -> Iterator[Governed]:
    chain = devnet.chain(1)
    url = chain.rpc_url
    snapshot = rpc(url, "evm_snapshot")
    try:
        sim = Simulation(chain, SimulationConfig(seed=11, agents=()))
        agents = GovernanceAgents(propose_every=4)  # every 4th proposal of a protocol is voted down
        rng = random.Random(11)
        governed = Governed(sim, agents, [_proposal(sim, "# Compound: close factor 60 %", cancel=True)], [])
        for _ in range(4):  # one proposal of each protocol's cycle a round
            governed.step(rng, 1)  # proposes the next change of each protocol; the vote opens a block on
            governed.step(rng, VOTING_PERIOD + 1)  # votes; the vote closes (Succeeded or Defeated)
            governed.step(rng, 1, seconds=TIMELOCK_DELAY + 1)  # queues the succeeded; the timelock passes
            governed.step(rng, 1)  # executes
        governed.direct.append(_proposal(sim, "# Compound: close factor 55 %"))  # left Pending
        governed.record()
        yield governed
    finally:
        assert rpc(url, "evm_revert", [snapshot]) is True
