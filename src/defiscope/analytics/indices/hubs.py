"""Each chain's trading hub, gas coin and single-token benchmark, by symbol in its registry (pure data).

An index's trades route through its chain's hub, the token every other one is paired with: WETH on Ethereum and
its rollups, WBNB on BNB Chain (`rebalance` sells into the hub, then buys out of it). Gas is paid in the native
coin, priced like its wrapped token. The single-token benchmark is ETH everywhere: WETH, or Binance-Peg ETH on
BNB Chain (registered there as ETH).

    >>> bnb = on_chain(BacktestOptions(), 56)
    >>> bnb.hub, bnb.native, bnb.reference
    ('WBNB', 'WBNB', 'ETH')
    >>> on_chain(BacktestOptions(), 1).hub
    'WETH'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from defiscope.analytics.indices.backtest import BacktestOptions


@dataclass(frozen=True, slots=True)
class ChainHub:
    hub: str
    native: str
    reference: str


#: Chains whose hub is not WETH (the default: Ethereum and its rollups).
HUBS: Final[Mapping[int, ChainHub]] = MappingProxyType({56: ChainHub("WBNB", "WBNB", "ETH")})
DEFAULT_HUB: Final = ChainHub("WETH", "WETH", "WETH")


def hub_of(chain_id: int) -> ChainHub:
    return HUBS.get(chain_id, DEFAULT_HUB)


def on_chain(options: BacktestOptions, chain_id: int) -> BacktestOptions:
    """`options` with the chain's hub, gas coin and benchmark."""
    chain = hub_of(chain_id)
    return dataclasses.replace(options, hub=chain.hub, native=chain.native, reference=chain.reference)


def hub_symbols(options: BacktestOptions) -> tuple[str, ...]:
    """The tokens an index needs priced whatever its members: the hub, the gas coin and the benchmark."""
    return tuple(dict.fromkeys((options.hub, options.native, options.reference)))
