"""DEX TVL tracked from events equals a full re-read, block after block; reorgs, older blocks, unreadable pools
and balances changed without an event (reconciliation) on the devnet."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest
from structlog.testing import capture_logs
from web3 import Web3

from defiscope.chain.block import BlockRef
from defiscope.chain.client import ChainClient
from defiscope.chain.errors import RpcError
from defiscope.chain.log_plan import LogQuery
from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.simulation import Simulation, SimulationConfig
from defiscope.devnet.tx import DEADLINE, Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.base import Position, Uncounted
from defiscope.protocols.pancakeswap.v3 import PANCAKESWAP_V3
from defiscope.protocols.tracked import (
    BLOCKHASH_WINDOW,
    LP_FEE_EVERY_BLOCK_UP_TO,
    LP_FEE_INTERVAL,
    Holdings,
    Mismatch,
)
from defiscope.protocols.uniswap.v2 import PANCAKESWAP_V2, UNISWAP_V2, V2Adapter
from defiscope.protocols.uniswap.v3 import V3Adapter
from defiscope.protocols.uniswap.v3_spec import UNISWAP_V3
from tests.protocols.uniswap.kit import assert_tracked_equals_full, balance_slot, fund_and_approve, rows
from tests.tvl.conftest import give


async def test_uniswap_tracked_equals_full_read_over_simulated_blocks(
    eth_chain: DevnetChain, deployment: Deployment, client: ChainClient
) -> None:
    adapters = [V2Adapter(deployment, UNISWAP_V2), V3Adapter(deployment, UNISWAP_V3)]
    sim = Simulation(eth_chain, SimulationConfig(seed=11, agents=(), trades_per_tick=4.0, lp_every=2))
    sim.start()
    first, _ = await assert_tracked_equals_full(client, deployment, adapters)
    start = {a.info.slug: dict(a.state.amounts) for a in adapters if a.state is not None}
    v3_pool = eth_chain.pools_of("uniswap-v3")[0]
    v2_pair = eth_chain.pools_of("uniswap-v2")[0]
    blocks = [first]
    for tick in range(6):
        sim.tick()
        if tick == 2:  # donations: a Transfer to a V3 pool (re-read), a transfer to a V2 pair (no Sync: no change)
            give(sim.sender, v3_pool.token0, v3_pool.address, 10**6 + 1)
            give(sim.sender, v2_pair.token1, v2_pair.address, 10**6 + 3)
        blocks.append((await assert_tracked_equals_full(client, deployment, adapters))[0])
    sim.stop()
    assert blocks == sorted(blocks)
    assert blocks[-1] - first > 6
    for adapter in adapters:  # the market moved what was tracked
        assert adapter.state is not None
        assert adapter.state.amounts != start[adapter.info.slug]
        assert await adapter.reconcile(Batcher(await client.snapshot()).reader("reconcile")) == []


async def test_pancakeswap_tracked_equals_full_read_across_swaps(bnb_chain: DevnetChain) -> None:
    deployment = devnet_deployment(bnb_chain)
    sender = Sender.connect(bnb_chain.rpc_url)
    adapters = [V2Adapter(deployment, PANCAKESWAP_V2), V3Adapter(deployment, PANCAKESWAP_V3)]
    v2_router = sender.contract(contract_artifact("PancakeV2Router"), bnb_chain.contracts["PancakeV2Router"])
    v3_router = sender.contract(npm_artifact("PancakeV3SwapRouter"), bnb_chain.contracts["PancakeV3SwapRouter"])
    v2_pools, v3_pools = bnb_chain.pools_of("pancakeswap-v2"), bnb_chain.pools_of("pancakeswap-v3")
    for token in {t for p in v2_pools + v3_pools for t in (p.token0, p.token1)}:
        fund_and_approve(
            sender, token, [v2_router.address, v3_router.address], 10**21, wrapped=bnb_chain.tokens["WBNB"]
        )
    async with ChainClient.connect(56, [bnb_chain.rpc_url]) as client:
        await assert_tracked_equals_full(client, deployment, adapters)
        for round_ in range(3):
            for pool in v2_pools:
                path = [pool.token0, pool.token1] if round_ % 2 == 0 else [pool.token1, pool.token0]
                amount = 10 ** (15 + round_)
                sender.send(v2_router.functions.swapExactTokensForTokens(amount, 0, path, sender.owner, DEADLINE))
            for pool in v3_pools:
                token_in, token_out = (pool.token0, pool.token1) if round_ % 2 else (pool.token1, pool.token0)
                params = (token_in, token_out, pool.fee, sender.owner, DEADLINE, 10 ** (14 + round_), 0, 0)
                sender.send(v3_router.functions.exactInputSingle(params))
            await assert_tracked_equals_full(client, deployment, adapters)


async def test_older_block_is_read_in_full_and_leaves_the_state(
    eth_chain: DevnetChain, deployment: Deployment, client: ChainClient
) -> None:
    adapters = [V2Adapter(deployment, UNISWAP_V2), V3Adapter(deployment, UNISWAP_V3)]
    sim = Simulation(eth_chain, SimulationConfig(seed=5, agents=()))
    sim.start()
    earlier, _ = await assert_tracked_equals_full(client, deployment, adapters)
    sim.tick()
    sim.tick()
    later, _ = await assert_tracked_equals_full(client, deployment, adapters)
    sim.stop()
    tracked_blocks = [a.state.block for a in adapters if a.state is not None]
    # Back at the earlier block: the same figures as a full read there, and the tracked state stays at `later`.
    batcher = Batcher(await client.snapshot(earlier))
    for adapter in adapters:
        fresh = type(adapter)(deployment, adapter.spec)
        old = await adapter.positions(batcher.reader("old"))
        assert rows(old) == rows(await fresh.positions(batcher.reader("fresh")))
    assert [a.state.block for a in adapters if a.state is not None] == tracked_blocks
    assert all(b.number == later for b in tracked_blocks)


async def test_reorg_reloads_the_tracked_state(
    eth_chain: DevnetChain, deployment: Deployment, client: ChainClient
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    adapters = [V2Adapter(deployment, UNISWAP_V2), V3Adapter(deployment, UNISWAP_V3)]
    v2_pair, v3_pool = eth_chain.pools_of("uniswap-v2")[0], eth_chain.pools_of("uniswap-v3")[0]
    await assert_tracked_equals_full(client, deployment, adapters)
    fork_point = sender.rpc("evm_snapshot", [])
    give(sender, v3_pool.token0, v3_pool.address, 5 * 10**6)
    pair = sender.contract(npm_artifact("UniswapV2Pair"), v2_pair.address)
    give(sender, v2_pair.token0, v2_pair.address, 7 * 10**6)
    sender.send(pair.functions.sync())
    gone, _ = await assert_tracked_equals_full(client, deployment, adapters)

    # Same height, another block: the tracked block's hash is no longer the chain's.
    assert sender.rpc("evm_revert", [fork_point]) is True
    fork_point = sender.rpc("evm_snapshot", [])
    give(sender, v3_pool.token1, v3_pool.address, 3 * 10**6)
    sender.rpc("evm_mine", [])  # another block at each height from the fork on (the parent differs) ...
    while sender.w3.eth.block_number < gone:  # ... up to the tracked block's height, whatever `give` cost
        sender.rpc("evm_mine", [])
    same_height, _ = await assert_tracked_equals_full(client, deployment, adapters, gone, reload=True)
    assert same_height == gone

    # Higher than the tracked block, on another branch: the ancestor's hash (getBlockHash) differs.
    assert sender.rpc("evm_revert", [fork_point]) is True
    while sender.w3.eth.block_number < gone:
        sender.rpc("evm_mine", [])
    sender.send(pair.functions.sync())
    higher, logs = await assert_tracked_equals_full(client, deployment, adapters, reload=True)
    assert higher > gone
    reorgs = [e for e in logs if e["event"] == "state.reorg"]
    assert {e["protocol"] for e in reorgs} == {"uniswap-v2", "uniswap-v3"}
    assert {e["block"] for e in reorgs} == {gone}


async def test_pool_of_a_token_without_code_is_uncounted_and_the_rest_stands(
    eth_chain: DevnetChain, deployment: Deployment, client: ChainClient
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    codeless = Web3.to_checksum_address("0x" + "c0de" * 10)
    assert sender.rpc("eth_getCode", [codeless, "latest"]) == "0x"
    usdc = eth_chain.tokens["USDC"]
    adapter = V3Adapter(deployment, UNISWAP_V3)
    await assert_tracked_equals_full(client, deployment, [adapter])
    factory = sender.contract(npm_artifact("UniswapV3Factory"), deployment.contract("UniswapV3Factory"))
    sender.send(factory.functions.createPool(codeless, usdc, 3000))  # the real factory takes any address
    pool = factory.functions.getPool(codeless, usdc, 3000).call()
    give(sender, usdc, pool, 4_321)
    await assert_tracked_equals_full(client, deployment, [adapter])  # the tracked path and a full read agree

    result = await adapter.read(Batcher(await client.snapshot()).reader("read"))
    (failed,) = result.uncounted
    assert (failed.holder, failed.token) == (pool, codeless)
    assert "balanceOf" in failed.reason
    assert "empty return data" in failed.reason
    # The pool's USDC counts; every other pool still counts.
    assert adapter.state is not None
    assert adapter.state.amounts[(pool, usdc)] == 4_321
    (usdc_total,) = [p for p in result.positions if p.token == usdc]
    assert usdc_total.label == f"{sum(1 for p in adapter.pools if usdc in (p.token0, p.token1))} pools"
    assert len(result.positions) == len({t for p in adapter.pools for t in (p.token0, p.token1)}) - 1


async def test_reconcile_reports_a_balance_changed_without_an_event(
    eth_chain: DevnetChain, deployment: Deployment, client: ChainClient
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    usdc = eth_chain.tokens["USDC"]
    pool = next(p for p in eth_chain.pools_of("uniswap-v3") if usdc in (p.token0, p.token1))
    adapter = V3Adapter(deployment, UNISWAP_V3)
    await assert_tracked_equals_full(client, deployment, [adapter])
    assert adapter.state is not None
    before = adapter.state.amounts[(pool.address, usdc)]
    # A balance moved with no Transfer (as a rebasing token would): storage set directly, then a new block.
    slot = balance_slot(pool.address)
    sender.rpc("anvil_setStorageAt", [usdc, slot, "0x" + (before + 12_345).to_bytes(32, "big").hex()])
    sender.rpc("evm_mine", [])
    erc20 = sender.contract(contract_artifact("DevToken"), usdc)
    assert erc20.functions.balanceOf(pool.address).call() == before + 12_345

    batcher = Batcher(await client.snapshot())
    stale = await adapter.positions(batcher.reader("tracked"))
    assert adapter.state.amounts[(pool.address, usdc)] == before  # no event: the tracked state cannot know
    with capture_logs() as logs:
        mismatches = await adapter.reconcile(batcher.reader("reconcile"))
    assert mismatches == [Mismatch("uniswap-v3", pool.address, usdc, before, before + 12_345, batcher.block)]
    (logged,) = [e for e in logs if e["event"] == "state.reconcile_mismatch"]
    assert (logged["log_level"], logged["block"], logged["pool"]) == ("error", batcher.block.number, pool.address)
    # Corrected: the tracked figures are now the chain's, and a second reconciliation finds nothing.
    (usdc_stale,) = [p for p in stale if isinstance(p, Position) and p.token == usdc]
    (usdc_now,) = [
        p for p in await adapter.positions(batcher.reader("again")) if isinstance(p, Position) and p.token == usdc
    ]
    assert usdc_now.amount == usdc_stale.amount + 12_345
    assert await adapter.reconcile(batcher.reader("second")) == []
    assert not [p for p in stale if isinstance(p, Uncounted)]


async def test_a_failed_log_fetch_is_asked_again_not_remembered(
    eth_chain: DevnetChain, deployment: Deployment, client: ChainClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter = V2Adapter(deployment, UNISWAP_V2)
    await assert_tracked_equals_full(client, deployment, [adapter])
    Sender.connect(eth_chain.rpc_url).rpc("evm_mine", [])
    batcher = Batcher(await client.snapshot())
    real = batcher.logs

    async def refused(query: LogQuery) -> list[Mapping[str, Any]]:
        raise RpcError("eth_getLogs refused", code=-32000, chain_id=1)

    monkeypatch.setattr(batcher, "logs", refused)
    with pytest.raises(RpcError):
        await adapter.prefetch(batcher.reader("prefetch"))
    monkeypatch.setattr(batcher, "logs", real)
    followed = await adapter.positions(batcher.reader("again"))
    full = await V2Adapter(deployment, UNISWAP_V2).positions(batcher.reader("full"))
    assert rows(followed) == rows(full)
    assert adapter.state is not None
    assert adapter.state.block == batcher.block


def test_lp_fee_rates_of_a_large_dex_are_made_within_the_hour_not_every_block(deployment: Deployment) -> None:
    adapter = V2Adapter(deployment, UNISWAP_V2)
    block = BlockRef(deployment.chain_id, LP_FEE_INTERVAL * 7 + 1, "0x" + "11" * 32, 0)
    assert adapter.yields_due(block)  # nothing tracked yet: rates at every block
    small = {(f"0x{i:040x}", "0x" + "ee" * 20): i for i in range(2 * LP_FEE_EVERY_BLOCK_UP_TO)}
    adapter.state = Holdings.of(block, small)
    assert adapter.yields_due(block)  # up to 1,000 pools: every block
    adapter.state.set(("0x" + "ff" * 20, "0x" + "ee" * 20), 1)
    due = [n for n in range(LP_FEE_INTERVAL * 7, LP_FEE_INTERVAL * 9) if adapter.yields_due(replace(block, number=n))]
    assert due == [LP_FEE_INTERVAL * 7, LP_FEE_INTERVAL * 8]
    assert LP_FEE_INTERVAL < BLOCKHASH_WINDOW  # a due block's followed rates still check their last block
