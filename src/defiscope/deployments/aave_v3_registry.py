"""Registry entries of Aave V3 markets on mainnet chains, derived from the address book (`aave_v3_book`).

A chain's main market ("Core") keeps the unsuffixed names; each other market of the chain suffixes its
market name, and aTokens carry the market between prefix and symbol:

    >>> contracts = aave_v3_contracts(1)
    >>> contracts["AaveV3Pool"], contracts["AaveV3Pool:Prime"]
    ('0x87870Bca3F3fD6335C3F4ce8392D69350B4fA4E2', '0x4e033931ad43597d96D6bcc25c280717730B58B1')
    >>> contracts["AaveV3AToken:Prime:WETH"]
    '0xfA1fDbBD71B0aA16162D76914d69cD8CB3Ef92da'
    >>> [t.symbol for t in aave_v3_tokens(42161, ()) if t.symbol.startswith("USDC")]
    ['USDC.e', 'USDCn']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from defiscope.deployments import TokenInfo
from defiscope.deployments.aave_v3_book import AAVE_V3_MARKETS, BookMarket

#: Chains whose registry so far holds only Aave V3 (and Multicall3).
AAVE_V3_CHAINS: Final = (10, 137, 8453, 43114)
#: The market whose registry names carry no suffix.
CORE: Final = "Core"
#: Address-book keys that name another token than the registry's symbol on that chain (Arbitrum's "USDC" in
#: the book is the bridged USDC.e; the registry's USDC is native USDC, the book's "USDCn").
_SYMBOL_ALIASES: Final[Mapping[tuple[int, str], str]] = {(42161, "USDC"): "USDC.e"}


def market_suffix(market: str) -> str:
    return "" if market == CORE else f":{market}"


def _markets(chain_id: int) -> tuple[BookMarket, ...]:
    return tuple(m for m in AAVE_V3_MARKETS if m.chain_id == chain_id)


def aave_v3_contracts(chain_id: int) -> dict[str, str]:
    """Registry names -> addresses of every Aave V3 market on ``chain_id`` (none if it has no market)."""
    names: dict[str, str] = {}
    for market in _markets(chain_id):
        suffix = market_suffix(market.name)
        names |= {
            f"AaveV3Pool{suffix}": market.pool,
            f"AaveV3PoolAddressesProvider{suffix}": market.addresses_provider,
            f"AaveV3ProtocolDataProvider{suffix}": market.data_provider,
            f"AaveV3Oracle{suffix}": market.oracle,
            f"AaveV3PoolConfigurator{suffix}": market.configurator,
            f"AaveV3ACLManager{suffix}": market.acl_manager,
        }
        for asset in market.assets:
            names[f"AaveV3AToken{suffix}:{_symbol(chain_id, asset.symbol)}"] = asset.a_token
    return names


def _symbol(chain_id: int, book_symbol: str) -> str:
    return _SYMBOL_ALIASES.get((chain_id, book_symbol), book_symbol)


def aave_v3_tokens(chain_id: int, known: Iterable[TokenInfo]) -> tuple[TokenInfo, ...]:
    """The underlyings of the chain's Aave markets that ``known`` lacks (by address), with their decimals."""
    known = tuple(known)
    seen = {t.address.lower() for t in known}
    taken = {t.symbol for t in known}
    found: list[TokenInfo] = []
    for market in _markets(chain_id):
        for asset in market.assets:
            if asset.underlying.lower() in seen:
                continue
            symbol = _symbol(chain_id, asset.symbol)
            if symbol in taken:
                raise ValueError(f"aave-v3 book: {symbol} on chain {chain_id} is another token in the registry")
            seen.add(asset.underlying.lower())
            taken.add(symbol)
            found.append(TokenInfo(symbol, asset.underlying, asset.decimals))
    return tuple(found)
