"""One Curve pool that cannot be read no longer fails Curve: it is listed as not counted, the rest stands."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.prices.aggregator import PriceAggregator
from defiscope.protocols.base import BalanceKind, Position
from defiscope.protocols.curve.adapter import CurveAdapter
from defiscope.service.snapshots import save_result
from defiscope.store import Repository
from defiscope.tvl.engine import ChainTvl, TvlEngine
from defiscope.tvl.explain import explain
from defiscope.tvl.model import NotCountedCause, exact_sum
from defiscope.tvl.valuation import value_usd

BROKEN = "CurveWethLinkPool"
#: PUSH1 0 PUSH1 0 REVERT: every call to the pool reverts, as a paused or self-destructed pool's would.
REVERTING = "0x60006000fd"


async def _snapshot(chain: DevnetChain, adapter: CurveAdapter) -> ChainTvl:
    deployment = devnet_deployment(chain)
    async with ChainClient.connect(chain.chain_id, [chain.rpc_url]) as client:
        return await TvlEngine(client, deployment, [adapter], PriceAggregator(deployment)).snapshot()


async def test_a_reverting_pool_is_listed_and_the_other_pools_stand(eth_chain: DevnetChain, tmp_path: Path) -> None:
    adapter = CurveAdapter(devnet_deployment(eth_chain))
    before = await _snapshot(eth_chain, adapter)
    (whole,) = before.snapshots
    pool = eth_chain.contracts[BROKEN]
    price = {t.token: t for t in whole.tokens}
    # What the broken pool added before: its positions, valued at the same (feed) prices.
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as client:
        held = await CurveAdapter(devnet_deployment(eth_chain)).positions(
            Batcher(await client.snapshot(before.block.number)).reader("curve")
        )
    lost = [p for p in held if isinstance(p, Position) and p.holder == pool]
    assert len(lost) == 2
    assert all(p.amount > 0 for p in lost)
    quotes = {token: t.price for token, t in price.items() if t.price is not None}
    lost_usd = exact_sum(value_usd(p.amount, price[p.token].decimals, quotes[p.token].usd) for p in lost)

    Sender.connect(eth_chain.rpc_url).rpc("anvil_setCode", [pool, REVERTING])
    after = await _snapshot(eth_chain, adapter)

    assert after.failures == ()
    (snap,) = after.snapshots
    assert snap.total(BalanceKind.TVL) == whole.total(BalanceKind.TVL) - lost_usd > 0
    amounts = {t.token: t.amount for t in snap.tokens}
    for p in lost:
        assert amounts.get(p.token, 0) == price[p.token].amount - p.amount
    # The pool is listed, one entry per coin, with why; the amount is unknown, never 0; the price is known.
    assert sorted(u.token or "" for u in snap.uncounted) == sorted(p.token for p in lost)
    for u in snap.uncounted:
        assert (u.holder, u.cause, u.amount, u.value_usd) == (pool, NotCountedCause.UNREAD, None, None)
        assert "failed" in u.reason
        assert pool in u.reason
        assert u.price is not None
        assert u.price.usd > 0
        assert "price known" in u.describe()
        assert "amount not read" in u.describe()
    doc = explain(snap)
    assert doc["not_counted_summary"].startswith("2 positions not counted: ")
    assert [n["amount"] for n in doc["not_counted"]] == [None, None]

    # Stored with the snapshot and read back equal; the count is on the snapshot row.
    repo = Repository.open(f"sqlite:///{tmp_path}/uncounted.db")
    try:
        save_result(repo, after)
        stored = repo.latest_snapshot("curve", 1)
        assert stored is not None
        assert stored.uncounted == snap.uncounted
        (point,) = repo.history("curve", 1)
        assert point.uncounted_count == 2
    finally:
        repo.close()


async def test_the_pool_is_counted_again_once_it_reads(eth_chain: DevnetChain) -> None:
    adapter = CurveAdapter(devnet_deployment(eth_chain))
    pool = eth_chain.contracts[BROKEN]
    sender = Sender.connect(eth_chain.rpc_url)
    code = sender.rpc("eth_getCode", [pool, "latest"])
    sender.rpc("anvil_setCode", [pool, REVERTING])
    broken = await _snapshot(eth_chain, adapter)
    sender.rpc("anvil_setCode", [pool, code])
    fixed = await _snapshot(eth_chain, adapter)
    assert len(broken.snapshots[0].uncounted) == 2
    assert fixed.snapshots[0].uncounted == ()
    assert fixed.snapshots[0].total(BalanceKind.TVL) > broken.snapshots[0].total(BalanceKind.TVL) > Decimal(0)
