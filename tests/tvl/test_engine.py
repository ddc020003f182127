"""The TVL engine on the devnet: exact values against hand computation, unpriced tokens, failures."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from web3 import Web3

from defiscope.deployments import Deployment
from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.spec import ETHEREUM
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.base import BalanceKind
from defiscope.protocols.registry import adapters_for
from defiscope.protocols.treasury import TreasuryAdapter
from defiscope.protocols.uniswap.v2 import UNISWAP_V2, V2Adapter
from defiscope.tvl.model import exact_sum
from defiscope.tvl.totals import aggregate
from tests.tvl.conftest import TREASURY, EngineFactory, give, with_treasury


def feed_usd(pair: str) -> Decimal:
    return Decimal(ETHEREUM.feed(pair).answer()) / 10**8


async def test_treasury_tvl_equals_hand_computation(
    sender: Sender, deployment: Deployment, eth_chain: DevnetChain, make_engine: EngineFactory
) -> None:
    deposits = {"USDC": 1_234_567_891_011, "WETH": 12_500_000_000_000_000_001, "WBTC": 12_345_678, "DAI": 10**21 + 7}
    for symbol, amount in deposits.items():
        give(sender, eth_chain.tokens[symbol], TREASURY, amount)
    deployment = with_treasury(deployment, *deposits)
    engine = make_engine(deployment, [TreasuryAdapter(deployment, deployment.treasuries[0])])

    result = await engine.snapshot()

    (snap,) = result.snapshots
    prices = {"USDC": "USDC/USD", "WETH": "ETH/USD", "WBTC": "BTC/USD", "DAI": "DAI/USD"}
    decimals = {"USDC": 6, "WETH": 18, "WBTC": 8, "DAI": 18}
    expected = sum(
        (Decimal(amount) / Decimal(10) ** decimals[s] * feed_usd(prices[s]) for s, amount in deposits.items()),
        Decimal(0),
    )
    assert snap.total(BalanceKind.TVL) == expected  # to the unit: 1234567.891011 + 37500.000...003 + ...
    assert {t.symbol: t.amount for t in snap.tokens} == deposits
    assert all(t.price is not None and t.price.source.startswith("chainlink:") for t in snap.tokens)
    assert snap.block == result.block
    assert {c.function for c in snap.calls} == {"balanceOf(address)"}


async def test_uniswap_v2_tvl_is_reserves_times_feed_prices(
    deployment: Deployment, eth_chain: DevnetChain, make_engine: EngineFactory
) -> None:
    engine = make_engine(deployment, [V2Adapter(deployment, UNISWAP_V2)])
    result = await engine.snapshot()
    (snap,) = result.snapshots

    w3 = Web3(Web3.HTTPProvider(eth_chain.rpc_url))
    pair_abi = [
        {"name": n, "type": "function", "stateMutability": "view", "inputs": [], "outputs": o}
        for n, o in (
            ("getReserves", [{"type": "uint112"}, {"type": "uint112"}, {"type": "uint32"}]),
            ("token0", [{"type": "address"}]),
            ("token1", [{"type": "address"}]),
        )
    ]
    by_address = {a: s for s, a in eth_chain.tokens.items()}
    (route,) = {len(pairs) for pairs in deployment.price_routes.values()}  # one feed a token on the devnet
    assert route == 1
    expected = Decimal(0)
    v2_pools = eth_chain.pools_of("uniswap-v2")
    for pool in v2_pools:
        pair = w3.eth.contract(address=pool.address, abi=pair_abi)
        r0, r1, _ = pair.functions.getReserves().call(block_identifier=result.block.number)
        for token, reserve in ((pair.functions.token0().call(), r0), (pair.functions.token1().call(), r1)):
            symbol = by_address[token]
            (pair_name,) = deployment.price_routes[symbol]
            expected += Decimal(reserve) / Decimal(10) ** ETHEREUM.token(symbol).decimals * feed_usd(pair_name)
    assert len(v2_pools) == 7
    assert snap.total(BalanceKind.TVL) == expected
    assert 31_000_000 < expected < 35_000_000  # 7 pools, $33M seeded (MKR and COMP against WETH: $1M)


async def test_unpriced_token_is_listed_not_zero(
    sender: Sender, deployment: Deployment, make_engine: EngineFactory, eth_chain: DevnetChain
) -> None:
    nope = sender.deploy(contract_artifact("DevToken"), "Nobody Prices Me", "NOPE", 18)
    sender.send(nope.functions.mint(TREASURY, 5 * 10**18))
    give(sender, eth_chain.tokens["USDC"], TREASURY, 2_000_000)
    deployment = with_treasury(deployment, "USDC", nope.address)
    engine = make_engine(deployment, [TreasuryAdapter(deployment, deployment.treasuries[0])])

    (snap,) = (await engine.snapshot()).snapshots

    (unpriced,) = snap.unpriced
    assert unpriced.symbol == "NOPE"
    assert unpriced.amount == 5 * 10**18
    assert unpriced.value_usd is None
    assert unpriced.unpriced_reason
    assert snap.total(BalanceKind.TVL) == Decimal("2")  # only the USDC, and never a 0 for NOPE


async def test_unreadable_protocol_is_a_failure_not_zero(deployment: Deployment, make_engine: EngineFactory) -> None:
    broken = replace(deployment, contracts={**deployment.contracts, "UniswapV2Factory": "0x" + "11" * 20})
    engine = make_engine(broken, [V2Adapter(broken, UNISWAP_V2)])

    result = await engine.snapshot()

    assert result.snapshots == ()
    (failure,) = result.failures
    assert failure.slug == "uniswap-v2"
    assert "allPairsLength()" in failure.reason
    assert "empty return data" in failure.reason


async def test_lp_token_in_treasury_is_counted_once_in_the_total(
    sender: Sender, deployment: Deployment, eth_chain: DevnetChain, make_engine: EngineFactory
) -> None:
    pool = next(
        p
        for p in eth_chain.pools_of("uniswap-v2")
        if {p.token0, p.token1} == {eth_chain.tokens["WETH"], eth_chain.tokens["USDC"]}
    )
    lp = sender.contract(contract_artifact("DevToken"), pool.address)
    owned = lp.functions.balanceOf(sender.owner).call()
    sender.send(lp.functions.transfer(TREASURY, owned // 10))
    deployment = with_treasury(deployment, pool.address)
    engine = make_engine(
        deployment, [V2Adapter(deployment, UNISWAP_V2), TreasuryAdapter(deployment, deployment.treasuries[0])]
    )

    result = await engine.snapshot()

    by_slug = {s.slug: s for s in result.snapshots}
    (lp_value,) = by_slug["test-treasury"].tokens
    assert lp_value.receipt_of == "uniswap-v2"
    assert lp_value.value_usd is not None
    assert lp_value.value_usd > 0
    total = aggregate(result.snapshots)
    own = exact_sum([by_slug["uniswap-v2"].total(BalanceKind.TVL), by_slug["test-treasury"].total(BalanceKind.TVL)])
    assert total.sum_of_protocols_usd == own
    assert total.double_counted_usd == lp_value.value_usd
    assert total.tvl_usd == by_slug["uniswap-v2"].total(BalanceKind.TVL)
    weth = sender.contract(npm_artifact("WETH9"), eth_chain.tokens["WETH"])
    assert weth.functions.balanceOf(TREASURY).call() == 0  # the treasury holds only the LP token


async def test_snapshot_after_discovery_costs_three_requests_then_two(
    deployment: Deployment, make_engine: EngineFactory, sender: Sender
) -> None:
    # Every protocol of the chain: the block, the new logs since the last block seen (the factories' PoolCreated,
    # the followed state's events), one batch of every adapter's calls together with every known token's price.
    # Once the filters a block asks are known, the next block's logs go in the request of its header.
    engine = make_engine(deployment)
    first = await engine.snapshot()
    assert {s.slug for s in first.snapshots} == {a.info.slug for a in adapters_for(deployment)}
    assert first.failures == ()
    previous = first
    for expected in (3, 2):
        sender.rpc("evm_mine", [])  # a new head, so the log scan has a block to cover
        before = engine.client.rpc.total_requests()
        later = await engine.snapshot(previous.block.number + 1)
        assert engine.client.rpc.total_requests() - before == expected
        assert later.failures == ()
        assert [s.slug for s in later.snapshots] == [s.slug for s in first.snapshots]  # (interest moves the values)
        previous = later
