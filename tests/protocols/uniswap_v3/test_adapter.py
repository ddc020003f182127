"""Uniswap V3 and PancakeSwap V3 TVL on the devnet: pool balances x feed prices, computed independently."""

from __future__ import annotations

from decimal import Decimal, localcontext
from fractions import Fraction

from web3 import Web3

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.deployments.mainnet import mainnet
from defiscope.devnet.artifacts import npm_artifact
from defiscope.devnet.deployment import ROUTES, devnet_deployment
from defiscope.devnet.spec import CHAIN_SPECS, ETHEREUM
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.prices.aggregator import PriceAggregator
from defiscope.protocols.base import BalanceKind
from defiscope.protocols.pancakeswap.v3 import PANCAKESWAP_V3
from defiscope.protocols.registry import adapters_for
from defiscope.protocols.uniswap.v3 import V3Adapter
from defiscope.protocols.uniswap.v3_spec import UNISWAP_V3, V3Spec, pool_address
from defiscope.tvl.engine import TvlEngine

BALANCE_OF = [
    {
        "name": "balanceOf",
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"type": "address"}],
        "outputs": [{"type": "uint256"}],
    }
]


def expected_tvl(chain: DevnetChain, dex: str, block: int) -> tuple[Decimal, int]:
    """Sum over the seeded pools of balanceOf(pool) of both tokens x the feed price (web3, not our code)."""
    w3 = Web3(Web3.HTTPProvider(chain.rpc_url))
    spec = CHAIN_SPECS[chain.chain_id]
    by_address = {a: s for s, a in chain.tokens.items()}
    total, positions = Fraction(0), 0
    for pool in chain.pools_of(dex):  # type: ignore[arg-type]
        for token in (pool.token0, pool.token1):
            symbol = by_address[token]
            balance = w3.eth.contract(address=token, abi=BALANCE_OF).functions.balanceOf(pool.address)
            amount = balance.call(block_identifier=block)
            (pair,) = ROUTES[symbol]
            price = Fraction(spec.feed(pair).answer(), 10**8)
            total += Fraction(amount, 10 ** spec.token(symbol).decimals) * price
            positions += 1
    # Exact: every term is an integer amount x an 8-decimal answer; a 28-digit Decimal context would round.
    with localcontext() as exact:
        exact.prec = 80
        return Decimal(total.numerator) / Decimal(total.denominator), positions


async def tvl_of(chain: DevnetChain, spec: V3Spec) -> tuple[Decimal, int, int, V3Adapter]:
    deployment = devnet_deployment(chain)
    adapter = V3Adapter(deployment, spec)
    async with ChainClient.connect(chain.chain_id, [chain.rpc_url]) as client:
        engine = TvlEngine(client, deployment, [adapter], PriceAggregator(deployment))
        result = await engine.snapshot()
    (snap,) = result.snapshots
    assert not snap.unpriced
    return snap.total(BalanceKind.TVL), len(snap.tokens), result.block.number, adapter


async def test_uniswap_v3_tvl_is_pool_balances_times_feed_prices(eth_chain: DevnetChain) -> None:
    total, _, block, adapter = await tvl_of(eth_chain, UNISWAP_V3)
    expected, positions = expected_tvl(eth_chain, "uniswap-v3", block)
    assert total == expected
    assert (len(adapter.pools), positions) == (10, 20)  # five with the graded tokens against WETH
    # Both sides of every seeded pool, less a little: out-of-range positions hold one side only.
    seeded = 2 * sum(pool.usd_per_side for pool in ETHEREUM.v3_pools)
    assert seeded * 85 // 100 < expected < seeded


async def test_pancakeswap_v3_tvl_is_pool_balances_times_feed_prices(bnb_chain: DevnetChain) -> None:
    total, _, block, adapter = await tvl_of(bnb_chain, PANCAKESWAP_V3)
    expected, positions = expected_tvl(bnb_chain, "pancakeswap-v3", block)
    assert total == expected
    assert (len(adapter.pools), positions) == (3, 6)
    assert {p.fee: p.tick_spacing for p in adapter.pools} == {500: 10, 2500: 50, 100: 1}


async def test_discovery_scans_only_new_blocks_and_respects_old_blocks(bnb_chain: DevnetChain) -> None:
    deployment = devnet_deployment(bnb_chain)
    adapter = V3Adapter(deployment, PANCAKESWAP_V3)
    sender = Sender.connect(bnb_chain.rpc_url)
    factory = sender.contract(npm_artifact("PancakeV3Factory"), deployment.contract("PancakeV3Factory"))
    async with ChainClient.connect(56, [bnb_chain.rpc_url]) as client:
        first = await client.snapshot()
        await adapter.discover(Batcher(first).reader("t"))
        assert (len(adapter.pools), adapter.created.scanned_to) == (3, first.block.number)

        cake, wbnb = bnb_chain.tokens["CAKE"], bnb_chain.tokens["WBNB"]
        sender.send(factory.functions.createPool(cake, wbnb, 10000))
        second = await client.snapshot()
        pools = await adapter.discover(Batcher(second).reader("t"))
        created = pools[-1]
        assert (len(pools), adapter.created.scanned_to) == (4, second.block.number)
        assert (created.fee, created.tick_spacing) == (10000, 200)
        assert created.address == factory.functions.getPool(cake, wbnb, 10000).call()
        # At the earlier block the new pool did not exist yet.
        assert len(await adapter.discover(Batcher(first).reader("t"))) == 3


def test_pool_addresses_follow_create2_of_the_deployer(bnb_chain: DevnetChain, eth_chain: DevnetChain) -> None:
    """Our deployer CREATE2s the shipped pool code: addresses follow mainnet's init-code hash."""
    for chain, spec in ((bnb_chain, PANCAKESWAP_V3), (eth_chain, UNISWAP_V3)):
        deployer = chain.contracts[spec.deployer]
        for pool in chain.pools_of(spec.info.slug):  # type: ignore[arg-type]
            assert pool_address(spec, deployer, pool.token1, pool.token0, pool.fee) == pool.address


def test_registries_list_the_v3_adapters(bnb_chain: DevnetChain, eth_chain: DevnetChain) -> None:
    slugs = {
        chain.chain_id: [a.info.slug for a in adapters_for(devnet_deployment(chain))]
        for chain in (eth_chain, bnb_chain)
    }
    assert "uniswap-v3" in slugs[1]
    assert "pancakeswap-v3" in slugs[56]
    bsc = mainnet(56).contracts
    assert (bsc["PancakeV3Factory"], bsc["PancakeV3PoolDeployer"]) == (
        "0x0BFbCF9fa4f9C56B0F40a671Ad40E0805A091865",
        "0x41ff9AA7e16B8B1a8a8dc4f0eFacd93D02d071c9",
    )
    assert mainnet(1).contracts["UniswapV3Factory"] == "0x1F98431c8aD98523631AE4a59f267346ea31F984"
