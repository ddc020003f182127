"""PancakeSwap V3: Uniswap V3's math, state reader and adapter with PancakeSwap's constants.

Its fee tiers are 100 / 500 / 2500 / 10000 pips with tick spacings 1 / 10 / 50 / 200, and its pools are
CREATE2'd by a separate PancakeV3PoolDeployer (not the factory). Everything else — the swap loop, the
tick bitmap, the rounding — is Uniswap V3's, so `defiscope.protocols.uniswap.math` runs it unchanged.

    >>> PANCAKESWAP_V3.tick_spacing(2500)
    50
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from defiscope.protocols.base import ProtocolInfo
from defiscope.protocols.uniswap.v3_spec import SLOT0_PANCAKE, V3_COUNTS, V3_DIFFERENCE, V3_DISCOVERY, V3Spec

PANCAKESWAP_V3: Final = V3Spec(
    info=ProtocolInfo(
        slug="pancakeswap-v3",
        name="PancakeSwap V3",
        category="Dexes",
        methodology="Token balances (balanceOf) of token0 and token1 held by every pool the PancakeSwap V3 "
        "factory created (PoolCreated events).",
        url="https://pancakeswap.finance",
        counts=V3_COUNTS,
        discovery=V3_DISCOVERY,
        defillama_difference=V3_DIFFERENCE,
    ),
    factory="PancakeV3Factory",
    deployer="PancakeV3PoolDeployer",
    init_code_hash="0x6ce8eb472fa82df5469c6ab6d485f17c3ad13c8cd7af59b3d4a8026c5ce0f7e2",
    fee_tick_spacing=MappingProxyType({100: 1, 500: 10, 2500: 50, 10000: 200}),
    start_blocks=MappingProxyType({}),
    slot0=SLOT0_PANCAKE,
    factory_interface="pancakeswap/PancakeV3Factory",
    pool_interface="pancakeswap/PancakeV3Pool",
)
