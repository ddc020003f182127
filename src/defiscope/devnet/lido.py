"""Lido on the devnet: stETH (the Lido contract behind an Aragon AppProxyUpgradeable whose kernel's APP_MANAGER_ROLE
is the DAO Voting's, voted by LDO holders, as on mainnet; so are its pause roles, `STETH_ROLES`), wstETH, the
withdrawal queue (as on mainnet, behind Lido's OssifiableProxy administered by the DAO Agent, an Aragon Agent app
only the Voting makes act) and the accounting oracle (as on mainnet, behind the same kind of proxy, the Agent its
proxy admin and its DEFAULT_ADMIN_ROLE holder).

Example::

    lido = deploy_lido(sender)                       # seeded: deposits, 8 daily oracle reports, requests
    lido.registry()["LidoStETH"], lido.steth.functions.getTotalPooledEther().call()
    lido.report(sender, cl_balance_delta=10**18)     # one more daily report: +1 ETH on the consensus layer

The seed is Lido's mid-2025 TVL scaled down as every protocol's (`devnet.sizes`: $800M, ~267,000 pooled ETH):
218,000 ETH staked by account 0 and accounts 1..9, 6,812 validators, a first report that brings the share rate
to 1.2 (Lido's history) and pays the fee in new shares, then seven daily reports at about 3 % a year, so APR
moving averages have a full week. Account 0 wraps 100,000 stETH
(Aave's and Compound's seeds supply wstETH from it), accounts 1..9 wrap 200 each. Three withdrawal requests of
10 stETH from account 1 are queued; the first is finalized by the last report.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Final

from eth_utils import keccak
from web3.contract import Contract
from web3.types import TxReceipt

from defiscope.devnet.aragon import (
    LIDO_APP_ID,
    agent_to_voting,
    deploy_agent,
    deploy_aragon_app,
    hand_to_voting,
    roles_to_voting,
)
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.errors import DevnetError
from defiscope.devnet.spec import USER_ACCOUNTS
from defiscope.devnet.tx import MAX_UINT256, Sender

ETHER: Final = 10**18
GWEI: Final = 10**9
DEPOSIT_SIZE: Final = 32 * ETHER
SECONDS_PER_SLOT: Final = 12
SLOTS_PER_DAY: Final = 7200
#: Lido's Aragon agent (treasury) and curated node-operators registry on mainnet: plain fee recipients here.
TREASURY: Final = "0x3e40D73EB977Dc6a537aF587D48316feE66E9C8c"
NODE_OPERATORS: Final = "0x55032650b14df07b85bF18A3a3eC8E0Af2e028d5"

OWNER_STAKE: Final = 209_000 * ETHER
USER_STAKE: Final = 1_000 * ETHER
OWNER_WRAP: Final = 100_000 * ETHER  # Aave's seed supplies 50,000 wstETH from account 0
USER_WRAP: Final = 200 * ETHER
HISTORY_RATE: Final = Fraction(12, 10)  # stETH per share after the first report
DAILY_APR: Final = Fraction(3, 100)
DAILY_REPORTS: Final = 7
REQUEST: Final = 10 * ETHER
#: stETH's pause powers (Lido.sol's ACL roles, keccak256 of their names): stop/resume the protocol, pause staking,
#: resume or limit it. On mainnet PAUSE_ROLE is the DAO Voting's alone (docs.lido.fi, "stETH superuser functions");
#: the Lido docs' "Protocol levers" say every permission belongs to the Voting or the Agent, which manage them. Here
#: the Voting holds and manages all four.
PAUSE_ROLE: Final = keccak(text="PAUSE_ROLE")
RESUME_ROLE: Final = keccak(text="RESUME_ROLE")
STAKING_PAUSE_ROLE: Final = keccak(text="STAKING_PAUSE_ROLE")
STAKING_CONTROL_ROLE: Final = keccak(text="STAKING_CONTROL_ROLE")
STETH_ROLES: Final = (PAUSE_ROLE, RESUME_ROLE, STAKING_PAUSE_ROLE, STAKING_CONTROL_ROLE)
#: The report format version the oracle's consensus agrees on (mainnet's first, V1).
CONSENSUS_VERSION: Final = 1


@dataclass(frozen=True, slots=True)
class LidoDevnet:
    steth: Contract
    wsteth: Contract
    queue: Contract
    oracle: Contract
    #: Lido's DAO kernel (a KernelProxy): stETH's, the Voting's and the Agent's.
    kernel: Contract

    def registry(self) -> dict[str, str]:
        return {
            "LidoStETH": self.steth.address,
            "LidoWstETH": self.wsteth.address,
            "LidoWithdrawalQueue": self.queue.address,
            "LidoAccountingOracle": self.oracle.address,
            "LidoKernel": self.kernel.address,
        }

    def tokens(self) -> dict[str, Contract]:
        return {"stETH": self.steth, "wstETH": self.wsteth}

    def report(
        self,
        sender: Sender,
        *,
        cl_balance_delta: int = 0,
        slots: int = SLOTS_PER_DAY,
        finalize_up_to: int = 0,
        validators: int | None = None,
        withdrawn: int = 0,
    ) -> TxReceipt:
        """Submit the next oracle report, ``slots`` after the last, moving the CL balance by ``cl_balance_delta`` wei.

        The CL balance is reported in gwei, as on mainnet: ``cl_balance_delta`` must be whole gwei. Time moves
        forward so the report's reference slot is not in the future. ``withdrawn`` wei leave the validators for
        the withdrawal vault (the CL balance drops by it, the buffer grows by it): that is what pays requests.
        """
        if cl_balance_delta % GWEI:
            raise DevnetError("the consensus-layer balance is reported in whole gwei")
        _, cl_validators, cl_balance = self.steth.functions.getBeaconStat().call()
        count = cl_validators if validators is None else validators
        ref_slot = self.oracle.functions.getLastProcessingRefSlot().call() + slots
        genesis = self.oracle.functions.GENESIS_TIME().call()
        _advance_to(sender, genesis + ref_slot * SECONDS_PER_SLOT)
        appeared = (count - cl_validators) * DEPOSIT_SIZE
        balance = cl_balance + appeared + cl_balance_delta - withdrawn
        batches = [finalize_up_to] if finalize_up_to else []
        report = self.oracle.functions.submitReportData(ref_slot, count, balance // GWEI, withdrawn, 0, batches, 0)
        return sender.send(report)


def _advance_to(sender: Sender, timestamp: int) -> None:
    now = int(sender.w3.eth.get_block("latest")["timestamp"])
    if timestamp > now:
        sender.rpc("evm_setNextBlockTimestamp", [timestamp])
        sender.rpc("evm_mine", [])


def deploy_lido(sender: Sender) -> LidoDevnet:
    """Deploy and seed Lido (see the module docstring); every contract is owned by account 0."""
    lido = _deploy_contracts(sender)
    _stake(sender, lido.steth)
    _history(sender, lido)
    _wrap(sender, lido)
    _queue_requests(sender, lido)
    for day in range(DAILY_REPORTS):
        pooled = lido.steth.functions.getTotalPooledEther().call()
        reward = int(Fraction(pooled) * DAILY_APR / 365) // GWEI * GWEI
        lido.report(sender, cl_balance_delta=reward, finalize_up_to=1 if day == DAILY_REPORTS - 1 else 0)
    return lido


def _deploy_contracts(sender: Sender) -> LidoDevnet:
    # stETH as on mainnet: the Lido app behind an Aragon AppProxyUpgradeable (the registry lists the proxy).
    artifact = contract_artifact("Lido")
    app = deploy_aragon_app(sender, sender.deploy(artifact).address, app_id=LIDO_APP_ID)
    lido = sender.contract(artifact, app.proxy.address)
    agent = deploy_agent(
        sender, app.kernel
    )  # Lido's DAO Agent, an app of the same kernel (before the role is handed over)
    queue = _deploy_queue(sender, lido.address, agent.address)
    now = int(sender.w3.eth.get_block("latest")["timestamp"])
    # Genesis a year back; the oracle's last processed slot is 8 days back, so the seed's reports fit before now.
    genesis = now - 365 * 86_400
    initial_ref_slot = (now - genesis) // SECONDS_PER_SLOT - (DAILY_REPORTS + 1) * SLOTS_PER_DAY
    oracle = _deploy_oracle(sender, lido.address, agent.address, genesis, initial_ref_slot)
    wsteth = sender.deploy(contract_artifact("WstETH"), lido.address)
    # Lido V2 bootstraps with 1 ETH held by 0xdead, so the share rate is always defined.
    sender.send(lido.functions.initialize(oracle.address, queue.address, TREASURY, NODE_OPERATORS), value=ETHER)
    dao = hand_to_voting(sender, app)  # upgrades now take a vote (`devnet.aragon.vote_set_app`)
    agent_to_voting(sender, dao, agent.address)  # so does anything the Agent does, the queue's upgrades included
    roles_to_voting(sender, dao, lido.address, STETH_ROLES)  # and stopping stETH or pausing staking
    return LidoDevnet(lido, wsteth, queue, oracle, app.kernel)


def _deploy_queue(sender: Sender, steth: str, agent: str) -> Contract:
    """The WithdrawalQueue as on mainnet: an implementation behind Lido's OssifiableProxy, whose admin is the DAO
    Agent, set up through the proxy with ``initialize``."""
    implementation = sender.deploy(contract_artifact("WithdrawalQueue"), steth)
    init = bytes.fromhex(implementation.encode_abi("initialize", args=[agent])[2:])
    proxy = sender.deploy(contract_artifact("OssifiableProxy"), implementation.address, agent, init)
    return sender.contract(contract_artifact("WithdrawalQueue"), proxy.address)


def _deploy_oracle(sender: Sender, steth: str, agent: str, genesis: int, initial_ref_slot: int) -> Contract:
    """The AccountingOracle as on mainnet: an implementation behind Lido's OssifiableProxy administered by the DAO
    Agent, which also holds its DEFAULT_ADMIN_ROLE; the deployer stands for the consensus contract."""
    artifact = contract_artifact("AccountingOracle")
    implementation = sender.deploy(artifact, steth, SECONDS_PER_SLOT, genesis)
    args = [agent, sender.owner, CONSENSUS_VERSION, initial_ref_slot]
    init = bytes.fromhex(implementation.encode_abi("initializeWithoutMigration", args=args)[2:])
    proxy = sender.deploy(contract_artifact("OssifiableProxy"), implementation.address, agent, init)
    return sender.contract(artifact, proxy.address)


def _stake(sender: Sender, steth: Contract) -> None:
    sender.send(steth.functions.submit(sender.owner), value=OWNER_STAKE)
    for index in USER_ACCOUNTS:
        sender.send(steth.functions.submit(sender.owner), value=USER_STAKE, sender=sender.accounts[index])
    buffered = steth.functions.getBufferedEther().call()
    sender.send(steth.functions.deposit(buffered // DEPOSIT_SIZE, 1, b""))


def _history(sender: Sender, lido: LidoDevnet) -> None:
    """The first report: all deposits appear as validators with the rewards that make the rate 1.2.

    After the fee the rate is (P + 0.9 R) / S, so R = (1.2 S - P) / 0.9 (see Lido's _distributeFee).
    """
    pooled = lido.steth.functions.getTotalPooledEther().call()
    shares = lido.steth.functions.getTotalShares().call()
    rewards = int((HISTORY_RATE * shares - pooled) / Fraction(9, 10)) // GWEI * GWEI
    deposited, _, _ = lido.steth.functions.getBeaconStat().call()
    lido.report(sender, cl_balance_delta=rewards, validators=deposited)


def _wrap(sender: Sender, lido: LidoDevnet) -> None:
    sender.send(lido.steth.functions.approve(lido.wsteth.address, MAX_UINT256))
    sender.send(lido.wsteth.functions.wrap(OWNER_WRAP))
    for index in USER_ACCOUNTS:
        user = sender.accounts[index]
        sender.send(lido.steth.functions.approve(lido.wsteth.address, MAX_UINT256), sender=user)
        sender.send(lido.wsteth.functions.wrap(USER_WRAP), sender=user)


def _queue_requests(sender: Sender, lido: LidoDevnet) -> None:
    user = sender.accounts[1]
    sender.send(lido.steth.functions.approve(lido.queue.address, MAX_UINT256), sender=user)
    sender.send(lido.queue.functions.requestWithdrawals([REQUEST] * 3, user), sender=user)


def deploy_lido_step(sender: Sender, chain_id: int, tokens: dict[str, Contract]) -> dict[str, str]:
    """The `deploy_world` step: Lido on chain 1 only; adds stETH and wstETH to ``tokens``, returns the registry."""
    if chain_id != 1:
        return {}
    lido = deploy_lido(sender)
    tokens.update(lido.tokens())
    return lido.registry()
