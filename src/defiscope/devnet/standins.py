"""Our stand-in contracts and the real interfaces they replicate, with the only functions they may add.

A stand-in is a replica of the mainnet contract, not a mirror of our adapters: every function in its ABI must
exist in the real interface named here (``tests/fixtures/abi/<interface>.json``), except the admin hooks listed
for it, which only the deployer and the market simulation call. ``tests/mainnet/`` checks both: stand-ins
against the real ABIs, and that no adapter, risk or yield path calls a hook.

    >>> STANDIN_INTERFACES.get("Multicall3")
    'common/Multicall3'
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

#: Artifact name (``contracts/artifacts/<name>.json``) -> the real interface it replicates.
STANDIN_INTERFACES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "AaveGovernanceCore": "aave/IGovernanceCore",
        "AaveExecutor": "aave/ExecutorV3",
        "AavePayloadsController": "aave/PayloadsController",
        "AaveVotingPortal": "aave/IVotingPortal",
        "AccountingOracle": "lido/AccountingOracle",
        "AppProxyUpgradeable": "aragon/AppProxyUpgradeable",
        "AragonACL": "aragon/ACL",
        "AragonAgent": "aragon/Agent",
        "AragonKernel": "aragon/Kernel",
        "AragonVoting": "aragon/Voting",
        "CErc20": "compound/CErc20",
        "CErc20Delegate": "compound/CErc20",
        "CErc20Delegator": "compound/CErc20Delegator",
        "CEther": "compound/CEther",
        "Comet": "compound/Comet",
        "CompoundV2Oracle": "compound/OpenOraclePriceOracle",
        "Comptroller": "compound/Comptroller",
        "CurveAddressProvider": "curve/AddressProvider",
        "CurveCryptoPool2": "curve/TwocryptoNGPool",
        "CurveCryptoPool3": "curve/TricryptoNGPool",
        "CurveMainRegistry": "curve/MainRegistry",
        "CurveStableFactory": "curve/StableFactory",
        "CurveStableNgFactory": "curve/StableSwapNGFactory",
        "CurveStableSwap2": "curve/FactoryPlain2Basic",
        "CurveStableSwap2ETH": "curve/FactoryPlain2ETH",
        "CurveStableSwap3": "curve/FactoryPlain3Basic",
        "CurveStableSwap4": "curve/FactoryPlain4Basic",
        "CurveStableSwapOwnerProxy": "curve/StableSwapOwnerProxy",
        "CurvePoolProxy": "curve/PoolProxy",
        "CurveTricryptoNgFactory": "curve/TricryptoNGFactory",
        "CurveTwocryptoNgFactory": "curve/TwocryptoNGFactory",
        "DaiJoin": "maker/DaiJoinAbstract",
        "DelegationManager": "eigenlayer/DelegationManager",
        "DSChief": "maker/DSChief",
        "DSPause": "maker/DSPause",
        "DSPauseProxy": "maker/DSPauseProxy",
        "DSToken": "maker/DSToken",
        "DssSpell": "maker/DssSpell",
        "DevToken": "common/ERC20",
        "Dog": "maker/Dog",
        "EigenPod": "eigenlayer/EigenPod",
        "EigenPodManager": "eigenlayer/EigenPodManager",
        "GemJoin": "maker/GemJoinAbstract",
        "GovActions": "maker/GovActions",
        "Jug": "maker/Jug",
        "JumpRateModelV2": "compound/JumpRateModelV2",
        "KernelProxy": "aragon/KernelProxy",
        "Lido": "lido/StETH",
        "MakerCdpManager": "maker/DssCdpManager",
        "MakerClipper": "maker/Clipper",
        "MakerDaiToken": "maker/DaiAbstract",
        "MakerDSProxy": "maker/DSProxy",
        "MakerIlkRegistry": "maker/IlkRegistry",
        "MakerLitePsm": "maker/DssLitePsm",
        "MakerOsm": "maker/OsmAbstract",
        "MakerProxyActions": "maker/DssProxyActions",
        "MiniMeToken": "aragon/MiniMeToken",
        "Multicall3": "common/Multicall3",
        "OETH": "origin/OETH",
        "PancakeV2Factory": "uniswap/UniswapV2Factory",
        "PancakeV2Pair": "uniswap/UniswapV2Pair",
        "PauserRegistry": "eigenlayer/PauserRegistry",
        "PriceFeed": "chainlink/AggregatorV2V3Interface",
        "RocketTokenRETH": "rocketpool/RocketTokenRETH",
        "SfrxETH": "frax/SfrxETH",
        "Spotter": "maker/SpotAbstract",
        "StakedTokenV1": "coinbase/StakedTokenV1",
        "StrategyBase": "eigenlayer/IStrategy",
        "StrategyManager": "eigenlayer/StrategyManager",
        "SwETH": "swell/SwETH",
        "Unitroller": "compound/Comptroller",  # the real ABI file merges the Unitroller's functions in
        "Vat": "maker/VatAbstract",
        "WithdrawalQueue": "lido/WithdrawalQueue",
        "WrappedBeaconETH": "binance/WBETH",
        "WstETH": "lido/WstETH",
    }
)

#: Artifact name -> a second real interface it replicates: our StableSwap pool stands for the factory's plain pools
#: and, deployed with an owner, for the main registry's pools, whose admin functions (owner, its two-step delayed
#: transfer) are 3pool's.
ALSO_REPLICATES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "CurveStableSwap2": "curve/StableSwap3Pool",
        "CurveStableSwap2ETH": "curve/StableSwap3Pool",
        "CurveStableSwap3": "curve/StableSwap3Pool",
        "CurveStableSwap4": "curve/StableSwap3Pool",
    }
)

#: Artifact name -> functions it has that mainnet's contract lacks (devnet-only admin hooks).
ADMIN_HOOKS: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        # One trusted member submits a reduced report (mainnet: a HashConsensus committee and a ReportData struct);
        # set up through its proxy by mainnet V1's initializer for a deployment without a LegacyOracle.
        "AccountingOracle": frozenset({"initializeWithoutMigration", "submitReportData"}),
        # Mainnet's CErc20.initialize and CErc20Delegate's delegation hooks, which compound-js's market ABI omits
        # (set up through the delegator; only the admin passes them).
        "CErc20": frozenset({"initialize"}),
        "CErc20Delegate": frozenset({"initialize", "implementation", "_becomeImplementation", "_resignImplementation"}),
        "CurveCryptoPool2": frozenset({"seed"}),
        "CurveCryptoPool3": frozenset({"seed"}),
        "CurveStableFactory": frozenset({"register_pool"}),
        "CurveStableNgFactory": frozenset({"register_pool"}),
        "CurveTricryptoNgFactory": frozenset({"register_pool"}),
        "CurveTwocryptoNgFactory": frozenset({"register_pool"}),
        "DelegationManager": frozenset({"setMinWithdrawalDelayBlocks"}),
        # No beacon chain: the pod owner reports validators its pod would prove (mainnet: verifyWithdrawalCredentials).
        "EigenPod": frozenset({"recordVerifiedValidators"}),
        "DevToken": frozenset({"burn", "mint", "owner", "renounceOwnership", "transferOwnership"}),
        # Wires the oracle, queue and fee recipients in one call (mainnet: the LidoLocator).
        "Lido": frozenset({"initialize"}),
        "OETH": frozenset({"mint", "owner", "renounceOwnership", "transferOwnership"}),
        # The simulation moves prices (mainnet: the OCR aggregator behind the proxy).
        "PriceFeed": frozenset({"owner", "renounceOwnership", "transferOwnership", "updateAnswer", "updateRoundData"}),
        # Rate and supply set by the simulation (mainnet: the deposit pool and the network balances oracle).
        "RocketTokenRETH": frozenset({"mint", "owner", "renounceOwnership", "setExchangeRate", "transferOwnership"}),
        "SfrxETH": frozenset({"mint", "owner", "renounceOwnership", "transferOwnership"}),
        "StakedTokenV1": frozenset({"renounceOwnership"}),
        # Mainnet's StrategyBase.initialize (through its BeaconProxy), beyond the IStrategy interface.
        "StrategyBase": frozenset({"initialize"}),
        # The LST stand-ins share one Ownable, mintable base: supply and rate are set by the deployer.
        "SwETH": frozenset({"mint", "owner", "renounceOwnership", "transferOwnership"}),
        "WrappedBeaconETH": frozenset({"mint", "owner", "renounceOwnership", "transferOwnership"}),
    }
)


def admin_hook_names() -> frozenset[str]:
    """Every hook's function name: none of them may appear in a protocol's declared surface."""
    return frozenset(name for names in ADMIN_HOOKS.values() for name in names)
