"""A PancakeSwap V2-style factory on BNB Chain and its seeded pairs.

Example::

    registry, pools = deploy_pancake_v2(sender, BNB, tokens)
    registry["PancakeV2Factory"], registry["PancakeV2Router"], [p.address for p in pools if p.dex == "pancakeswap-v2"]

The pair, factory and router are Uniswap V2's own sources (core and periphery's Router02) with PancakeSwap's
constants (0.25 % swap fee, 8/25 of it to ``feeTo``; the router's pair init-code hash), built by
``contracts/build_pancake_v2.mjs``. The fee switch is on, as on mainnet.
Liquidity is seeded as the router adds it: both tokens transferred to the pair, then ``mint``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from web3 import Web3
from web3.contract import Contract

from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.seeding import seed_address
from defiscope.devnet.spec import PANCAKE_V2_POOLS, ChainSpec, PoolSpec
from defiscope.devnet.tx import Sender
from defiscope.devnet.uniswap import sort_tokens
from defiscope.devnet.world import DevnetPool

PANCAKE_V2_FEE: Final = 2500  # hundredths of a basis point: 0.25 %
PANCAKE_CHAIN_ID: Final = 56
#: Where the pairs mint the protocol's fee (mainnet's feeTo is PancakeSwap's fee collector; here a seeded address).
PANCAKE_V2_FEE_TO: Final = seed_address("pancakeswap-v2", "fee-to")


def deploy_pancake_v2(
    sender: Sender, spec: ChainSpec, tokens: Mapping[str, Contract]
) -> tuple[dict[str, str], list[DevnetPool]]:
    """Deploy the factory and seed :data:`PANCAKE_V2_POOLS` on BNB Chain; other chains get nothing."""
    if spec.chain_id != PANCAKE_CHAIN_ID:
        return {}, []
    factory = sender.deploy(contract_artifact("PancakeV2Factory"), sender.owner)
    # Mainnet's fee switch is on: the pairs mint 8/25 of their fees' growth in sqrt(k) to PancakeSwap's treasury.
    sender.send(factory.functions.setFeeTo(PANCAKE_V2_FEE_TO))
    wrapped = next(t.symbol for t in spec.tokens if t.wrapped_native)
    router = sender.deploy(contract_artifact("PancakeV2Router"), factory.address, tokens[wrapped].address)
    pools = [seed_pancake_pair(sender, factory, spec, tokens, pool) for pool in PANCAKE_V2_POOLS]
    return {"PancakeV2Factory": factory.address, "PancakeV2Router": router.address}, pools


def seed_pancake_pair(
    sender: Sender, factory: Contract, spec: ChainSpec, tokens: Mapping[str, Contract], pool: PoolSpec
) -> DevnetPool:
    a, b = spec.token(pool.token_a), spec.token(pool.token_b)
    token_a, token_b = tokens[a.symbol], tokens[b.symbol]
    sender.send(factory.functions.createPair(token_a.address, token_b.address))
    pair = factory.functions.getPair(token_a.address, token_b.address).call()
    sender.send(token_a.functions.transfer(pair, a.amount_for_usd(pool.usd_per_side)))
    sender.send(token_b.functions.transfer(pair, b.amount_for_usd(pool.usd_per_side)))
    sender.send(sender.contract(contract_artifact("PancakeV2Pair"), pair).functions.mint(sender.owner))
    token0, token1 = sort_tokens(token_a.address, token_b.address)
    return DevnetPool(
        dex="pancakeswap-v2", address=Web3.to_checksum_address(pair), token0=token0, token1=token1, fee=PANCAKE_V2_FEE
    )
