"""Deploys one chain's world on a fresh anvil and returns its registry.

Example::

    node = start_anvil(1)
    chain = deploy_world(node.rpc_url, ETHEREUM)
    chain.contracts["UniswapV3Factory"], chain.tokens["USDC"], chain.pools[0]

Order matters only for addresses: everything is deployed by account 0 in a fixed order, so a fresh
deploy gives the same addresses on every machine.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import Final

import structlog
from web3 import Web3

from defiscope.devnet.aave import deploy_aave_v3
from defiscope.devnet.aave_governance import deploy_aave_governance
from defiscope.devnet.aave_governance_v3 import deploy_aave_governance_v3, hand_markets_to_executor
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.compound_maker import deploy_compound_maker
from defiscope.devnet.curve import deploy_curve
from defiscope.devnet.eigenlayer import deploy_eigenlayer_step
from defiscope.devnet.eigenlayer_admin import deploy_eigenlayer_admin
from defiscope.devnet.governance import deploy_governance
from defiscope.devnet.lido import deploy_lido_step
from defiscope.devnet.maker_governance import deploy_maker_governance
from defiscope.devnet.pancake_v2 import deploy_pancake_v2
from defiscope.devnet.pancake_v3 import deploy_pancake_v3
from defiscope.devnet.safe import deploy_guardian_safe
from defiscope.devnet.spec import ChainSpec
from defiscope.devnet.tokens import deploy_feeds, deploy_tokens, fund_owner
from defiscope.devnet.tx import Sender
from defiscope.devnet.uniswap import (
    approve_all,
    deploy_swap_router02,
    deploy_uniswap_v2,
    deploy_uniswap_v3,
    seed_v2_pool,
    seed_v3_pool,
)
from defiscope.devnet.world import DevnetChain, DevnetPool

log = structlog.get_logger(__name__)

# The canonical Multicall3 address on every EVM chain; our runtime code is placed there.
MULTICALL3_ADDRESS: Final = Web3.to_checksum_address("0xcA11bde05977b3631167028862bE2a173976CA11")

# (step name, weight) for progress reporting.
STEPS: Final = ("multicall", "tokens", "feeds", "uniswap", "v2 pools", "v3 pools")

Progress = Callable[[str], None]


def _no_progress(step: str) -> None:
    del step


def deploy_world(rpc_url: str, spec: ChainSpec, progress: Progress = _no_progress) -> DevnetChain:
    """Deploy contracts, tokens, feeds and seeded pools; ``progress`` is called after each of STEPS."""
    sender = Sender.connect(rpc_url)
    contracts: dict[str, str] = {}

    # anvil_setCode rather than a deployment: the registry address is the same as on mainnet.
    sender.rpc("anvil_setCode", [MULTICALL3_ADDRESS, contract_artifact("Multicall3").deployed_bytecode])
    contracts["Multicall3"] = MULTICALL3_ADDRESS
    contracts["Reverter"] = sender.deploy(contract_artifact("Reverter")).address
    progress("multicall")

    fund_owner(sender, spec)
    tokens = deploy_tokens(sender, spec)
    progress("tokens")

    feeds = deploy_feeds(sender, spec)
    contracts.update({name: feed.address for name, feed in feeds.items()})
    progress("feeds")
    contracts.update(deploy_lido_step(sender, spec.chain_id, tokens))  # stETH, wstETH join `tokens`

    wrapped = next(t.symbol for t in spec.tokens if t.wrapped_native)
    v2 = deploy_uniswap_v2(sender, tokens[wrapped])
    v3 = deploy_uniswap_v3(sender, tokens[wrapped])
    contracts.update({name: c.address for name, c in v2.items()})
    contracts.update(v3.registry())
    contracts["SwapRouter02"] = deploy_swap_router02(sender, v2["UniswapV2Factory"], v3, tokens[wrapped]).address
    approve_all(sender, tokens, [v2["UniswapV2Router02"].address, v3.position_manager.address])
    progress("uniswap")

    pools: list[DevnetPool] = [
        seed_v2_pool(sender, v2["UniswapV2Router02"], v2["UniswapV2Factory"], spec, tokens, pool)
        for pool in spec.v2_pools
    ]
    progress("v2 pools")
    pools += [seed_v3_pool(sender, v3, spec, tokens, pool) for pool in spec.v3_pools]
    progress("v3 pools")
    pancake_registry, pancake_pools = deploy_pancake_v2(sender, spec, tokens)
    contracts.update(pancake_registry)
    pools += pancake_pools
    curve_registry, curve_pools = deploy_curve(sender, spec, tokens)
    contracts.update(curve_registry)
    pools += curve_pools
    contracts.update(deploy_aave_v3(sender, spec, tokens, contracts))
    pancake_v3_registry, pancake_v3_pools = deploy_pancake_v3(sender, spec, tokens)
    contracts.update(pancake_v3_registry)
    pools += pancake_v3_pools

    contracts.update(deploy_compound_maker(sender, spec, tokens, contracts))
    contracts.update(deploy_eigenlayer_step(sender, spec.chain_id, tokens))  # rETH, cbETH join `tokens`
    # Last: the timelocks take over the admin roles the deployer used above.
    contracts.update(deploy_governance(sender, spec, contracts, tokens))
    contracts.update(deploy_aave_governance(sender, spec, contracts, tokens))
    contracts.update(deploy_aave_governance_v3(sender, spec, contracts))
    contracts.update(deploy_maker_governance(sender, spec, contracts, tokens))
    contracts.update(deploy_guardian_safe(sender, spec, contracts))  # Aave's emergency admin, as on mainnet
    contracts.update(hand_markets_to_executor(sender, spec, contracts))  # Aave's markets: Executor_lvl1 alone
    contracts.update(deploy_eigenlayer_admin(sender, spec, contracts))  # its ProxyAdmins' owner: Safe + timelock

    log.info("devnet.deployed", chain_id=spec.chain_id, contracts=len(contracts), pools=len(pools))
    return DevnetChain(
        chain_id=spec.chain_id,
        name=spec.name,
        rpc_url=rpc_url,
        contracts=MappingProxyType(contracts),
        tokens=MappingProxyType({symbol: token.address for symbol, token in tokens.items()}),
        pools=tuple(pools),
    )
