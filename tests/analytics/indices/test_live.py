"""Indices tracked live on the devnet: the simulation moves the market, the indexer stores blocks, the hook stores
each index's value per block (exactly the holdings at the stored prices), says why an index is not built yet,
forgets rolled-back blocks and, resuming from the state left in the store, stores the same values again."""

from __future__ import annotations

from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path

from defiscope.analytics.indices.loader import SHIPPED_DEFINITIONS
from defiscope.analytics.indices.rebalance import Market, holdings_value
from defiscope.deployments import Deployment
from defiscope.devnet import DevnetChain
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.simulation import Simulation, SimulationConfig
from defiscope.service.context import ChainTarget
from defiscope.service.indexer import Indexer
from defiscope.service.indices import index_hook
from defiscope.store import Repository
from defiscope.store.indices import IndexValueStore
from defiscope.tvl.engine import TvlEngine
from tests.cli.test_indices import FIXED
from tests.service.conftest import devnet_home, engine, repo, sqlite_url  # noqa: F401  (fixtures reused)

TICKS = 4


async def test_values_are_stored_per_block_and_replayed_after_a_rollback(
    devnet_home: Path,  # noqa: F811
    engine: TvlEngine,  # noqa: F811
    eth_chain: DevnetChain,
    repo: Repository,  # noqa: F811
    tmp_path: Path,
) -> None:
    definitions = tmp_path / "defs"
    definitions.mkdir()
    (definitions / "four.toml").write_text(FIXED)  # WETH, WBTC, DAI, USDC at fixed weights: built at once
    (definitions / "defi-tvl.toml").write_text((SHIPPED_DEFINITIONS / "defi-tvl.toml").read_text())  # 90 days' age
    deployment = devnet_deployment(eth_chain)
    hook = index_hook(repo, [ChainTarget(1, (eth_chain.rpc_url,), deployment)], definitions)
    indexer = Indexer({1: engine}, repo, hooks=(hook,))
    simulation = Simulation(eth_chain, SimulationConfig(seed=11, agents=()))
    simulation.start()
    try:
        indexed = [(await indexer.run_once())[0].block]
        for _ in range(TICKS):
            simulation.tick()
            indexed.append((await indexer.run_once())[0].block)
        await hook.idle()
        values = IndexValueStore(repo.engine)
        four = values.history("four", 1)
        assert [v.block for v in four] == indexed  # number, hash and timestamp of each stored block
        assert four[0].rebalanced
        assert set(four[0].holdings) == {"WETH", "WBTC", "DAI", "USDC"}
        # built from 100 at that block's prices: below by exactly the build's slippage and gas, a fraction of a percent
        assert four[0].value is not None
        assert Decimal(99) < four[0].value < Decimal(100)
        decimals = {s: t.decimals for s, t in deployment.tokens.items()}
        scale = Fraction(100, 1_000_000)  # the base value over the capital the index starts with
        for stored in four:
            prices = _prices_at(repo, deployment, stored.block.number)
            usd = holdings_value(stored.holdings, Market(stored.block.number, prices, decimals, 0, "WETH"))
            assert stored.value == _places(usd * scale)  # holdings x the block's stored prices, to 18 places
            assert abs(sum(stored.weights.values()) - 1) <= Decimal(len(stored.weights)) * Decimal("1e-18")
        assert len({v.value for v in four}) > 1  # the simulation moved the prices
        not_built = values.history("defi-tvl", 1)
        assert [v.block.number for v in not_built] == [b.number for b in indexed]
        assert all(v.value is None for v in not_built)
        assert "eligibility rules leave none" in (not_built[-1].missing or "")
        statuses = {s.index: s for s in hook.statuses()}
        assert (statuses["four"].state, statuses["four"].last_block) == ("tracking", indexed[-1].number)
        assert statuses["defi-tvl"].state == "not built"

        # A reorg: the last two blocks go, with their values; the tracker resumes from what is left, the same figures.
        before = values.history("four", 1)
        repo.rollback_from(1, indexed[-2].number)
        assert [v.block for v in values.history("four", 1)] == indexed[:-2]
        simulation.tick()
        head = (await indexer.run_once())[0].block
        await hook.idle()
        after = values.history("four", 1)
        assert after[: len(indexed) - 2] == before[:-2]
        assert after[-1].block == head
    finally:
        simulation.stop()
        hook.close()


def _prices_at(
    repo: Repository,  # noqa: F811
    deployment: Deployment,
    block: int,
) -> dict[str, Decimal]:
    """The stored price of each token known at the block: its newest quote at or before it."""
    found = {}
    for symbol, token in deployment.tokens.items():
        known = [q for q in repo.prices(1, token.address) if q.block_number is None or q.block_number <= block]
        if known:
            newest = max(q.timestamp for q in known)
            found[symbol] = max((q for q in known if q.timestamp == newest), key=lambda q: q.confidence).usd
    return found


def _places(value: Fraction) -> Decimal:
    with localcontext() as context:
        context.prec = 60
        return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("1e-18"))
