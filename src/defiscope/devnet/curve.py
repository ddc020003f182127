"""Our Curve StableSwap pools on the Ethereum devnet, seeded from :data:`CURVE_POOLS`.

Example::

    registry, pools = deploy_curve(sender, ETHEREUM, tokens)
    registry["Curve3Pool"]                        # DAI/USDC/USDT, its own LP token "3Crv"
    [p for p in pools if p.dex == "curve"]

The pool is ``contracts/src/CurveStableSwap.vy`` compiled per coin count (``contracts/build_vyper.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from web3.contract import Contract

from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.spec import CURVE_POOLS, ChainSpec, CurvePoolSpec
from defiscope.devnet.tx import MAX_UINT256, Sender
from defiscope.devnet.world import DevnetPool

CURVE_CHAIN_ID: Final = 1
#: Curve's fee unit (1e10) per hundredth of a basis point (the DevnetPool fee unit).
FEE_UNITS_PER_PIP: Final = 10_000


def curve_rate(decimals: int) -> int:
    """The pool's rate multiplier for a coin: scales its balance to 18 decimals, times 1e18."""
    return int(10 ** (36 - decimals))


def deploy_curve(
    sender: Sender, spec: ChainSpec, tokens: Mapping[str, Contract]
) -> tuple[dict[str, str], list[DevnetPool]]:
    """Deploy and seed every pool of :data:`CURVE_POOLS` on Ethereum; other chains get nothing."""
    if spec.chain_id != CURVE_CHAIN_ID:
        return {}, []
    registry: dict[str, str] = {}
    pools: list[DevnetPool] = []
    for pool_spec in CURVE_POOLS:
        pool = deploy_curve_pool(sender, spec, tokens, pool_spec)
        registry[pool_spec.registry_name] = pool.address
        coins = [tokens[symbol].address for symbol in pool_spec.coins]
        # A DevnetPool names two tokens: the first two coins; the adapter reads all of them from the pool.
        pools.append(DevnetPool("curve", pool.address, coins[0], coins[1], pool_spec.fee // FEE_UNITS_PER_PIP))
    return registry, pools


def deploy_curve_pool(sender: Sender, spec: ChainSpec, tokens: Mapping[str, Contract], pool: CurvePoolSpec) -> Contract:
    coins = [tokens[symbol] for symbol in pool.coins]
    rates = [curve_rate(spec.token(symbol).decimals) for symbol in pool.coins]
    contract = sender.deploy(
        contract_artifact(f"CurveStableSwap{len(coins)}"),
        [c.address for c in coins],
        rates,
        pool.amplification,
        pool.fee,
        pool.admin_fee,
        f"Curve.fi {'/'.join(pool.coins)}",
        pool.lp_symbol,
    )
    for coin in coins:
        sender.send(coin.functions.approve(contract.address, MAX_UINT256))
    amounts = [spec.token(s).amount_for_usd(usd) for s, usd in zip(pool.coins, pool.usd_per_coin, strict=True)]
    sender.send(contract.functions.add_liquidity(amounts, 0))
    return contract
