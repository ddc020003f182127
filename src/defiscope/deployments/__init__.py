"""Where things are on a chain: tokens, price feeds, protocol contracts — for mainnet and for the devnet.

Adapters and price sources look addresses up here by name, so the same code runs on mainnet and on the
devnet; only the `Deployment` differs.

    >>> from defiscope.deployments.mainnet import mainnet
    >>> eth = mainnet(1)
    >>> eth.token("USDC").decimals, eth.contracts["UniswapV2Factory"]
    (6, '0x5C69bEe701ef814a2B6a3EDD4B1652CB9cc5aA6f')
    >>> eth.price_routes["WBTC"]
    ('WBTC/BTC', 'BTC/USD')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeVar

from defiscope.errors import DefiscopeError


class UnknownName(DefiscopeError):
    """A token, feed or contract name that this deployment does not have."""


@dataclass(frozen=True, slots=True)
class TokenInfo:
    symbol: str
    address: str  # checksum
    decimals: int
    coingecko_id: str | None = None


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """A Chainlink-compatible feed: `pair` is "BASE/QUOTE" (e.g. "ETH/USD"), `heartbeat` in seconds."""

    pair: str
    address: str
    heartbeat: int
    decimals: int = 8


@dataclass(frozen=True, slots=True)
class TreasurySpec:
    """A "tokens held by these addresses" protocol (a DAO treasury, a fund)."""

    slug: str
    name: str
    holders: tuple[str, ...]
    tokens: tuple[str, ...]  # symbols in the deployment's token list, or token addresses


K = TypeVar("K")
V = TypeVar("V")


def _frozen(mapping: Mapping[K, V]) -> Mapping[K, V]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class Deployment:
    chain_id: int
    network: str  # "mainnet" or "devnet"
    tokens: Mapping[str, TokenInfo]  # by symbol
    feeds: Mapping[str, FeedInfo]  # by pair
    #: token symbol -> feed pairs whose answers multiply into its USD price, e.g. WBTC -> (WBTC/BTC, BTC/USD)
    price_routes: Mapping[str, tuple[str, ...]]
    contracts: Mapping[str, str]  # by registry name, e.g. "UniswapV2Factory"
    #: assets a DEX price may be quoted against (they have a trusted price themselves)
    core_symbols: tuple[str, ...]
    sequencer_feed: str | None = None  # L2 sequencer-uptime feed, where the chain has one
    treasuries: tuple[TreasurySpec, ...] = ()
    #: token symbol -> the holders whose balances are not circulating (treasury, vesting, team): circulating =
    #: totalSupply() minus their balanceOf. A token missing here has no known split (its circulating is unknown).
    locked_supply: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: No protocol contract listed here emitted an event before this block: scans of their whole history (the
    #: control events of `protocols.control`) start here, not at genesis, which mainnet providers refuse. 0: not known.
    first_block: int = 0
    _by_address: Mapping[str, TokenInfo] = field(init=False, repr=False, compare=False)
    _core: tuple[TokenInfo, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("tokens", "feeds", "price_routes", "contracts", "locked_supply"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        object.__setattr__(self, "_by_address", _frozen({t.address.lower(): t for t in self.tokens.values()}))
        # Asked per token priced, every block: built once.
        object.__setattr__(self, "_core", tuple(self.tokens[s] for s in self.core_symbols if s in self.tokens))

    def token(self, symbol: str) -> TokenInfo:
        info = self.tokens.get(symbol)
        if info is None:
            known = ", ".join(sorted(self.tokens))
            raise UnknownName(f"unknown token {symbol!r} on chain {self.chain_id} ({self.network}); known: {known}")
        return info

    def token_at(self, address: str) -> TokenInfo | None:
        return self._by_address.get(address.lower())

    def contract(self, name: str) -> str:
        address = self.contracts.get(name)
        if address is None:
            raise UnknownName(f"no contract {name!r} on chain {self.chain_id} ({self.network})")
        return address

    @property
    def core_tokens(self) -> tuple[TokenInfo, ...]:
        return self._core
