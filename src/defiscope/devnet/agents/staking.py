"""Stakers on Lido, Lido's oracle, and restakers on EigenLayer, as simulation agents.

Example::

    stakers, restakers = LidoStakers(), EigenRestakers()
    sim = Simulation(devnet.chain(1), SimulationConfig(seed=7, agents=(stakers, restakers)))

`LidoStakers`: a staker ``submit``s ETH, or queues part of its stETH with ``requestWithdrawals``. Every
``report_every`` ticks the oracle reports through `devnet.lido.LidoDevnet.report` with the reference slot
at the chain's current time (so the clock never jumps): consensus-layer rewards for the elapsed time at
``apr`` (a rebase), finalizing the queue when the buffered ether covers it.

`EigenRestakers`: a restaker delegates to one of the seeded operators once, then either restakes natively (creates
its EigenPod once; account 0, playing the pod, credits a few verified 32 ETH validators) or deposits stETH (staked
through Lido) or another LST (minted by account 0, their owner) into the matching strategy, found from
the StrategyManager's whitelist events. Withdrawals from EigenLayer wait 100,800 blocks, far beyond a
simulation run: not simulated.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Final

from defiscope.devnet.agents.lending import portion
from defiscope.devnet.agents.wallet import Wallet
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.eigenlayer import (
    LST_STRATEGY_TOKENS,
    NO_SIGNATURE,
    OPERATORS,
    TOKEN_ARTIFACTS,
    VALIDATOR_ETH,
    pod_of,
    whitelisted_strategies,
)
from defiscope.devnet.lido import ETHER, GWEI, SECONDS_PER_SLOT, LidoDevnet
from defiscope.devnet.tx import MAX_UINT256

if TYPE_CHECKING:
    from defiscope.devnet.simulation import Simulation

SECONDS_PER_YEAR: Final = 365 * 24 * 3600
#: WithdrawalQueue's bounds on one request.
MAX_REQUEST: Final = 1_000 * ETHER


def lido_of(sim: Simulation) -> LidoDevnet:
    return LidoDevnet(
        sim.sender.contract(contract_artifact("Lido"), sim.chain.contracts["LidoStETH"]),
        sim.sender.contract(contract_artifact("WstETH"), sim.chain.contracts["LidoWstETH"]),
        sim.sender.contract(contract_artifact("WithdrawalQueue"), sim.chain.contracts["LidoWithdrawalQueue"]),
        sim.sender.contract(contract_artifact("AccountingOracle"), sim.chain.contracts["LidoAccountingOracle"]),
        sim.sender.contract(contract_artifact("AragonKernel"), sim.chain.contracts["LidoKernel"]),
    )


def stake(sim: Simulation, wallet: Wallet, lido: LidoDevnet, amount: int) -> bool:
    """Submit ``amount`` wei to Lido from ``wallet`` (credited with it first)."""
    sim.sender.credit(wallet.address, amount)
    return wallet.send(lido.steth.functions.submit(wallet.address), value=amount)


@dataclass(slots=True)
class LidoStakers:
    stakers: int = 3
    activity: float = 0.5
    stake_eth: tuple[int, int] = (1, 300)
    report_every: int = 20  # ticks between oracle reports
    apr: Fraction = Fraction(3, 100)
    wallets: list[Wallet] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    reports: int = 0
    ticks: int = 0

    def __call__(self, sim: Simulation, rng: random.Random) -> None:
        self.ticks += 1
        lido = lido_of(sim)
        if rng.random() < self.activity:
            if not self.wallets:
                self.wallets = [Wallet.of(sim, f"lido staker {i}") for i in range(self.stakers)]
            self._act(sim, rng, lido, rng.choice(self.wallets))
        if self.report_every and self.ticks % self.report_every == 0:
            self.reports += self.report(sim, lido)

    def _act(self, sim: Simulation, rng: random.Random, lido: LidoDevnet, wallet: Wallet) -> None:
        held = int(lido.steth.functions.balanceOf(wallet.address).call())
        if held > ETHER and rng.random() < 0.35:
            amount = min(MAX_REQUEST, portion(rng, held, 10, 90))
            if (lido.steth.address, lido.queue.address) not in wallet.approved:
                wallet.send(lido.steth.functions.approve(lido.queue.address, MAX_UINT256))
                wallet.approved.add((lido.steth.address, lido.queue.address))
            if wallet.send(lido.queue.functions.requestWithdrawals([amount], wallet.address)):
                self.actions.append("requestWithdrawals")
            return
        if stake(sim, wallet, lido, rng.randint(*self.stake_eth) * ETHER):
            self.actions.append("submit")

    def report(self, sim: Simulation, lido: LidoDevnet) -> bool:
        """One oracle report at the current slot: rewards for the elapsed time, the queue finalized if covered."""
        genesis = lido.oracle.functions.GENESIS_TIME().call()
        now = int(sim.sender.w3.eth.get_block("latest")["timestamp"])
        slots = (now - genesis) // SECONDS_PER_SLOT - lido.oracle.functions.getLastProcessingRefSlot().call()
        if slots <= 0:
            return False
        pooled = lido.steth.functions.getTotalPooledEther().call()
        reward = int(Fraction(pooled) * self.apr * slots * SECONDS_PER_SLOT / SECONDS_PER_YEAR) // GWEI * GWEI
        last = lido.queue.functions.getLastRequestId().call()
        pending = lido.queue.functions.unfinalizedStETH().call()
        covered = pending and lido.steth.functions.getBufferedEther().call() >= pending
        lido.report(sim.sender, cl_balance_delta=reward, slots=slots, finalize_up_to=last if covered else 0)
        return True


@dataclass(slots=True)
class EigenRestakers:
    restakers: int = 3
    activity: float = 0.4
    deposit_eth: tuple[int, int] = (1, 100)
    wallets: list[Wallet] = field(default_factory=list)
    #: chance that an action restakes natively rather than deposits an LST
    native_share: float = 0.2
    validators: tuple[int, int] = (1, 4)
    deposits: list[tuple[str, str, int]] = field(default_factory=list)  # (account, token symbol, amount)
    restaked: list[tuple[str, int]] = field(default_factory=list)  # (pod owner, wei credited)
    strategies: dict[str, str] = field(default_factory=dict)  # underlying token -> strategy

    def __call__(self, sim: Simulation, rng: random.Random) -> None:
        if rng.random() >= self.activity:
            return
        if not self.wallets:
            self.wallets = [Wallet.of(sim, f"eigenlayer restaker {i}") for i in range(self.restakers)]
        wallet = rng.choice(self.wallets)
        symbol = rng.choice(LST_STRATEGY_TOKENS)
        amount = rng.randint(*self.deposit_eth) * ETHER
        manager = sim.sender.contract(
            contract_artifact("StrategyManager"), sim.chain.contracts["EigenLayerStrategyManager"]
        )
        delegation = sim.sender.contract(
            contract_artifact("DelegationManager"), sim.chain.contracts["EigenLayerDelegationManager"]
        )
        if int(delegation.functions.delegatedTo(wallet.address).call(), 16) == 0:
            operator = sim.sender.accounts[rng.choice(OPERATORS)]
            wallet.send(delegation.functions.delegateTo(operator, NO_SIGNATURE, b"\0" * 32))
        if rng.random() < self.native_share:
            self._restake_natively(sim, rng, wallet)
            return
        token = sim.sender.contract(contract_artifact(TOKEN_ARTIFACTS[symbol]), sim.chain.tokens[symbol])
        if symbol == "stETH":
            if not stake(sim, wallet, lido_of(sim), amount):
                return
            # stETH rounds a share down: deposit what the wallet holds now.
            amount = int(token.functions.balanceOf(wallet.address).call())
        else:
            sim.sender.submit(token.functions.mint(wallet.address, amount))
        if (token.address, manager.address) not in wallet.approved:
            wallet.send(token.functions.approve(manager.address, MAX_UINT256))
            wallet.approved.add((token.address, manager.address))
        if not self.strategies:
            self.strategies = whitelisted_strategies(sim.sender, manager.address)
        strategy = self.strategies[token.address]
        if wallet.send(manager.functions.depositIntoStrategy(strategy, token.address, amount)):
            self.deposits.append((wallet.address, symbol, amount))

    def _restake_natively(self, sim: Simulation, rng: random.Random, wallet: Wallet) -> None:
        pods = sim.sender.contract(
            contract_artifact("EigenPodManager"), sim.chain.contracts["EigenLayerEigenPodManager"]
        )
        if not pods.functions.hasPod(wallet.address).call() and not wallet.send(pods.functions.createPod()):
            return
        credited = rng.randint(*self.validators) * VALIDATOR_ETH
        # The owner reports newly verified validators to its pod, which alone updates the manager (no beacon chain
        # here: mainnet's owner submits proofs).
        if wallet.send(pod_of(sim.sender, pods, wallet.address).functions.recordVerifiedValidators(credited)):
            self.restaked.append((wallet.address, credited))
