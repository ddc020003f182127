"""Once following, a block of market activity costs every chain-1 protocol together two requests: the block's
header with its logs (the filters the last block asked, `chain.pinning`), and one multicall (the DEXes' re-reads
included) — also when a Lido report re-values V3 pools holding stETH. The block is asked by number, as `serve`'s
indexer does once it has polled the head."""

from __future__ import annotations

from collections import Counter

from defiscope.deployments import Deployment
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.lido import LidoDevnet
from defiscope.devnet.simulation import Simulation, SimulationConfig
from defiscope.devnet.tx import MAX_UINT256, Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.registry import adapters_for
from defiscope.tvl.engine import ChainTvl, TvlEngine
from tests.protocols.uniswap.kit import create_pool
from tests.staking.conftest import ETHER, lido  # noqa: F401  (fixture)
from tests.tvl.conftest import EngineFactory


async def snapshot_requests(engine: TvlEngine) -> tuple[ChainTvl, int]:
    """A snapshot of the head (polled first, as the indexer does) and the requests it cost."""
    head = (await engine.client.block()).number
    before = engine.client.rpc.total_requests()
    result = await engine.snapshot(head)
    return result, engine.client.rpc.total_requests() - before


async def test_blocks_with_swaps_cost_two_requests(
    deployment: Deployment, eth_chain: DevnetChain, make_engine: EngineFactory
) -> None:
    engine = make_engine(deployment)
    sim = Simulation(eth_chain, SimulationConfig(seed=3, agents=(), trades_per_tick=3.0))
    sim.start()
    first = await engine.snapshot()
    assert first.failures == ()
    sim.tick()
    # The first block after the full load asks the followed logs for the first time: header, logs, multicall.
    _, requests = await snapshot_requests(engine)
    assert requests == 3
    for _ in range(3):
        sim.tick()
        result, requests = await snapshot_requests(engine)
        assert requests == 2
        assert result.failures == ()
        assert {s.slug for s in result.snapshots} == {a.info.slug for a in adapters_for(deployment)}
        calls = {s.slug: {c.function for c in s.calls} for s in result.snapshots}
        # V2 follows Sync events with no call but the reorg check; V3 re-read the balances the swaps touched.
        assert calls["uniswap-v2"] == {"getBlockHash(uint256)"}
        assert calls["uniswap-v3"] == {"getBlockHash(uint256)", "balanceOf(address)"}
    sim.stop()


async def test_a_rebase_of_steth_held_by_v3_pools_still_costs_two_requests(
    deployment: Deployment,
    eth_chain: DevnetChain,
    make_engine: EngineFactory,
    sender: Sender,
    lido: LidoDevnet,  # noqa: F811
) -> None:
    steth, usdc, dai = lido.steth.address, deployment.token("USDC").address, deployment.token("DAI").address
    sender.send(lido.steth.functions.submit(sender.owner), value=40 * ETHER)
    for token in (usdc, dai):
        erc20 = sender.contract(contract_artifact("DevToken"), token)
        sender.send(erc20.functions.mint(sender.owner, 10**30))
        sender.send(erc20.functions.approve(eth_chain.contracts["V3PoolCaller"], MAX_UINT256))
    create_pool(sender, eth_chain, steth, usdc, 3000, 20 * ETHER)
    create_pool(sender, eth_chain, steth, dai, 500, 10 * ETHER)
    engine = make_engine(deployment)
    first = await engine.snapshot()
    assert first.failures == ()
    sender.rpc("evm_mine", [])
    _, requests = await snapshot_requests(engine)  # following from here: the filters a block asks are known
    assert requests == 3

    # A report a minute after the last (a day-long jump makes the LP fee windows look for the block a day back).
    lido.report(sender, cl_balance_delta=61_000_000_003 * 10**9, slots=5)
    result, requests = await snapshot_requests(engine)
    assert requests == 2
    assert result.failures == ()
    (v3,) = (s for s in result.snapshots if s.slug == "uniswap-v3")
    # Both pools re-valued from one read of stETH's index; no pool's balance read.
    assert Counter(c.function for c in v3.calls) == Counter(
        {"getBlockHash(uint256)": 1, "getTotalPooledEther()": 1, "getTotalShares()": 1}
    )
