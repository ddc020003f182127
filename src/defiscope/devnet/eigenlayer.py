"""EigenLayer on the devnet: StrategyManager, one StrategyBase per LST, EigenPodManager, DelegationManager.

Example::

    eigen = deploy_eigenlayer(sender, tokens)        # tokens: symbol -> Contract, with stETH already there
    eigen.registry()["EigenLayerStrategyManager"], eigen.strategies["stETH"].address
    eigen.tokens()["rETH"]                           # rETH and cbETH are deployed here, with exchange rates

Seed (EigenLayer's mid-2025 TVL scaled down, `devnet.sizes`: about $400M): rETH (1.13 ETH) and cbETH
(1.09 ETH) minted to account 0 and accounts 1..9; accounts 7 and 8 register as operators; account 0 and
accounts 1..3 deposit into the three strategies and delegate; account 4 has a pod credited with 1,000
validators (32,000 ETH) of natively restaked ETH, delegated to account 7.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

from web3.contract import Contract

from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.spec import USER_ACCOUNTS
from defiscope.devnet.tx import MAX_UINT256, Sender

ETHER: Final = 10**18
#: Mainnet's minWithdrawalDelayBlocks (7 days of 12 s blocks).
MIN_WITHDRAWAL_DELAY_BLOCKS: Final = 50_400
LST_RATES: Final = {"rETH": Fraction(113, 100), "cbETH": Fraction(109, 100)}
LST_ARTIFACTS: Final = {"rETH": "RocketTokenRETH", "cbETH": "StakedTokenV1"}
LST_SUPPLY: Final = 50_000 * ETHER
LST_PER_ACCOUNT: Final = 100 * ETHER
STRATEGY_TOKENS: Final = ("stETH", "rETH", "cbETH")
OPERATORS: Final = (7, 8)
#: (account, {token: whole tokens}, operator account)
DEPOSITS: Final = (
    (0, {"stETH": 60_000, "rETH": 25_000, "cbETH": 11_000}, 7),
    (1, {"stETH": 300, "rETH": 50}, 7),
    (2, {"stETH": 200, "cbETH": 40}, 8),
    (3, {"rETH": 60}, 8),
)
POD_OWNER: Final = 4
POD_VALIDATORS: Final = 1_000
ZERO: Final = "0x0000000000000000000000000000000000000000"
NO_SIGNATURE: Final = (b"", 0)


@dataclass(frozen=True, slots=True)
class EigenLayerDevnet:
    strategy_manager: Contract
    delegation: Contract
    pod_manager: Contract
    strategies: Mapping[str, Contract]  # by underlying symbol
    lsts: Mapping[str, Contract]  # rETH, cbETH

    def registry(self) -> dict[str, str]:
        names: dict[str, str] = {
            "EigenLayerStrategyManager": self.strategy_manager.address,
            "EigenLayerDelegationManager": self.delegation.address,
            "EigenLayerEigenPodManager": self.pod_manager.address,
        }
        names.update({f"EigenLayerStrategy:{symbol}": s.address for symbol, s in self.strategies.items()})
        return names

    def tokens(self) -> dict[str, Contract]:
        return dict(self.lsts)


def deploy_eigenlayer(sender: Sender, tokens: Mapping[str, Contract]) -> EigenLayerDevnet:
    """Deploy and seed EigenLayer (see the module docstring); ``tokens`` must hold stETH."""
    lsts = {symbol: _deploy_lst(sender, symbol) for symbol in LST_ARTIFACTS}
    every = {**tokens, **lsts}
    manager = sender.deploy(contract_artifact("StrategyManager"))
    pods = sender.deploy(contract_artifact("EigenPodManager"))
    delegation = sender.deploy(
        contract_artifact("DelegationManager"), manager.address, pods.address, MIN_WITHDRAWAL_DELAY_BLOCKS
    )
    sender.send(manager.functions.initialize(delegation.address))
    sender.send(pods.functions.initialize(delegation.address))
    strategies = {
        symbol: sender.deploy(contract_artifact("StrategyBase"), manager.address, every[symbol].address)
        for symbol in STRATEGY_TOKENS
    }
    addresses = [s.address for s in strategies.values()]
    sender.send(manager.functions.addStrategiesToDepositWhitelist(addresses, [False] * len(addresses)))
    eigen = EigenLayerDevnet(manager, delegation, pods, strategies, lsts)
    _seed(sender, eigen, every)
    return eigen


def _deploy_lst(sender: Sender, symbol: str) -> Contract:
    rate = LST_RATES[symbol]
    token = sender.deploy(contract_artifact(LST_ARTIFACTS[symbol]), int(rate * ETHER))
    sender.send(token.functions.mint(sender.owner, LST_SUPPLY))
    for index in USER_ACCOUNTS:
        sender.send(token.functions.mint(sender.accounts[index], LST_PER_ACCOUNT))
    return token


def _seed(sender: Sender, eigen: EigenLayerDevnet, tokens: Mapping[str, Contract]) -> None:
    delegation = eigen.delegation.functions
    for index in OPERATORS:
        details = (ZERO, ZERO, 0)
        sender.send(
            delegation.registerAsOperator(details, f"https://operator{index}.devnet"), sender=sender.accounts[index]
        )
    for index, amounts, operator in DEPOSITS:
        staker = sender.accounts[index]
        sender.send(delegation.delegateTo(sender.accounts[operator], NO_SIGNATURE, b"\0" * 32), sender=staker)
        for symbol, whole in amounts.items():
            token, strategy = tokens[symbol], eigen.strategies[symbol]
            sender.send(token.functions.approve(eigen.strategy_manager.address, MAX_UINT256), sender=staker)
            sender.send(
                eigen.strategy_manager.functions.depositIntoStrategy(strategy.address, token.address, whole * ETHER),
                sender=staker,
            )
    pod_owner = sender.accounts[POD_OWNER]
    sender.send(eigen.pod_manager.functions.createPod(), sender=pod_owner)
    sender.send(delegation.delegateTo(sender.accounts[OPERATORS[0]], NO_SIGNATURE, b"\0" * 32), sender=pod_owner)
    sender.send(eigen.pod_manager.functions.recordBeaconChainETHBalanceUpdate(pod_owner, POD_VALIDATORS * 32 * ETHER))


def deploy_eigenlayer_step(sender: Sender, chain_id: int, tokens: dict[str, Contract]) -> dict[str, str]:
    """The `deploy_world` step: EigenLayer on chain 1 only; adds rETH and cbETH to ``tokens``, returns the registry."""
    if chain_id != 1:
        return {}
    eigen = deploy_eigenlayer(sender, tokens)
    tokens.update(eigen.tokens())
    return eigen.registry()
