"""After the first snapshot, a block of market activity costs every chain-1 protocol together at most three
requests: the block, one batch of logs, one multicall (the DEXes' re-reads included)."""

from __future__ import annotations

from defiscope.deployments import Deployment
from defiscope.devnet.simulation import Simulation, SimulationConfig
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.registry import adapters_for
from tests.tvl.conftest import EngineFactory


async def test_blocks_with_swaps_cost_at_most_three_requests(
    deployment: Deployment, eth_chain: DevnetChain, make_engine: EngineFactory
) -> None:
    engine = make_engine(deployment)
    sim = Simulation(eth_chain, SimulationConfig(seed=3, agents=(), trades_per_tick=3.0))
    sim.start()
    first = await engine.snapshot()
    assert first.failures == ()
    for _ in range(3):
        sim.tick()
        before = engine.client.rpc.total_requests()
        result = await engine.snapshot()
        assert engine.client.rpc.total_requests() - before <= 3
        assert result.failures == ()
        assert {s.slug for s in result.snapshots} == {a.info.slug for a in adapters_for(deployment)}
        calls = {s.slug: {c.function for c in s.calls} for s in result.snapshots}
        # V2 follows Sync events with no call but the reorg check; V3 re-read the balances the swaps touched.
        assert calls["uniswap-v2"] == {"getBlockHash(uint256)"}
        assert calls["uniswap-v3"] == {"getBlockHash(uint256)", "balanceOf(address)"}
    sim.stop()
