"""The chains defiscope knows: id, name, native token, Multicall3 address and finality depth.

>>> get_chain("bsc").chain_id
56
>>> get_chain(42161).native_symbol
'ETH'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from defiscope.chain.errors import InvalidInput

#: Multicall3 is deployed at this address on nearly every EVM chain (same deployer, same nonce).
MULTICALL3: Final = "0xcA11bde05977b3631167028862bE2a173976CA11"


@dataclass(frozen=True, slots=True)
class ChainInfo:
    chain_id: int
    name: str  # slug used in URLs and CLI flags
    display_name: str
    native_symbol: str
    native_decimals: int
    multicall3: str
    finality_depth: int  # blocks after which a reorg is treated as impossible
    block_time: float  # seconds, typical
    aliases: tuple[str, ...] = ()


CHAINS: Final[dict[int, ChainInfo]] = {
    c.chain_id: c
    for c in (
        ChainInfo(1, "ethereum", "Ethereum", "ETH", 18, MULTICALL3, 64, 12.0, ("eth", "mainnet")),
        ChainInfo(56, "bsc", "BNB Chain", "BNB", 18, MULTICALL3, 15, 3.0, ("bnb", "binance")),
        ChainInfo(42161, "arbitrum", "Arbitrum One", "ETH", 18, MULTICALL3, 20, 0.25, ("arb",)),
        ChainInfo(10, "optimism", "OP Mainnet", "ETH", 18, MULTICALL3, 20, 2.0, ("op",)),
        ChainInfo(8453, "base", "Base", "ETH", 18, MULTICALL3, 20, 2.0, ()),
        ChainInfo(137, "polygon", "Polygon PoS", "POL", 18, MULTICALL3, 128, 2.0, ("matic",)),
    )
}


def get_chain(key: int | str) -> ChainInfo:
    """Look a chain up by id ("1", 1) or name/alias ("ethereum", "bnb"); unknown keys raise `InvalidInput`."""
    if isinstance(key, int) or (isinstance(key, str) and key.isascii() and key.isdigit()):
        info = CHAINS.get(int(key))
        if info is not None:
            return info
    else:
        wanted = key.strip().lower()
        for info in CHAINS.values():
            if wanted == info.name or wanted in info.aliases:
                return info
    known = ", ".join(f"{c.name} ({c.chain_id})" for c in CHAINS.values())
    raise InvalidInput(f"unknown chain {key!r}; known chains: {known}")
