"""Local multi-chain devnet: anvil nodes with real Uniswap V2/V3, tokens, feeds and seeded pools.

Example::

    from defiscope.devnet import start_devnet

    with start_devnet((1, 56)) as devnet:
        eth = devnet.chain(1)
        print(eth.rpc_url, eth.contracts["Multicall3"], eth.tokens["USDC"])

See ``manager`` (start/stop, caching), ``deploy`` (what a chain holds), ``spec`` (the world as data),
``runfile`` (the CLI's detached nodes) and ``artifacts`` (loading and linking contract artifacts).
"""

from defiscope.devnet.errors import DevnetError
from defiscope.devnet.manager import DEFAULT_CHAIN_IDS, Devnet, start_devnet
from defiscope.devnet.world import DevnetChain, DevnetPool

__all__ = ["DEFAULT_CHAIN_IDS", "Devnet", "DevnetChain", "DevnetError", "DevnetPool", "start_devnet"]
