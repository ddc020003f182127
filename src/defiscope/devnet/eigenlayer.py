"""EigenLayer on the devnet, shaped like mainnet: StrategyManager, one StrategyBase per whitelisted token
(seven LSTs and bEIGEN, EIGEN's backing token, as mainnet's EIGEN strategy holds), EigenPodManager with several
pods, DelegationManager with two operators.

Example::

    eigen = deploy_eigenlayer(sender, tokens)        # tokens: symbol -> Contract, with stETH already there
    eigen.registry()["EigenLayerStrategyManager"], eigen.strategies["stETH"].address
    eigen.tokens()["rETH"]                           # the LSTs are deployed here (bEIGEN: registry)

Nothing is registered per strategy or per pod: as on mainnet, the adapter finds strategies from the
StrategyManager's whitelist events and pods from `PodDeployed` logs.

Seed (EigenLayer's mid-2025 TVL scaled down, `devnet.sizes`: about $400M): the LSTs (each at its own ETH
rate) and bEIGEN minted to account 0 and accounts 1..9 (EIGEN itself is one of the chain's tokens,
`devnet.spec`); accounts 7 and 8 register as operators; account 0 and accounts 1..3 deposit into the
strategies and delegate; accounts 4, 5 and 6 create pods, credited with 600, 400 and 0 validators (32 ETH
each) of natively restaked ETH, delegated to accounts 7, 8 and 7.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

from eth_typing import ChecksumAddress
from web3.contract import Contract

from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.proxies import deploy_transparent, upgrade_to
from defiscope.devnet.spec import USER_ACCOUNTS
from defiscope.devnet.tx import MAX_UINT256, Sender

ETHER: Final = 10**18
#: Mainnet's MIN_WITHDRAWAL_DELAY_BLOCKS since the slashing upgrade (14 days of 12 s blocks).
MIN_WITHDRAWAL_DELAY_BLOCKS: Final = 100_800
#: Token stand-ins deployed here (stETH comes from Lido), with their ETH rate (None: no rate view).
LST_RATES: Final[Mapping[str, Fraction | None]] = {
    "rETH": Fraction(113, 100),
    "cbETH": Fraction(109, 100),
    "swETH": Fraction(106, 100),
    "wBETH": Fraction(105, 100),
    "sfrxETH": Fraction(110, 100),
    "OETH": None,
}
TOKEN_ARTIFACTS: Final = {
    "stETH": "Lido",
    "rETH": "RocketTokenRETH",
    "cbETH": "StakedTokenV1",
    "swETH": "SwETH",
    "wBETH": "WrappedBeaconETH",
    "sfrxETH": "SfrxETH",
    "OETH": "OETH",
    "EIGEN": "DevToken",
    "bEIGEN": "DevToken",
}
#: bEIGEN's registry name (mainnet's too): not a priced token of its own, reported as EIGEN.
BACKING_EIGEN: Final = "EigenLayerBackingEigen"
#: The strategies' UpgradeableBeacon (mainnet's strategyBeacon), registered: it is no adapter's, the control reads'.
STRATEGY_BEACON: Final = "EigenLayerStrategyBeacon"
LST_SUPPLY: Final = 50_000 * ETHER
LST_PER_ACCOUNT: Final = 100 * ETHER
BACKING_EIGEN_SUPPLY: Final = 10_000_000 * ETHER
BACKING_EIGEN_PER_ACCOUNT: Final = 10_000 * ETHER
#: LST strategies, whitelisted in this order (mainnet whitelisted stETH, rETH, cbETH first, then more LSTs).
LST_STRATEGY_TOKENS: Final = ("stETH", "rETH", "cbETH", "swETH", "wBETH", "sfrxETH", "OETH")
#: Every strategy's token: the LSTs, then bEIGEN (mainnet's EIGEN strategy holds bEIGEN, EIGEN's backing token).
STRATEGY_TOKENS: Final = (*LST_STRATEGY_TOKENS, "bEIGEN")
OPERATORS: Final = (7, 8)
#: (account, {token: whole tokens}, operator account)
DEPOSITS: Final = (
    (
        0,
        {
            "stETH": 47_300,
            "rETH": 25_000,
            "cbETH": 11_000,
            "swETH": 3_000,
            "wBETH": 4_000,
            "sfrxETH": 3_000,
            "OETH": 2_000,
            "bEIGEN": 1_500_000,
        },
        7,
    ),
    (1, {"stETH": 300, "rETH": 50, "swETH": 20}, 7),
    (2, {"stETH": 200, "cbETH": 40, "bEIGEN": 5_000}, 8),
    (3, {"rETH": 60, "wBETH": 30}, 8),
)
#: (pod owner account, validators of 32 ETH credited to its pod, operator account)
PODS: Final = ((4, 600, 7), (5, 400, 8), (6, 0, 7))
VALIDATOR_ETH: Final = 32 * ETHER
ZERO: Final = "0x0000000000000000000000000000000000000000"
NO_SIGNATURE: Final = (b"", 0)


@dataclass(frozen=True, slots=True)
class EigenLayerDevnet:
    strategy_manager: Contract
    delegation: Contract
    pod_manager: Contract
    strategy_beacon: Contract  # the UpgradeableBeacon every strategy's BeaconProxy follows
    strategies: Mapping[str, Contract]  # by underlying symbol
    deployed_tokens: Mapping[str, Contract]  # the LSTs deployed here
    backing_eigen: Contract  # bEIGEN

    def registry(self) -> dict[str, str]:
        return {
            "EigenLayerStrategyManager": self.strategy_manager.address,
            "EigenLayerDelegationManager": self.delegation.address,
            "EigenLayerEigenPodManager": self.pod_manager.address,
            STRATEGY_BEACON: self.strategy_beacon.address,
            BACKING_EIGEN: self.backing_eigen.address,
        }

    def tokens(self) -> dict[str, Contract]:
        return dict(self.deployed_tokens)


def deploy_core(sender: Sender) -> tuple[Contract, Contract, Contract]:
    """StrategyManager, EigenPodManager and DelegationManager, each behind a TransparentUpgradeableProxy, deployed
    as EigenLayer's mainnet script did: the PauserRegistry first, the proxies over an EmptyContract, then the
    implementations (whose immutables are the other proxies and the registry), then each proxy upgraded to its
    implementation and initialized, nothing paused. Account 0 owns the managers and, until `eigenlayer_admin` hands
    them to a timelock and the Safes, their ProxyAdmins, and is the registry's only pauser and its unpauser."""
    registry = deploy_pauser_registry(sender)
    empty = sender.deploy(contract_artifact("EmptyContract"))
    # OpenZeppelin 5.7's proxy refuses to be left uninitialized: the EmptyContract's one function stands for a setup.
    touch = bytes.fromhex(empty.encode_abi("foo", args=[])[2:])
    manager_at, pods_at, delegation_at = (deploy_transparent(sender, empty.address, sender.owner, touch) for _ in "abc")
    owner = sender.owner
    setups: tuple[tuple[str, str, tuple[object, ...], tuple[object, ...]], ...] = (
        ("StrategyManager", manager_at, (delegation_at, registry), (owner, owner, 0)),
        ("EigenPodManager", pods_at, (delegation_at, registry), (owner, 0)),
        ("DelegationManager", delegation_at, (manager_at, pods_at, registry, MIN_WITHDRAWAL_DELAY_BLOCKS), (owner, 0)),
    )
    proxies: list[Contract] = []
    for name, proxy, constructor_args, init_args in setups:
        implementation = sender.deploy(contract_artifact(name), *constructor_args)
        init = bytes.fromhex(implementation.encode_abi("initialize", args=list(init_args))[2:])
        upgrade_to(sender, proxy, implementation.address, init)
        proxies.append(sender.contract(contract_artifact(name), proxy))
    manager, pods, delegation = proxies
    return manager, pods, delegation


def deploy_pauser_registry(sender: Sender) -> str:
    """The managers' PauserRegistry, account 0 its only pauser and its unpauser until `eigenlayer_admin` names
    mainnet's (each change a PauserStatusChanged or UnpauserChanged event, as mainnet's constructor logs its own)."""
    return str(sender.deploy(contract_artifact("PauserRegistry"), [sender.owner], sender.owner).address)


def pauser_registry(sender: Sender, manager: Contract | str) -> Contract:
    """The PauserRegistry a manager defers to (its immutable ``pauserRegistry()``, as on mainnet)."""
    address = manager if isinstance(manager, str) else manager.address
    found = sender.contract(contract_artifact("StrategyManager"), address).functions.pauserRegistry().call()
    return sender.contract(contract_artifact("PauserRegistry"), found)


def deploy_strategy_beacon(sender: Sender, manager: Contract) -> Contract:
    """The StrategyBase implementation behind an UpgradeableBeacon owned by account 0 (until `eigenlayer_admin`
    hands it to the timelock), as mainnet's strategyBeacon."""
    implementation = sender.deploy(contract_artifact("StrategyBase"), manager.address)
    return sender.deploy(npm_artifact("UpgradeableBeacon"), implementation.address, sender.owner)


def deploy_strategy(sender: Sender, manager: str, beacon: str, token: str) -> Contract:
    """A StrategyBase over ``token``: a BeaconProxy of ``beacon`` initialized with the token (as mainnet's
    StrategyFactory deploys them), whitelisted (its StrategyAddedToDepositWhitelist is how it is found)."""
    artifact = contract_artifact("StrategyBase")
    init = sender.contract(artifact, beacon).encode_abi("initialize", args=[token])
    proxy = sender.deploy(npm_artifact("BeaconProxy"), beacon, bytes.fromhex(init[2:]))
    strategy = sender.contract(artifact, proxy.address)
    whitelist = sender.contract(contract_artifact("StrategyManager"), manager).functions
    sender.send(whitelist.addStrategiesToDepositWhitelist([strategy.address]))
    return strategy


def deploy_eigenlayer(sender: Sender, tokens: Mapping[str, Contract]) -> EigenLayerDevnet:
    """Deploy and seed EigenLayer (see the module docstring); ``tokens`` must hold stETH."""
    deployed = {symbol: _deploy_lst(sender, symbol, rate) for symbol, rate in LST_RATES.items()}
    backing = _deploy_eigen(sender, "Backing Eigen", "bEIGEN")
    every = {**tokens, **deployed, "bEIGEN": backing}
    manager, pods, delegation = deploy_core(sender)
    beacon = deploy_strategy_beacon(sender, manager)
    strategies = {
        symbol: deploy_strategy(sender, manager.address, beacon.address, every[symbol].address)
        for symbol in STRATEGY_TOKENS
    }
    eigen = EigenLayerDevnet(manager, delegation, pods, beacon, strategies, deployed, backing)
    _seed(sender, eigen, every)
    return eigen


def _deploy_lst(sender: Sender, symbol: str, rate: Fraction | None) -> Contract:
    artifact = contract_artifact(TOKEN_ARTIFACTS[symbol])
    token = sender.deploy(artifact) if rate is None else sender.deploy(artifact, int(rate * ETHER))
    _mint(sender, token, LST_SUPPLY, LST_PER_ACCOUNT)
    return token


def _deploy_eigen(sender: Sender, name: str, symbol: str) -> Contract:
    token = sender.deploy(contract_artifact("DevToken"), name, symbol, 18)
    _mint(sender, token, BACKING_EIGEN_SUPPLY, BACKING_EIGEN_PER_ACCOUNT)
    return token


def _mint(sender: Sender, token: Contract, supply: int, per_account: int) -> None:
    sender.send(token.functions.mint(sender.owner, supply))
    for index in USER_ACCOUNTS:
        sender.send(token.functions.mint(sender.accounts[index], per_account))


def _seed(sender: Sender, eigen: EigenLayerDevnet, tokens: Mapping[str, Contract]) -> None:
    delegation = eigen.delegation.functions
    for index in OPERATORS:
        register = delegation.registerAsOperator(ZERO, 0, f"https://operator{index}.devnet")
        sender.send(register, sender=sender.accounts[index])
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
    for index, validators, operator in PODS:
        owner = sender.accounts[index]
        sender.send(eigen.pod_manager.functions.createPod(), sender=owner)
        sender.send(delegation.delegateTo(sender.accounts[operator], NO_SIGNATURE, b"\0" * 32), sender=owner)
        credit_validators(sender, eigen.pod_manager, owner, validators * VALIDATOR_ETH)


def pod_of(sender: Sender, pod_manager: Contract, owner: str) -> Contract:
    """``owner``'s EigenPod (its CREATE2 address: known before `createPod` is mined in a shared block)."""
    return sender.contract(contract_artifact("EigenPod"), pod_manager.functions.getPod(owner).call())


def credit_validators(sender: Sender, pod_manager: Contract, owner: ChecksumAddress, wei: int) -> None:
    """Validators worth ``wei`` proven restaked in ``owner``'s pod: the owner reports them to its pod, which alone
    may update the EigenPodManager (mainnet: the owner submits beacon-chain proofs to its pod)."""
    sender.send(pod_of(sender, pod_manager, owner).functions.recordVerifiedValidators(wei), sender=owner)


def whitelisted_strategies(sender: Sender, manager: str) -> dict[str, str]:
    """Underlying token -> strategy, for the strategies whitelisted now (from the whitelist events, as on
    mainnet; the simulation and tests use it to find where to deposit)."""
    contract = sender.contract(contract_artifact("StrategyManager"), manager)
    events = contract.events
    added = events.StrategyAddedToDepositWhitelist().get_logs(from_block=0)
    removed = events.StrategyRemovedFromDepositWhitelist().get_logs(from_block=0)
    ordered = sorted([*added, *removed], key=lambda e: (e.blockNumber, e.logIndex))
    active: dict[str, None] = {}
    for event in ordered:
        if event.event == "StrategyAddedToDepositWhitelist":
            active.setdefault(event.args.strategy, None)
        else:
            active.pop(event.args.strategy, None)
    artifact = contract_artifact("StrategyBase")
    return {sender.contract(artifact, s).functions.underlyingToken().call(): s for s in active}


def deploy_eigenlayer_step(sender: Sender, chain_id: int, tokens: dict[str, Contract]) -> dict[str, str]:
    """The `deploy_world` step: EigenLayer on chain 1 only; adds its LSTs to ``tokens``, returns the registry."""
    if chain_id != 1:
        return {}
    eigen = deploy_eigenlayer(sender, tokens)
    tokens.update(eigen.tokens())
    return eigen.registry()
