"""TVL-level scenarios: a manipulated pool, a stale feed, a holding too big for its market, and `explain`."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from defiscope.chain.errors import InvalidInput
from defiscope.deployments import Deployment
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.base import BalanceKind
from defiscope.protocols.treasury import TreasuryAdapter
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine
from defiscope.tvl.explain import explain
from defiscope.tvl.model import ProtocolSnapshot, exact_sum
from tests.prices.kit import Kit
from tests.tvl.conftest import TREASURY, EngineFactory, give, with_treasury

FEE = 3000


def treasury_engine(make_engine: EngineFactory, deployment: Deployment, *tokens: str) -> TvlEngine:
    deployment = with_treasury(deployment, *tokens)
    return make_engine(deployment, [TreasuryAdapter(deployment, deployment.treasuries[0])])


async def only_snapshot(engine: TvlEngine) -> ProtocolSnapshot:
    result = await engine.snapshot()
    assert result.failures == ()
    (snapshot,) = result.snapshots
    return snapshot


def deep_new_token(kit: Kit, holding: int) -> tuple[str, str]:
    """A token with no feed and one deep ($3M WETH side) V3 pool against WETH whose 30-min TWAP exists."""
    token = kit.new_token("NEW", 18, 10**30)
    pool = kit.v3_pool(
        token.address, kit.ref("WETH").address, FEE, Fraction(5, 2), Fraction(3000), 18, 18, 1000 * 10**18
    )
    kit.grow_observations(pool, 50)
    kit.token(token.address).functions.transfer(TREASURY, holding).transact({"from": kit.sender.owner})
    kit.advance(3600)
    kit.refresh_feeds()
    return token.address, pool.address


async def test_one_large_swap_does_not_move_tvl_beyond_tolerance(
    kit: Kit, deployment: Deployment, make_engine: EngineFactory
) -> None:
    token, pool = deep_new_token(kit, 400_000 * 10**18)  # $1M of NEW at $2.50
    engine = treasury_engine(make_engine, deployment, token)
    before = await only_snapshot(engine)
    (held,) = before.tokens
    assert held.price is not None
    assert held.price.source == f"uniswap-v3:{pool}:twap1800"

    kit.swap_exact_in(kit.ref("WETH").address, token, FEE, 800 * 10**18)  # spot price of NEW x3.2
    kit.advance(12)
    kit.refresh_feeds()
    after = await only_snapshot(engine)

    tvl_before, tvl_after = before.total(BalanceKind.TVL), after.total(BalanceKind.TVL)
    assert Decimal(990_000) < tvl_before < Decimal(1_010_000)
    assert tvl_after != tvl_before  # the TWAP saw 12 seconds of the new price ...
    assert abs(tvl_after - tvl_before) / tvl_before < Decimal("0.02")  # ... and TVL stays within 2 %


async def test_holding_larger_than_its_market_is_capped_by_depth(
    kit: Kit, deployment: Deployment, make_engine: EngineFactory
) -> None:
    token, _ = deep_new_token(kit, 10**25)  # 10M NEW "worth" $25M at the pool's price, in a $3M-deep pool
    snapshot = await only_snapshot(treasury_engine(make_engine, deployment, token))
    (held,) = snapshot.tokens
    assert held.price is not None
    assert held.price.liquidity_usd is not None
    assert held.value_usd == held.price.liquidity_usd  # no one could sell more than the pool's WETH side
    assert Decimal(2_999_999) < held.value_usd <= Decimal(3_000_000)
    (doc,) = explain(snapshot)["tokens"]
    assert doc["arithmetic"].endswith(f"capped at the market's depth {held.price.liquidity_usd}")


async def test_stale_feed_is_not_used_for_tvl(
    kit: Kit, deployment: Deployment, eth_chain: DevnetChain, make_engine: EngineFactory
) -> None:
    give(kit.sender, eth_chain.tokens["WETH"], TREASURY, 10 * 10**18)
    kit.set_round("ETH/USD", 3000 * 10**8, kit.now() - 2 * 3600)  # updated two hours ago, heartbeat one hour
    snapshot = await only_snapshot(treasury_engine(make_engine, deployment, "WETH"))
    (weth,) = snapshot.tokens
    assert weth.price is not None
    assert not weth.price.source.startswith("chainlink"), weth.price.source  # the stale feed is never used
    assert weth.price.source.startswith("uniswap-")
    assert weth.price.confidence < 0.99
    assert weth.value_usd is not None
    assert abs(weth.value_usd - Decimal(30_000)) / Decimal(30_000) < Decimal("0.01")


async def test_explained_parts_add_up_to_the_stored_figure(
    deployment: Deployment, make_engine: EngineFactory, tmp_path: Path, eth_chain: DevnetChain
) -> None:
    engine = make_engine(deployment)
    result = await engine.snapshot()
    repo = Repository.open(f"sqlite:///{tmp_path / 'explain.db'}")
    try:
        for snapshot in result.snapshots:
            repo.save_snapshot(snapshot)
        for snapshot in result.snapshots:
            stored = repo.snapshot_at(snapshot.slug, 1, result.block.number)
            assert stored == snapshot
            doc = explain(stored)
            assert doc["block"] == {
                "number": result.block.number,
                "hash": result.block.hash,
                "timestamp": result.block.timestamp,
            }
            assert Decimal(doc["totals"]["tvl"]["usd"]) == stored.total(BalanceKind.TVL)
            assert doc["totals"]["tvl"]["sum"].endswith(f" = {stored.total(BalanceKind.TVL)}")
            parts = [Decimal(t["value_usd"]) for t in doc["tokens"] if t["kind"] == "tvl" and t["value_usd"]]
            assert exact_sum(parts) == stored.total(BalanceKind.TVL)
            assert len(doc["calls"]) == len(stored.calls) > 0
    finally:
        repo.close()


async def test_a_future_block_is_refused(deployment: Deployment, make_engine: EngineFactory) -> None:
    engine = make_engine(deployment)
    head = await engine.client.block()
    expected = f"block {head.number + 100} does not exist yet (chain head is {head.number}) [chain 1]"
    with pytest.raises(InvalidInput) as raised:
        await engine.snapshot(head.number + 100)
    assert str(raised.value) == expected
