"""DEX adapters on the devnet: PancakeSwap V2 on chain 56 and Curve on chain 1, TVL = balances x feed prices."""

from __future__ import annotations

from decimal import Decimal

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.deployments.mainnet import mainnet
from defiscope.devnet.curve import BASE_LP, coin_amount, coin_decimals, is_routable
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.spec import BNB, CURVE_POOLS, ETHEREUM, PANCAKE_V2_POOLS, ChainSpec
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.prices.aggregator import PriceAggregator
from defiscope.protocols.base import Adapter, BalanceKind
from defiscope.protocols.curve.adapter import CurveAdapter, has_curve, route_exclusion
from defiscope.protocols.curve.sources import SOURCES
from defiscope.protocols.registry import adapters_for, known_protocols
from defiscope.protocols.uniswap.v2 import PANCAKESWAP_V2, V2Adapter
from defiscope.routing.discovery import discover_pools
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


#: Curve positions name native ether by WETH (valued as ETH); a metapool's 3Crv is counted in the 3pool.
CURVE_SYMBOL = {"ETH": "WETH"}
CURVE_ROUTE = {"WETH": "ETH/USD", "stETH": "STETH/USD", "WBTC": "BTC/USD", "LINK": "LINK/USD", **ROUTE}


def curve_usd(symbol: str, amount: int) -> Decimal:
    answer = Decimal(ETHEREUM.feed(CURVE_ROUTE[symbol]).answer()) / 10**8
    return Decimal(amount) / Decimal(10) ** coin_decimals(ETHEREUM, symbol) * answer


async def test_curve_tvl_is_pool_balances_times_feed_prices(eth_chain: DevnetChain) -> None:
    total, block, amounts = await tvl(eth_chain, CurveAdapter)
    counted = [(spec, i, symbol) for spec in CURVE_POOLS for i, symbol in enumerate(spec.coins) if symbol != BASE_LP]
    # Each pool's own balances(i), not the registry or factory the adapter asks.
    calls = [EthCall(eth_chain.contracts[spec.registry_name], "balances(uint256)", (i,)) for spec, i, _ in counted]
    answers = iter(batch(eth_chain.rpc_url, calls, hex(block)))
    expected_amounts: dict[str, int] = {}
    seeded: dict[str, int] = {}
    for spec, i, symbol in counted:
        key = CURVE_SYMBOL.get(symbol, symbol)
        expected_amounts[key] = expected_amounts.get(key, 0) + next(answers).decode("uint256")[0]
        seeded[key] = seeded.get(key, 0) + coin_amount(ETHEREUM, symbol, spec.usd_per_coin[i])
    assert amounts == expected_amounts
    assert expected_amounts == seeded
    dollars = sum(spec.usd_per_coin[i] for spec, i, _ in counted)
    assert total == sum((curve_usd(s, a) for s, a in expected_amounts.items()), Decimal(0))
    assert dollars - Decimal("0.001") < total <= dollars  # ether and stETH amounts round down to the wei


async def test_curve_adapter_reads_every_source_coin_and_lp_token(eth_chain: DevnetChain) -> None:
    deployment = devnet_deployment(eth_chain)
    adapter = CurveAdapter(deployment)
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as client:
        reader = Batcher(await client.snapshot()).reader("curve")
        positions = await adapter.positions(reader)
    address = {spec.registry_name: eth_chain.contracts[spec.registry_name] for spec in CURVE_POOLS}
    three = address["Curve3Pool"]
    assert [(p.token, p.holder) for p in positions if p.holder == three] == [
        (eth_chain.tokens[s], three) for s in ("DAI", "USDC", "USDT")
    ]
    # Every pool, each from the registry or factory that lists it; found through the AddressProvider.
    assert {a: p.source for a, p in adapter.pools.items()} == {
        address[s.registry_name]: s.listed_by for s in CURVE_POOLS
    }
    assert len(positions) == sum(len(spec.coins) for spec in CURVE_POOLS) - 1
    # The metapool's 3Crv is the 3pool's LP token: left out, listed as nested.
    assert adapter.nested == {address["CurveUsdt3CrvPool"]: (three,)}
    # Native ether is reported as WETH, for the amount the pool books (its ether balance holds at least that).
    eth_pool = address["CurveEthStethPool"]
    (native,) = [p for p in positions if p.holder == eth_pool and "native ETH" in p.label]
    assert native.token == eth_chain.tokens["WETH"]
    (booked,) = batch(eth_chain.rpc_url, [EthCall(eth_pool, "balances(uint256)", (0,))], "latest")
    assert native.amount == booked.decode("uint256")[0] == coin_amount(ETHEREUM, "ETH", 1_000_000)
    assert int(Sender.connect(eth_chain.rpc_url).rpc("eth_getBalance", [eth_pool, "latest"]), 16) >= native.amount
    # Each pool is its own LP token: another protocol holding it holds a claim on Curve.
    assert sorted(adapter.receipt_tokens()) == sorted(address.values())


async def test_routing_takes_only_pools_our_math_models(eth_chain: DevnetChain) -> None:
    deployment = devnet_deployment(eth_chain)
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as client:
        refs = await discover_pools(Batcher(await client.snapshot()).reader("discovery"), deployment)
    curve = {r.address for r in refs if r.dex == "curve"}
    assert curve == {eth_chain.contracts[s.registry_name] for s in CURVE_POOLS if is_routable(s)}
    assert curve == {p.address for p in eth_chain.pools_of("curve")}
    adapter = CurveAdapter(deployment)
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as client:
        await adapter.positions(Batcher(await client.snapshot()).reader("curve"))
    lp_tokens = {p.lp_token.lower() for p in adapter.pools.values()}
    reasons = {
        name: route_exclusion(adapter.pools[eth_chain.contracts[name]], lp_tokens)
        for name in (
            "CurveEthStethPool",
            "CurveUsdt3CrvPool",
            "CurveWethLinkPool",
            "CurveDaiUsdtNgPool",
            "CurveDaiUsdcPool",
        )
    }
    assert reasons["CurveDaiUsdcPool"] is None
    assert "off-peg fee" in (reasons["CurveDaiUsdtNgPool"] or "")
    assert "native ETH" in (reasons["CurveEthStethPool"] or "")
    assert "metapool" in (reasons["CurveUsdt3CrvPool"] or "")
    assert "cryptoswap" in (reasons["CurveWethLinkPool"] or "")


def test_mainnet_registry_knows_curve() -> None:
    deployment = mainnet(1)
    (adapter,) = [a for a in adapters_for(deployment) if isinstance(a, CurveAdapter)]
    assert adapter.address_provider == "0x0000000022D53366457F9d5E68Ec105046FC4383"
    assert [s.name for s in adapter.sources] == [s.name for s in SOURCES]
    assert adapter.named == ("0xbEbc44782C7dB0a1A60Cb6fe97d0b483032FF1C7",)
    assert known_protocols()["curve"].name == "Curve"
    assert not has_curve(mainnet(56))
