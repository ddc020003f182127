"""What varies between Uniswap V3 and its forks (PancakeSwap V3): identity, registry names, fee tiers.

One implementation of the math, the state reader and the adapter runs every fork; a fork is one of these.

    >>> UNISWAP_V3.tick_spacing(3000)
    60
    >>> pool_address(UNISWAP_V3, "0x1F98431c8aD98523631AE4a59f267346ea31F984",
    ...              "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", 500)
    '0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from defiscope.errors import DefiscopeError
from defiscope.protocols.base import ProtocolInfo

#: `slot0()` as each fork's pool declares it: Uniswap's feeProtocol is a uint8, PancakeSwap's a uint32 (both
#: decode from one word; the signature says which real ABI the call is checked against).
SLOT0_UNISWAP: Final = "slot0()(uint160,int24,uint16,uint16,uint16,uint8,bool)"
SLOT0_PANCAKE: Final = "slot0()(uint160,int24,uint16,uint16,uint16,uint32,bool)"
#: DEX name (as routing and price sources say it) -> its pools' slot0 signature.
SLOT0_BY_DEX: Final[Mapping[str, str]] = MappingProxyType(
    {"uniswap-v3": SLOT0_UNISWAP, "pancakeswap-v3": SLOT0_PANCAKE}
)


class UnknownFeeTier(DefiscopeError):
    """A fee a V3 factory does not enable."""


V3_COUNTS: Final = (
    "balanceOf(pool) of token0 and token1 for every pool the factory created: what the pool holds, "
    "uncollected fees included."
)
V3_DISCOVERY: Final = (
    "PoolCreated events of the factory, scanned once from its deployment block and then only new blocks."
)
V3_DIFFERENCE: Final = (
    "DefiLlama counts the same balances (its uniV3Export helper) but drops pools whose tokens it cannot price "
    "or has blacklisted; defiscope reports such tokens as unpriced with the reason instead."
)


@dataclass(frozen=True, slots=True)
class V3Spec:
    info: ProtocolInfo
    factory: str  # registry name of the factory (emits PoolCreated)
    deployer: str  # registry name of the contract that CREATE2s pools (the factory itself on Uniswap)
    init_code_hash: str  # keccak of the pool's creation code
    fee_tick_spacing: Mapping[int, int]  # fee in pips -> tick spacing
    #: First block worth scanning for PoolCreated on a chain (the factory's deployment); 0 elsewhere.
    start_blocks: Mapping[int, int]
    slot0: str = SLOT0_UNISWAP
    #: The real interfaces of its factory and pools (``tests/fixtures/abi/<name>.json``).
    factory_interface: str = "uniswap/UniswapV3Factory"
    pool_interface: str = "uniswap/UniswapV3Pool"

    def tick_spacing(self, fee: int) -> int:
        spacing = self.fee_tick_spacing.get(fee)
        if spacing is None:
            tiers = ", ".join(str(f) for f in sorted(self.fee_tick_spacing))
            raise UnknownFeeTier(f"{self.info.name} has no fee tier {fee} (tiers in pips: {tiers})")
        return spacing

    def start_block(self, chain_id: int) -> int:
        return self.start_blocks.get(chain_id, 0)


UNISWAP_V3: Final = V3Spec(
    info=ProtocolInfo(
        slug="uniswap-v3",
        name="Uniswap V3",
        category="Dexes",
        methodology="Token balances (balanceOf) of token0 and token1 held by every pool the Uniswap V3 factory "
        "created (PoolCreated events).",
        url="https://uniswap.org",
        counts=V3_COUNTS,
        discovery=V3_DISCOVERY,
        defillama_difference=V3_DIFFERENCE,
    ),
    factory="UniswapV3Factory",
    deployer="UniswapV3Factory",
    init_code_hash="0xe34f199b19b2b4f47f68442619d555527d244f78a3297ea89325f843f87b8b54",
    # 100/1 was enabled by governance in 2021, after launch.
    fee_tick_spacing=MappingProxyType({100: 1, 500: 10, 3000: 60, 10000: 200}),
    start_blocks=MappingProxyType({1: 12369621}),
)


def pool_address(spec: V3Spec, deployer: str, token_a: str, token_b: str, fee: int) -> str:
    """The pool's CREATE2 address (`PoolAddress.computeAddress` of the periphery), tokens in any order."""
    token0, token1 = sorted((to_checksum_address(token_a), to_checksum_address(token_b)), key=lambda a: int(a, 16))
    salt = keccak(encode(["address", "address", "uint24"], [token0, token1, fee]))
    digest = keccak(b"\xff" + bytes.fromhex(deployer[2:]) + salt + bytes.fromhex(spec.init_code_hash[2:]))
    return to_checksum_address(digest[12:])
