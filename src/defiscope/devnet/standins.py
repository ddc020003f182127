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
        "AccountingOracle": "lido/AccountingOracle",
        "DevToken": "common/ERC20",
        "Lido": "lido/StETH",
        "Multicall3": "common/Multicall3",
        "PancakeV2Factory": "uniswap/UniswapV2Factory",
        "PancakeV2Pair": "uniswap/UniswapV2Pair",
        "PriceFeed": "chainlink/AggregatorV2V3Interface",
        "RocketTokenRETH": "rocketpool/RocketTokenRETH",
        "StakedTokenV1": "coinbase/StakedTokenV1",
        "WithdrawalQueue": "lido/WithdrawalQueue",
        "WstETH": "lido/WstETH",
    }
)

#: Artifact name -> functions it has that mainnet's contract lacks (devnet-only admin hooks).
ADMIN_HOOKS: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        # One trusted member submits a reduced report (mainnet: a HashConsensus committee and a ReportData struct).
        "AccountingOracle": frozenset({"member", "submitReportData"}),
        "DevToken": frozenset({"burn", "mint", "owner", "renounceOwnership", "transferOwnership"}),
        # Wires the oracle, queue and fee recipients in one call (mainnet: the LidoLocator).
        "Lido": frozenset({"initialize"}),
        # The simulation moves prices (mainnet: the OCR aggregator behind the proxy).
        "PriceFeed": frozenset({"owner", "renounceOwnership", "transferOwnership", "updateAnswer", "updateRoundData"}),
        # Rate and supply set by the simulation (mainnet: the deposit pool and the network balances oracle).
        "RocketTokenRETH": frozenset({"mint", "owner", "renounceOwnership", "setExchangeRate", "transferOwnership"}),
        "StakedTokenV1": frozenset({"renounceOwnership"}),
    }
)


def admin_hook_names() -> frozenset[str]:
    """Every hook's function name: none of them may appear in a protocol's declared surface."""
    return frozenset(name for names in ADMIN_HOOKS.values() for name in names)
