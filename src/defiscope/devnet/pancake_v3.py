"""PancakeSwap V3 on BNB Chain from `@pancakeswap/v3-core`, its pool deployer, and seeded pools.

Example::

    registry, pools = deploy_pancake_v3(sender, BNB, tokens)
    registry["PancakeV3Factory"], registry["PancakeV3SwapRouter"], registry["V3PoolCaller"]

The factory and pool are the package's, unchanged (the pool's init-code hash is mainnet's
``0x6ce8eb47...f7e2``). The package lacks PancakeV3PoolDeployer: ours (``contracts/src``) CREATE2s the
shipped pool creation code as the real one does. The swap router is `@pancakeswap/v3-periphery`'s: it
finds pools from the deployer's address and that hash, so it reaches ours unchanged. Every chain gets
``V3PoolCaller``, which mints and swaps directly on V3 pools of either protocol (the seeding here, and
tests' exact swaps). Pools are laid out as the Uniswap V3 ones (`devnet.uniswap.V3_LAYOUT`): a full-range
position and narrow ones around the price. Each pool's protocol fee is BNB Chain's for its tier
(`PROTOCOL_FEES`), set through the factory as PancakeSwap's owner does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from web3 import Web3
from web3.contract import Contract

from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.spec import PANCAKE_V3_POOLS, ChainSpec, PoolSpec
from defiscope.devnet.tx import MAX_UINT256, Sender
from defiscope.devnet.uniswap import pool_tokens, sqrt_price_x96, v3_positions
from defiscope.devnet.world import DevnetPool
from defiscope.protocols.uniswap.math.position import get_liquidity_for_amounts
from defiscope.protocols.uniswap.math.tick_math import get_sqrt_ratio_at_tick

PANCAKE_V3_CHAIN_ID: Final = 56
#: The protocol's share of each fee tier's swap fee on BNB Chain, in 1/10,000 (PancakeSwap docs, "Trading fees":
#: 33 % of 0.01 %, 34 % of 0.05 %, 32 % of 0.25 % and of 1 %); a pool starts at 3200 for both tokens.
PROTOCOL_FEES: Final[Mapping[int, int]] = {100: 3300, 500: 3400, 2500: 3200, 10000: 3200}


def deploy_pancake_v3(
    sender: Sender, spec: ChainSpec, tokens: Mapping[str, Contract]
) -> tuple[dict[str, str], list[DevnetPool]]:
    """Deploy `V3PoolCaller` on every chain; on BNB Chain also PancakeSwap V3 with :data:`PANCAKE_V3_POOLS`."""
    caller = sender.deploy(contract_artifact("V3PoolCaller"))
    for token in tokens.values():
        sender.send(token.functions.approve(caller.address, MAX_UINT256))
    registry: dict[str, str] = {"V3PoolCaller": caller.address}
    if spec.chain_id != PANCAKE_V3_CHAIN_ID:
        return registry, []

    deployer = sender.deploy(contract_artifact("PancakeV3PoolDeployer"), bytes.fromhex(_pool_init_code()))
    # The factory's constructor enables 100/1, 500/10, 2500/50 and 10000/200, as on mainnet.
    factory = sender.deploy(npm_artifact("PancakeV3Factory"), deployer.address)
    sender.send(deployer.functions.setFactoryAddress(factory.address))
    wrapped = next(t.symbol for t in spec.tokens if t.wrapped_native)
    router = sender.deploy(
        npm_artifact("PancakeV3SwapRouter"), deployer.address, factory.address, tokens[wrapped].address
    )
    registry |= {
        "PancakeV3Factory": factory.address,
        "PancakeV3PoolDeployer": deployer.address,
        "PancakeV3SwapRouter": router.address,
    }
    pools = [seed_pancake_v3_pool(sender, factory, caller, spec, tokens, pool) for pool in PANCAKE_V3_POOLS]
    return registry, pools


def _pool_init_code() -> str:
    return npm_artifact("PancakeV3Pool").bytecode.removeprefix("0x")


def seed_pancake_v3_pool(
    sender: Sender,
    factory: Contract,
    caller: Contract,
    spec: ChainSpec,
    tokens: Mapping[str, Contract],
    pool: PoolSpec,
) -> DevnetPool:
    spec0, spec1 = pool_tokens(spec, tokens, pool)
    token0, token1 = tokens[spec0.symbol].address, tokens[spec1.symbol].address
    sender.send(factory.functions.createPool(token0, token1, pool.fee))
    address = Web3.to_checksum_address(factory.functions.getPool(token0, token1, pool.fee).call())
    contract = sender.contract(npm_artifact("PancakeV3Pool"), address)
    price = sqrt_price_x96(spec0, spec1)
    sender.send(contract.functions.initialize(price))
    spacing: int = factory.functions.feeAmountTickSpacing(pool.fee).call()
    tick: int = contract.functions.slot0().call()[1]
    for lower, upper, amount0, amount1 in v3_positions(pool, spec0, spec1, tick, spacing):
        liquidity = get_liquidity_for_amounts(
            price, get_sqrt_ratio_at_tick(lower), get_sqrt_ratio_at_tick(upper), amount0, amount1
        )
        sender.send(caller.functions.mint(address, sender.owner, lower, upper, liquidity))
    protocol_fee = PROTOCOL_FEES[pool.fee]
    sender.send(factory.functions.setFeeProtocol(address, protocol_fee, protocol_fee))
    return DevnetPool(dex="pancakeswap-v3", address=address, token0=token0, token1=token1, fee=pool.fee)
