"""Governance as a simulation agent: the delegates of Compound and Uniswap propose, vote, queue and execute.

Example::

    governance = GovernanceAgents()
    sim = Simulation(devnet.chain(1), SimulationConfig(seed=7, agents=(governance,)))
    sim.run(20)
    governance.proposals[0].kinds, governance.proposals[0].protocol    # ("oracle", "rate model"), "Compound"

Every `propose_every` ticks (and on the first tick) the largest delegate of each governed protocol proposes the
next proposal of its protocol's cycle (`COMPOUND_CHANGES`, `UNISWAP_CHANGES`), of one or two changes: a new
price oracle and a new rate model for a market, a pending admin and a pending Comptroller implementation, a
collateral factor and a treasury grant; a new fee tier, or a grant, for Uniswap. Each tick, every live
proposal moves on from its state on chain: the delegates vote while it is Active (every fourth proposal of a protocol
meets a majority against and is Defeated), anyone queues it once Succeeded and executes it once its eta has passed.

Rarely (`RareClock`: about once per simulated week, ``control_every``), a change of control is proposed the same way
(`CONTROL_CHANGES`): a Comet's new implementation through its ProxyAdmin, a whole Comptroller upgrade through the
Unitroller, or a new minimum delay of the protocol's timelock; never voted down, logged when proposed and executed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import structlog
from eth_utils import keccak
from web3.contract import Contract

from defiscope.devnet.agents.control import DELAYS, WEEK, RareClock
from defiscope.devnet.agents.wallet import GAS_MONEY, Wallet, calldata
from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.compound import deploy_comet_implementation, hand_oracle_to
from defiscope.devnet.governance import DELEGATE_SHARES, delegate_address
from defiscope.devnet.proxies import proxy_admin_contract
from defiscope.devnet.seeding import seed_address

if TYPE_CHECKING:
    from defiscope.devnet.simulation import Simulation

log = structlog.get_logger(__name__)

#: IGovernor.ProposalState values.
PENDING, ACTIVE, CANCELED, DEFEATED, SUCCEEDED, QUEUED, EXPIRED, EXECUTED = range(8)
FOR, AGAINST, ABSTAIN = 1, 0, 2
WAD: Final = 10**18

Action = tuple[str, int, bytes]  # target, value, calldata


@dataclass(slots=True)
class LiveProposal:
    protocol: str
    kinds: tuple[str, ...]  # one per action
    id: int
    targets: list[str]
    values: list[int]
    calldatas: list[bytes]
    description: str
    doomed: bool  # the delegates vote it down
    control: bool = False  # one of the rare `CONTROL_CHANGES`
    voted: set[str] = field(default_factory=set)
    state: int = PENDING


def _compound_oracle(sim: Simulation, rng: random.Random) -> list[Action]:
    """A new CompoundV2Oracle with the current one's configs (`getConfig` of each market), handed to the community
    multisig (the pause guardian Safe) as the current one was, then proposed to the Comptroller."""
    comptroller = _comptroller(sim)
    current = sim.sender.contract(contract_artifact("CompoundV2Oracle"), comptroller.functions.oracle().call())
    oracle = sim.sender.deploy(contract_artifact("CompoundV2Oracle"), [])
    for name, ctoken in sorted(sim.chain.contracts.items()):
        if name.startswith("CompoundV2cToken:"):
            decimals, feed, fixed_price = current.functions.getConfig(ctoken).call()
            sim.sender.submit(oracle.functions.addConfig((decimals, ctoken, feed, fixed_price)))
    hand_oracle_to(sim.sender, oracle.address, sim.chain.contracts["CompoundPauseGuardian"])
    return [(comptroller.address, 0, calldata(comptroller, "_setPriceOracle", oracle.address))]


def _compound_rate_model(sim: Simulation, rng: random.Random) -> list[Action]:
    """A JumpRateModelV2 with a steeper slope for one market (per year: base, multiplier, jump, kink)."""
    market = rng.choice(_ctoken_names(sim))
    ctoken = sim.sender.contract(contract_artifact("CErc20"), sim.chain.contracts[market])
    multiplier = rng.choice((4, 5, 6, 7)) * WAD // 100
    model = sim.sender.deploy(contract_artifact("JumpRateModelV2"), 0, multiplier, 109 * WAD // 100, 8 * WAD // 10)
    return [(ctoken.address, 0, calldata(ctoken, "_setInterestRateModel", model.address))]


def _compound_admin(sim: Simulation, rng: random.Random) -> list[Action]:
    """A pending admin for the Comptroller's Unitroller (a multisig that would then accept)."""
    unitroller = _unitroller(sim)
    multisig = seed_address("compound-governance", f"multisig {rng.randrange(1000)}")
    return [(unitroller.address, 0, calldata(unitroller, "_setPendingAdmin", multisig))]


def _compound_upgrade(sim: Simulation, rng: random.Random) -> list[Action]:
    """Unitroller's first upgrade step: a new Comptroller implementation, pending."""
    implementation = sim.sender.deploy(contract_artifact("Comptroller"))
    unitroller = _unitroller(sim)
    return [(unitroller.address, 0, calldata(unitroller, "_setPendingImplementation", implementation.address))]


def _comptroller_upgrade(sim: Simulation, rng: random.Random) -> list[Action]:
    """A whole Comptroller upgrade, as Compound's proposals make it: pending on the Unitroller, then ``_become``."""
    implementation = sim.sender.deploy(contract_artifact("Comptroller"))
    unitroller = _unitroller(sim)
    return [
        (unitroller.address, 0, calldata(unitroller, "_setPendingImplementation", implementation.address)),
        (implementation.address, 0, calldata(implementation, "_become", unitroller.address)),
    ]


def _comet_upgrade(sim: Simulation, rng: random.Random) -> list[Action]:
    """A Comet's new implementation (same configuration), through its ProxyAdmin, which the timelock owns."""
    name = rng.choice(sorted(n for n in sim.chain.contracts if n.startswith("CompoundV3Comet:")))
    proxy = sim.chain.contracts[name]
    implementation = deploy_comet_implementation(sim.sender, proxy)
    admin = proxy_admin_contract(sim.sender, proxy)
    return [(admin.address, 0, calldata(admin, "upgradeAndCall", proxy, implementation, b""))]


def _timelock_delay(protocol: str) -> Callable[[Simulation, random.Random], list[Action]]:
    """A new minimum delay, set by the timelock on itself (TimelockController.updateDelay)."""

    def delay(sim: Simulation, rng: random.Random) -> list[Action]:
        timelock = sim.sender.contract(
            contract_artifact("GovernanceTimelock"), sim.chain.contracts[f"{protocol}Timelock"]
        )
        current = timelock.functions.getMinDelay().call()
        new = rng.choice([d for d in DELAYS if d != current])
        return [(timelock.address, 0, calldata(timelock, "updateDelay", new))]

    return delay


def _compound_collateral(sim: Simulation, rng: random.Random) -> list[Action]:
    comptroller = _comptroller(sim)
    market = sim.chain.contracts[rng.choice(_ctoken_names(sim))]
    _, factor, _ = comptroller.functions.markets(market).call()
    new = max(WAD // 2, min(factor + rng.choice((-1, 1)) * WAD // 100, 89 * WAD // 100))
    return [(comptroller.address, 0, calldata(comptroller, "_setCollateralFactor", market, new))]


def _grant(protocol: str) -> Callable[[Simulation, random.Random], list[Action]]:
    """A grant from the treasury (the tokens the timelock holds)."""

    def grant(sim: Simulation, rng: random.Random) -> list[Action]:
        token = sim.sender.contract(
            contract_artifact("GovernanceToken"), sim.chain.contracts[f"{protocol}GovernanceToken"]
        )
        grantee = seed_address(f"{protocol.lower()}-governance", f"grantee {rng.randrange(1000)}")
        # 0.1-5 % of what the timelock holds: the treasuries differ (UNI's 370M, COMP's 250k) and never run dry.
        treasury = token.functions.balanceOf(sim.chain.contracts[f"{protocol}Timelock"]).call()
        amount = treasury * rng.randint(1, 50) // 1000
        return [(token.address, 0, calldata(token, "transfer", grantee, amount))]

    return grant


def _uniswap_fee_tier(sim: Simulation, rng: random.Random) -> list[Action]:
    """A new fee tier (hundredths of a bip) with a tick spacing in proportion, as Uniswap added 1 bp."""
    factory = sim.sender.contract(npm_artifact("UniswapV3Factory"), sim.chain.contracts["UniswapV3Factory"])
    fee = next(f for f in range(200, 100_000, 100) if factory.functions.feeAmountTickSpacing(f).call() == 0)
    spacing = max(1, fee // 50)
    return [(factory.address, 0, calldata(factory, "enableFeeAmount", fee, spacing))]


def _comptroller(sim: Simulation) -> Contract:
    return sim.sender.contract(contract_artifact("Comptroller"), sim.chain.contracts["CompoundV2Comptroller"])


def _unitroller(sim: Simulation) -> Contract:
    """The Comptroller's address as the Unitroller it is (its own admin and upgrade functions)."""
    return sim.sender.contract(contract_artifact("Unitroller"), sim.chain.contracts["CompoundV2Comptroller"])


def _ctoken_names(sim: Simulation) -> list[str]:
    return sorted(n for n in sim.chain.contracts if n.startswith("CompoundV2cToken:"))


#: One proposal: its changes, each a (kind, actions) maker; mainnet proposals often bundle a few.
Change = tuple[str, Callable[["Simulation", random.Random], list[Action]]]
COMPOUND_CHANGES: Final[tuple[tuple[Change, ...], ...]] = (
    (("oracle", _compound_oracle), ("rate model", _compound_rate_model)),
    (("admin", _compound_admin), ("upgrade", _compound_upgrade)),
    (("collateral factor", _compound_collateral), ("grant", _grant("Compound"))),
)
UNISWAP_CHANGES: Final[tuple[tuple[Change, ...], ...]] = (
    (("fee tier", _uniswap_fee_tier),),
    (("grant", _grant("Uniswap")),),
)
#: Uniswap's one-transaction proposals first: driven outside a tick (a block per transaction), by the time
#: Compound's (which deploy contracts first) are made, Uniswap's vote is open, and its seven votes open Compound's.
CHANGES: Final = {"Uniswap": UNISWAP_CHANGES, "Compound": COMPOUND_CHANGES}
#: The rare changes of control (`ControlAgents`' clock: about once per simulated week), in this order per protocol.
CONTROL_CHANGES: Final[dict[str, tuple[tuple[Change, ...], ...]]] = {
    "Uniswap": ((("delay", _timelock_delay("Uniswap")),),),
    "Compound": (
        (("upgrade", _comet_upgrade),),
        (("delay", _timelock_delay("Compound")),),
        (("upgrade", _comptroller_upgrade),),
    ),
}


@dataclass(slots=True)
class GovernanceAgents:
    propose_every: int = 15  # ticks between proposals of one protocol
    doom_every: int = 4  # every doom_every-th proposal of a protocol is voted down; 0: none
    proposals: list[LiveProposal] = field(default_factory=list)  # every proposal made, in order
    ticks: int = 0
    control_every: int = WEEK  # simulated seconds between rare changes of control (on average)
    control_clock: RareClock | None = None

    def __call__(self, sim: Simulation, rng: random.Random) -> None:
        self.ticks += 1
        # Propose first, then advance every live proposal (a new one is Pending: its vote opens two blocks, so two
        # ticks, later).
        if (self.ticks - 1) % self.propose_every == 0:
            for protocol in CHANGES:
                if f"{protocol}Governor" in sim.chain.contracts:
                    self._propose(sim, rng, protocol)
        if self.control_clock is None:
            self.control_clock = RareClock("governance-control", self.control_every)
        if self.control_clock.due(sim) and self.control_clock.rng is not None:
            for protocol in CONTROL_CHANGES:
                if f"{protocol}Governor" in sim.chain.contracts:
                    self._propose(sim, self.control_clock.rng, protocol, control=True)
        for proposal in self.proposals:
            if proposal.state not in (CANCELED, DEFEATED, EXPIRED, EXECUTED):
                self._advance(sim, rng, proposal)

    def _governor(self, sim: Simulation, protocol: str) -> Contract:
        return sim.sender.contract(contract_artifact("DevGovernor"), sim.chain.contracts[f"{protocol}Governor"])

    def _wallet(self, sim: Simulation, protocol: str, index: int) -> Wallet:
        wallet = Wallet(sim, delegate_address(protocol, index))
        sim.sender.ensure_balance(wallet.address, GAS_MONEY)
        return wallet

    def _propose(self, sim: Simulation, rng: random.Random, protocol: str, *, control: bool = False) -> None:
        made = sum(1 for p in self.proposals if p.protocol == protocol and p.control == control)
        cycle = (CONTROL_CHANGES if control else CHANGES)[protocol]
        changes = cycle[made % len(cycle)]
        kinds: tuple[str, ...] = ()
        actions: list[Action] = []
        for kind, make in changes:
            made_actions = make(sim, rng)
            actions += made_actions
            kinds += (kind,) * len(made_actions)
        targets, values, calldatas = [a[0] for a in actions], [a[1] for a in actions], [a[2] for a in actions]
        title = " and ".join(kind for kind, _ in changes)
        title += " (control)" if control else ""
        description = f"# {protocol}: {title} #{made + 1}\n\nProposed by the devnet simulation."
        governor = self._governor(sim, protocol)
        if not self._wallet(sim, protocol, 0).send(governor.functions.propose(targets, values, calldatas, description)):
            return
        proposal_id = governor.functions.hashProposal(targets, values, calldatas, keccak(text=description)).call()
        doomed = not control and self.doom_every > 0 and (made + 1) % self.doom_every == 0
        self.proposals.append(
            LiveProposal(protocol, kinds, proposal_id, targets, values, calldatas, description, doomed, control=control)
        )
        if control:
            log.info("devnet.control_proposed", protocol=protocol, kinds=kinds, proposal=proposal_id)

    def _advance(self, sim: Simulation, rng: random.Random, proposal: LiveProposal) -> None:
        governor = self._governor(sim, proposal.protocol)
        proposal.state = governor.functions.state(proposal.id).call()
        args = (proposal.targets, proposal.values, proposal.calldatas, keccak(text=proposal.description))
        if proposal.state == ACTIVE:
            self._vote(sim, rng, proposal, governor)
        elif proposal.state == SUCCEEDED:
            sim.sender.submit(governor.functions.queue(*args))
        elif proposal.state == QUEUED:
            eta = governor.functions.proposalEta(proposal.id).call()
            if sim.sender.pending_timestamp() >= eta:
                sim.sender.submit(governor.functions.execute(*args))
        proposal.state = governor.functions.state(proposal.id).call()
        if proposal.control and proposal.state == EXECUTED:
            log.info("devnet.control_changed", protocol=proposal.protocol, kinds=proposal.kinds, proposal=proposal.id)

    def _vote(self, sim: Simulation, rng: random.Random, proposal: LiveProposal, governor: Contract) -> None:
        for index in range(len(DELEGATE_SHARES)):
            wallet = self._wallet(sim, proposal.protocol, index)
            if wallet.address in proposal.voted:
                continue
            # The three largest delegates carry the vote (47 % of the supply against the others' 27 %).
            if proposal.doomed:
                support = AGAINST if index < 3 else rng.choice((FOR, ABSTAIN))
            else:
                support = FOR if index < 3 else rng.choice((FOR, FOR, AGAINST, ABSTAIN))
            if wallet.send(governor.functions.castVote(proposal.id, support)):
                proposal.voted.add(wallet.address)
