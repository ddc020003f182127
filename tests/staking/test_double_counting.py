"""Double counting end to end: Lido's ETH reappears as wstETH in Aave V3, stETH in EigenLayer, stETH in a Curve
stETH/WETH pool and in a Uniswap V2 stETH/WETH pair. Each protocol's own TVL includes it; the aggregate counts
each underlying ETH once (engine and CLI).

The Curve pool is deployed by the test with the devnet's own Curve deployer (next to the seeded world's ETH/stETH
and WETH/stETH pools), and joins the deployment under a ``Curve<Name>Pool`` registry name, which is how the Curve
adapter finds pools no registry lists.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from defiscope.cli import app
from defiscope.deployments import Deployment
from defiscope.devnet.artifacts import npm_artifact
from defiscope.devnet.curve import coin_amount, deploy_curve_pool
from defiscope.devnet.spec import CURVE_POOLS, ETHEREUM, CurvePoolSpec, TokenSpec
from defiscope.devnet.tx import DEADLINE, MAX_UINT256, Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.base import BalanceKind
from defiscope.protocols.registry import adapters_for
from defiscope.tvl.model import ProtocolSnapshot, exact_sum
from defiscope.tvl.totals import aggregate
from tests.service.conftest import cli, devnet_home  # noqa: F401  (fixtures reused)
from tests.staking.conftest import ETHER, deposited
from tests.tvl.conftest import EngineFactory

STACKED = ("aave-v3", "eigenlayer", "curve", "uniswap-v2")
SLUGS = ("lido", *STACKED)
CLI_SLUGS = ("lido", "aave-v3", "eigenlayer", "uniswap-v2")  # the CLI sees the seeded world: no stETH Curve pool
#: 3,000,000 USD a side: 1,000 WETH and 1,001.67 stETH at the devnet's prices.
STETH_POOL = CurvePoolSpec("CurveStethPool", "steCRV", ("WETH", "stETH"), (3_000_000, 3_000_000), 50, 1_000_000)


def curve_steth_pool(sender: Sender, chain: DevnetChain, deployment: Deployment) -> Deployment:
    """Deploy and seed a Curve stETH/WETH pool from account 0; the deployment that lists it."""
    steth = TokenSpec("stETH", "Liquid staked Ether 2.0", 18, ETHEREUM.feed("STETH/USD").price, 0, 0)
    spec = replace(ETHEREUM, tokens=(*ETHEREUM.tokens, steth))
    tokens = {s: sender.contract(npm_artifact("WETH9"), chain.tokens[s]) for s in STETH_POOL.coins}  # ERC-20 calls
    sender.send(tokens["WETH"].functions.deposit(), value=1_000 * ETHER)
    pool = deploy_curve_pool(sender, spec, tokens, STETH_POOL)
    return replace(deployment, contracts={**deployment.contracts, STETH_POOL.registry_name: pool.address})


def steth_pair(sender: Sender, chain: DevnetChain) -> None:
    """A 1,000 stETH / 998 WETH Uniswap V2 pair, from account 0."""
    router = sender.contract(npm_artifact("UniswapV2Router02"), chain.contracts["UniswapV2Router02"])
    weth = sender.contract(npm_artifact("WETH9"), chain.tokens["WETH"])
    steth = sender.contract(npm_artifact("WETH9"), chain.tokens["stETH"])  # ERC-20 functions only
    sender.send(weth.functions.deposit(), value=998 * ETHER)
    for token in (weth, steth):
        sender.send(token.functions.approve(router.address, MAX_UINT256))
    sender.send(
        router.functions.addLiquidity(
            steth.address, weth.address, 1_000 * ETHER, 998 * ETHER, 0, 0, sender.owner, DEADLINE
        )
    )


def lido_receipts(snapshots: Sequence[ProtocolSnapshot]) -> dict[str, Decimal]:
    """USD of the stETH/wstETH each protocol holds as TVL (Aave's borrowed wstETH is not TVL), as marked."""
    return {
        s.slug: exact_sum(
            t.value_usd
            for t in s.tokens
            if t.receipt_of == "lido" and t.kind is BalanceKind.TVL and t.value_usd is not None
        )
        for s in snapshots
    }


async def test_each_eth_is_counted_once_across_lido_aave_eigenlayer_and_a_dex(
    sender: Sender, eth_chain: DevnetChain, deployment: Deployment, make_engine: EngineFactory
) -> None:
    steth_pair(sender, eth_chain)
    deployment = curve_steth_pool(sender, eth_chain, deployment)
    engine = make_engine(deployment, [a for a in adapters_for(deployment) if a.info.slug in SLUGS])
    result = await engine.snapshot()
    assert result.failures == ()
    snaps = {s.slug: s for s in result.snapshots}
    steth, wsteth = deployment.token("stETH").address, deployment.token("wstETH").address

    # Each protocol's own TVL includes its stETH / wstETH, marked as Lido's receipt.
    held = {
        slug: {t.token: t.amount for t in snaps[slug].tokens if t.receipt_of == "lido" and t.kind is BalanceKind.TVL}
        for slug in STACKED
    }
    assert set(held["aave-v3"]) == {wsteth}
    assert held["eigenlayer"] == {steth: deposited("stETH") - 1}  # stETH transfers keep 1 wei of rounding
    assert set(held["uniswap-v2"]) == {steth}
    # The pools book what add_liquidity asked for: the seeded pools' stETH and this test's $3,000,000 of stETH,
    # each at the STETH/USD feed's 2,995.
    seeded = sum(
        coin_amount(ETHEREUM, "stETH", usd)
        for p in CURVE_POOLS
        for c, usd in zip(p.coins, p.usd_per_coin, strict=True)
        if c == "stETH"
    )
    assert seeded > 0
    assert held["curve"] == {steth: seeded + 3_000_000 * 10**18 // 2995}
    # Each stETH transfer converts to shares and back, rounding down by up to 1 wei; the pool got two transfers.
    assert 0 <= 1_000 * ETHER - held["uniswap-v2"][steth] <= 2
    receipts = lido_receipts(result.snapshots)
    assert all(receipts[slug] > 0 for slug in STACKED)
    assert receipts["lido"] == 0  # Lido's own position is ETH, not a receipt

    total = aggregate(result.snapshots)
    own = {slug: snaps[slug].total(BalanceKind.TVL) for slug in SLUGS}
    assert total.sum_of_protocols_usd == exact_sum(own.values())
    # Unique underlying: Lido's pooled ETH once, plus everything else the others hold that is not stETH/wstETH.
    unique = exact_sum(
        t.value_usd
        for s in result.snapshots
        for t in s.tokens
        if t.kind is BalanceKind.TVL and t.receipt_of is None and t.value_usd is not None
    )
    assert total.tvl_usd == unique
    assert total.double_counted_usd == exact_sum(receipts.values())
    assert total.tvl_usd == exact_sum(
        [total.sum_of_protocols_usd, exact_sum(receipts[s] for s in STACKED).copy_negate()]  # exact negation
    )
    # Without Lido in the total, its receipts are the only count of that ETH, so they stay in.
    assert aggregate([snaps[s] for s in STACKED]).tvl_usd == exact_sum(own[s] for s in STACKED)


def test_cli_tvl_json_shows_both_totals(
    cli: CliRunner,  # noqa: F811
    devnet_home: Path,  # noqa: F811
    sender: Sender,
    eth_chain: DevnetChain,
) -> None:
    steth_pair(sender, eth_chain)
    args = ["tvl", "--json", "--chain", "1", *(a for slug in CLI_SLUGS for a in ("-p", slug))]
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert sorted(p["slug"] for p in doc["protocols"]) == sorted(CLI_SLUGS)
    total = doc["total"]
    summed = exact_sum(Decimal(p["tvl_usd"]) for p in doc["protocols"])
    assert Decimal(total["sum_of_protocols_usd"]) == summed
    assert Decimal(total["tvl_usd"]) == exact_sum([summed, Decimal(total["double_counted_usd"]).copy_negate()])
    lido_usd = next(Decimal(p["tvl_usd"]) for p in doc["protocols"] if p["slug"] == "lido")
    # The counted-twice part is the stETH/wstETH the others hold: more than EigenLayer's 20,500 stETH alone and
    # less than all of Lido's ETH.
    assert deposited("stETH") // ETHER * Decimal(2995) < Decimal(total["double_counted_usd"]) < lido_usd
