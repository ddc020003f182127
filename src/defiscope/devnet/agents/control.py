"""Rare changes of who controls what, as a simulation agent: EigenLayer's Operations Safe schedules an upgrade, a
new timelock delay or a new ProxyAdmin owner on its timelock, and anyone executes it once ready; Lido's DAO
Voting upgrades stETH (a vote on the kernel's setApp, passed by LDO holders).

Example::

    control = ControlAgents(every_seconds=WEEK)
    sim = Simulation(devnet.chain(1), SimulationConfig(seed=7, agents=(control,)))
    sim.run(2_000)
    control.changes   # [ControlChange("EigenLayer", "upgrade", "EigenLayerDelegationManager", "0x…", block), …]

`RareClock` decides when: each tick stands for some simulated seconds (the chain's block time, or
`fast_forward`'s step), and a change is due with probability seconds / ``every_seconds`` (about once per
simulated week by default), from a generator of its own seeded from the simulation's seed, so the other agents'
random choices stay as they were. The changes follow each other in `KINDS`' order. Compound's and Uniswap's
own (a Comet or Comptroller upgrade, a timelock delay) go through their governance (`agents.governance`).

Each change takes the real path: the Safe's owners approve and execute a ``schedule`` on the timelock (approved-
hash signatures), and after the delay anyone calls ``execute``: ``upgradeAndCall`` on the manager's ProxyAdmin
(a new implementation with the same immutables), ``updateDelay`` on the timelock itself, or ``transferOwnership``
of one ProxyAdmin to a new timelock (same proposer). Lido's upgrade, on a clock of its own, is a new Lido
implementation set through `devnet.aragon.vote_set_app`. Every scheduled and executed change is logged.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import structlog
from eth_utils import keccak
from web3.contract import Contract
from web3.exceptions import ContractLogicError, Web3RPCError

from defiscope.devnet.agents.wallet import calldata
from defiscope.devnet.aragon import aragon_dao, vote_set_app
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.eigenlayer import MIN_WITHDRAWAL_DELAY_BLOCKS
from defiscope.devnet.eigenlayer_admin import MANAGERS, deploy_timelock, operations_owners
from defiscope.devnet.errors import DevnetError
from defiscope.devnet.proxies import proxy_admin_contract
from defiscope.devnet.safe import safe_transaction

if TYPE_CHECKING:
    from defiscope.devnet.simulation import Simulation

log = structlog.get_logger(__name__)

WEEK: Final = 7 * 24 * 3600
KINDS: Final = ("upgrade", "delay", "admin")
#: Delays the simulation sets (seconds): short, so that `serve`'s ticks still see operations through.
DELAYS: Final = (10, 20, 30, 60)
ZERO_WORD: Final = bytes(32)
#: Each manager's constructor arguments, read from the proxy (its immutables).
IMMUTABLES: Final = {
    "EigenLayerStrategyManager": ("StrategyManager", ("delegation", "pauserRegistry")),
    "EigenLayerEigenPodManager": ("EigenPodManager", ("delegationManager", "pauserRegistry")),
    "EigenLayerDelegationManager": ("DelegationManager", ("strategyManager", "eigenPodManager", "pauserRegistry")),
}


@dataclass(slots=True)
class RareClock:
    """Due about once per ``every_seconds`` of simulated time, by its own seeded generator."""

    name: str
    every_seconds: int = WEEK
    rng: random.Random | None = None

    def due(self, sim: Simulation) -> bool:
        if self.rng is None:
            self.rng = random.Random(f"{sim.config.seed}:{self.name}")
        seconds = sim.config.seconds_per_tick or sim.block_seconds
        return self.rng.random() < seconds / self.every_seconds


@dataclass(frozen=True, slots=True)
class ControlChange:
    """A change done (executed on chain): what, on which registry contract (or address, for a timelock the
    simulation deployed), the new value, and the block."""

    protocol: str
    kind: str
    target: str
    value: str
    block: int


@dataclass(slots=True)
class _Scheduled:
    kind: str
    target: str  # registry name of what changes
    value: str
    timelock: str
    call_to: str
    data: bytes
    salt: bytes


@dataclass(slots=True)
class ControlAgents:
    every_seconds: int = WEEK
    #: Lido's upgrades keep a clock of their own (about weekly too).
    lido_every_seconds: int = WEEK
    changes: list[ControlChange] = field(default_factory=list)
    scheduled: list[_Scheduled] = field(default_factory=list)
    made: int = 0
    clock: RareClock | None = None
    lido_clock: RareClock | None = None

    def __call__(self, sim: Simulation, rng: random.Random) -> None:
        self._upgrade_lido(sim)
        if "EigenLayerTimelock" not in sim.chain.contracts:
            return
        self._execute_ready(sim)
        if self.clock is None:
            self.clock = RareClock("control", self.every_seconds)
        if self.clock.due(sim):
            try:
                self._schedule(sim)
            except (ContractLogicError, Web3RPCError, DevnetError) as exc:
                # A change that cannot be made is skipped, as any agent's reverted action: the market goes on.
                log.warning("devnet.control_failed", protocol="EigenLayer", error=str(exc))

    def _schedule(self, sim: Simulation) -> None:
        assert self.clock is not None
        assert self.clock.rng is not None
        rng = self.clock.rng
        kind = KINDS[self.made % len(KINDS)]
        self.made += 1
        target = rng.choice(MANAGERS)
        admin = proxy_admin_contract(sim.sender, sim.chain.contracts[target])
        timelock = _timelock(sim, admin.functions.owner().call())
        if kind == "upgrade":
            implementation = _new_implementation(sim, target)
            call_to, value = admin.address, implementation
            data = calldata(admin, "upgradeAndCall", sim.chain.contracts[target], implementation, b"")
        elif kind == "delay":
            current = timelock.functions.getMinDelay().call()
            delay = rng.choice([d for d in DELAYS if d != current])
            registered = timelock.address == sim.chain.contracts["EigenLayerTimelock"]
            target = "EigenLayerTimelock" if registered else timelock.address  # a successor: not in the registry
            call_to, value = timelock.address, str(delay)
            data = calldata(timelock, "updateDelay", delay)
        else:
            delay = timelock.functions.getMinDelay().call()
            successor = deploy_timelock(sim.sender, sim.chain.contracts["EigenLayerOperationsSafe"], delay)
            call_to, value = admin.address, successor
            data = calldata(admin, "transferOwnership", successor)
        # Unique across runs on the same chain (a restarted `serve` starts counting again).
        salt = keccak(text=f"defiscope control {sim.sender.w3.eth.get_block('pending')['number']} {self.made}")
        scheduled = _Scheduled(kind, target, value, timelock.address, call_to, data, salt)
        delay_now = timelock.functions.getMinDelay().call()
        schedule = calldata(timelock, "schedule", call_to, 0, data, ZERO_WORD, salt, delay_now)
        safe = sim.chain.contracts["EigenLayerOperationsSafe"]
        safe_transaction(sim.sender, safe, operations_owners(), timelock.address, schedule)
        self.scheduled.append(scheduled)
        log.info("devnet.control_scheduled", protocol="EigenLayer", kind=kind, target=target, value=value)

    def _upgrade_lido(self, sim: Simulation) -> None:
        """Now and then, stETH's code set anew through a vote of Lido's DAO (the same Lido code, a new address)."""
        steth = sim.chain.contracts.get("LidoStETH")
        if steth is None:
            return
        if self.lido_clock is None:
            self.lido_clock = RareClock("control-lido", self.lido_every_seconds)
        if not self.lido_clock.due(sim):
            return
        try:
            implementation = str(sim.sender.deploy(contract_artifact("Lido")).address)
            receipt = vote_set_app(sim.sender, aragon_dao(sim.sender, steth), implementation)
        except (ContractLogicError, Web3RPCError, DevnetError) as exc:
            log.warning("devnet.control_failed", protocol="Lido", error=str(exc))
            return
        self.changes.append(ControlChange("Lido", "upgrade", "LidoStETH", implementation, receipt["blockNumber"]))
        log.info("devnet.control_changed", protocol="Lido", kind="upgrade", target="LidoStETH", value=implementation)

    def _execute_ready(self, sim: Simulation) -> None:
        for op in list(self.scheduled):
            timelock = _timelock(sim, op.timelock)
            op_id = timelock.functions.hashOperation(op.call_to, 0, op.data, ZERO_WORD, op.salt).call()
            if not timelock.functions.isOperationReady(op_id).call():
                continue
            sim.sender.submit(timelock.functions.execute(op.call_to, 0, op.data, ZERO_WORD, op.salt))
            self.scheduled.remove(op)
            block = int(sim.sender.w3.eth.get_block("pending")["number"])
            self.changes.append(ControlChange("EigenLayer", op.kind, op.target, op.value, block))
            log.info("devnet.control_changed", protocol="EigenLayer", kind=op.kind, target=op.target, value=op.value)


def _timelock(sim: Simulation, address: str) -> Contract:
    return sim.sender.contract(contract_artifact("GovernanceTimelock"), address)


def _new_implementation(sim: Simulation, target: str) -> str:
    """A new implementation of a manager, with the immutables of the current one (read through the proxy)."""
    artifact_name, getters = IMMUTABLES[target]
    artifact = contract_artifact(artifact_name)
    current = sim.sender.contract(artifact, sim.chain.contracts[target])
    args: list[object] = [getattr(current.functions, getter)().call() for getter in getters]
    if artifact_name == "DelegationManager":
        args.append(MIN_WITHDRAWAL_DELAY_BLOCKS)  # read by `initialize` only, which an upgrade does not run again
    return str(sim.sender.deploy(artifact, *args).address)
