"""The devnet's address registry as a `Deployment`, the same shape adapters get on mainnet.

deployment = devnet_deployment(devnet.chain(1))
deployment.contracts["UniswapV2Factory"], deployment.feeds["ETH/USD"].address
"""

from __future__ import annotations

from typing import Final

from defiscope.deployments import Deployment, FeedInfo, TokenInfo, TreasurySpec
from defiscope.devnet.anvil import ACCOUNTS
from defiscope.devnet.spec import CHAIN_SPECS, PROTOCOL_TOKENS
from defiscope.devnet.supplies import SUPPLIES, non_circulating_holders
from defiscope.devnet.world import DevnetChain

#: Feeds on the devnet are refreshed by the simulation and by every cache load; one hour, as ETH/USD.
HEARTBEAT: Final = 3600
FEED_PREFIX: Final = "feed:"

#: Which feed prices which token symbol (both chains' symbols).
ROUTES: Final = {
    "WETH": ("ETH/USD",),
    "ETH": ("ETH/USD",),
    "WBNB": ("BNB/USD",),
    "WBTC": ("BTC/USD",),
    "BTCB": ("BTC/USD",),
    "USDC": ("USDC/USD",),
    "USDT": ("USDT/USD",),
    "DAI": ("DAI/USD",),
    "LINK": ("LINK/USD",),
    "UNI": ("UNI/USD",),
    "stETH": ("STETH/USD",),
    "CAKE": ("CAKE/USD",),
    "EIGEN": ("EIGEN/USD",),
    "weETH": ("WEETH/USD",),
    "COMP": ("COMP/USD",),
    "AAVE": ("AAVE/USD",),
    "MKR": ("MKR/USD",),
    "CRV": ("CRV/USD",),
    "LDO": ("LDO/USD",),
}
CORE: Final = {
    1: ("WETH", "USDC", "USDT", "DAI", "WBTC"),
    56: ("WBNB", "USDT", "USDC", "BTCB", "ETH"),
    42161: ("WETH", "USDC", "USDT", "WBTC"),
}
#: Registry name of an L2's sequencer-uptime feed (not a price: never refreshed with the price feeds).
SEQUENCER_FEED: Final = "L2SequencerUptimeFeed"
#: Account 9 plays a DAO treasury holding a few tokens.
TREASURY_HOLDER: Final = ACCOUNTS[9]


def devnet_deployment(chain: DevnetChain) -> Deployment:
    spec = CHAIN_SPECS[chain.chain_id]
    tokens = {t.symbol: TokenInfo(t.symbol, chain.tokens[t.symbol], t.decimals) for t in spec.tokens}
    extra = PROTOCOL_TOKENS.get(chain.chain_id, {})
    tokens |= {s: TokenInfo(s, chain.tokens[s], d) for s, d in extra.items() if s in chain.tokens}
    feeds = {
        name[len(FEED_PREFIX) :]: FeedInfo(name[len(FEED_PREFIX) :], address, HEARTBEAT)
        for name, address in chain.contracts.items()
        if name.startswith(FEED_PREFIX)
    }
    routes = {
        symbol: pairs for symbol, pairs in ROUTES.items() if symbol in tokens and all(pair in feeds for pair in pairs)
    }
    contracts = {name: a for name, a in chain.contracts.items() if not name.startswith(FEED_PREFIX)}
    held = tuple(s for s in ("WETH", "WBNB", "USDC", "USDT", "DAI", "WBTC", "BTCB", "LINK", "CAKE") if s in tokens)
    return Deployment(
        chain_id=chain.chain_id,
        network="devnet",
        tokens=tokens,
        feeds=feeds,
        price_routes=routes,
        contracts=contracts,
        core_symbols=CORE[chain.chain_id],
        sequencer_feed=chain.contracts.get(SEQUENCER_FEED),
        treasuries=(TreasurySpec("devnet-treasury", "Devnet Treasury", (TREASURY_HOLDER,), held),),
        locked_supply={
            s.symbol: non_circulating_holders(s, chain.contracts)
            for s in SUPPLIES
            if s.chain_id == chain.chain_id and s.symbol in tokens
        },
    )
