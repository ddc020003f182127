"""DEX adapters on the devnet: PancakeSwap V2 on chain 56 and Curve on chain 1, TVL = balances x feed prices."""

from __future__ import annotations

from decimal import Decimal

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.deployments.mainnet import mainnet
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.spec import BNB, CURVE_POOLS, ETHEREUM, PANCAKE_V2_POOLS, ChainSpec
from defiscope.devnet.world import DevnetChain
from defiscope.prices.aggregator import PriceAggregator
from defiscope.protocols.base import Adapter, BalanceKind
from defiscope.protocols.curve.adapter import CurveAdapter, has_curve
from defiscope.protocols.registry import adapters_for, known_protocols
from defiscope.protocols.uniswap.v2 import PANCAKESWAP_V2, V2Adapter
from defiscope.tvl.engine import TvlEngine
from tests.protocols.dex.rpc import EthCall, batch

ROUTE = {
    "WBNB": "BNB/USD",
    "USDT": "USDT/USD",
    "CAKE": "CAKE/USD",
    "BTCB": "BTC/USD",
    "USDC": "USDC/USD",
    "DAI": "DAI/USD",
}


def usd(spec: ChainSpec, symbol: str, amount: int) -> Decimal:
    answer = Decimal(spec.feed(ROUTE[symbol]).answer()) / 10**8
    return Decimal(amount) / Decimal(10) ** spec.token(symbol).decimals * answer


async def tvl(chain: DevnetChain, adapter_type: type[Adapter]) -> tuple[Decimal, int, dict[str, int]]:
    deployment = devnet_deployment(chain)
    adapters = [a for a in adapters_for(deployment) if isinstance(a, adapter_type)]
    async with ChainClient.connect(chain.chain_id, [chain.rpc_url]) as client:
        engine = TvlEngine(client, deployment, adapters, PriceAggregator(deployment))
        result = await engine.snapshot()
    (snap,) = result.snapshots
    symbols = {a: s for s, a in chain.tokens.items()}
    return snap.total(BalanceKind.TVL), result.block.number, {symbols[t.token]: t.amount for t in snap.tokens}


async def test_pancakeswap_v2_tvl_is_reserves_times_feed_prices(bnb_chain: DevnetChain) -> None:
    deployment = devnet_deployment(bnb_chain)
    assert [a.info.slug for a in adapters_for(deployment) if isinstance(a, V2Adapter)] == [
        "uniswap-v2",
        PANCAKESWAP_V2.info.slug,
    ]
    pools = bnb_chain.pools_of("pancakeswap-v2")
    adapter = V2Adapter(deployment, PANCAKESWAP_V2)
    async with ChainClient.connect(56, [bnb_chain.rpc_url]) as client:
        engine = TvlEngine(client, deployment, [adapter], PriceAggregator(deployment))
        result = await engine.snapshot()
    (snap,) = result.snapshots
    symbols = {a: s for s, a in bnb_chain.tokens.items()}
    answers = batch(bnb_chain.rpc_url, [EthCall(p.address, "getReserves()") for p in pools], hex(result.block.number))
    expected_amounts: dict[str, int] = {}
    for pool, answer in zip(pools, answers, strict=True):
        r0, r1, _ = answer.decode("uint112", "uint112", "uint32")
        for token, reserve in ((pool.token0, r0), (pool.token1, r1)):
            expected_amounts[symbols[token]] = expected_amounts.get(symbols[token], 0) + reserve
    assert {symbols[t.token]: t.amount for t in snap.tokens} == expected_amounts
    expected = sum((usd(BNB, s, a) for s, a in expected_amounts.items()), Decimal(0))
    assert snap.total(BalanceKind.TVL) == expected
    seeded = 2 * sum(pool.usd_per_side for pool in PANCAKE_V2_POOLS)  # both sides of every pair
    assert seeded - 1_000 < expected <= seeded
    assert (snap.slug, snap.chain_id) == ("pancakeswap-v2", 56)


async def test_curve_tvl_is_pool_balances_times_feed_prices(eth_chain: DevnetChain) -> None:
    total, block, amounts = await tvl(eth_chain, CurveAdapter)
    calls = [
        EthCall(eth_chain.contracts[spec.registry_name], "balances(uint256)", (i,))
        for spec in CURVE_POOLS
        for i in range(len(spec.coins))
    ]
    answers = iter(batch(eth_chain.rpc_url, calls, hex(block)))
    expected_amounts: dict[str, int] = {}
    for spec in CURVE_POOLS:
        for symbol in spec.coins:
            expected_amounts[symbol] = expected_amounts.get(symbol, 0) + next(answers).decode("uint256")[0]
    assert amounts == expected_amounts
    seeded: dict[str, int] = {}
    for spec in CURVE_POOLS:
        for symbol, dollars in zip(spec.coins, spec.usd_per_coin, strict=True):
            seeded[symbol] = seeded.get(symbol, 0) + ETHEREUM.token(symbol).amount_for_usd(dollars)
    assert expected_amounts == seeded
    dollars = sum(sum(spec.usd_per_coin) for spec in CURVE_POOLS)
    assert total == sum((usd(ETHEREUM, s, a) for s, a in expected_amounts.items()), Decimal(0)) == dollars


async def test_curve_adapter_reads_every_coin_and_its_lp_token(eth_chain: DevnetChain) -> None:
    deployment = devnet_deployment(eth_chain)
    adapter = CurveAdapter(deployment)
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as client:
        reader = Batcher(await client.snapshot()).reader("curve")
        positions = await adapter.positions(reader)
    three = eth_chain.contracts["Curve3Pool"]
    assert [(p.token, p.holder) for p in positions if p.holder == three] == [
        (eth_chain.tokens[s], three) for s in ("DAI", "USDC", "USDT")
    ]
    assert len(positions) == 5
    # Each pool is its own LP token: another protocol holding it holds a claim on Curve.
    assert sorted(adapter.receipt_tokens()) == sorted(p.address for p in eth_chain.pools_of("curve"))


def test_mainnet_registry_knows_curve() -> None:
    deployment = mainnet(1)
    (adapter,) = [a for a in adapters_for(deployment) if isinstance(a, CurveAdapter)]
    assert adapter.registry == "0x90E00ACe148ca3b23Ac1bC8C240C2a7Dd9c2d7f5"
    assert adapter.named == ("0xbEbc44782C7dB0a1A60Cb6fe97d0b483032FF1C7",)
    assert known_protocols()["curve"].name == "Curve"
    assert not has_curve(mainnet(56))
