"""EigenLayer's strategy balances followed with HolderBalances: a later block re-reads only the strategies a token
log names (plus stETH's rate), and every figure equals a fresh read of every strategy, at new and old blocks."""

from __future__ import annotations

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher, Reader
from defiscope.deployments import Deployment
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.lido import LidoDevnet
from defiscope.devnet.tx import MAX_UINT256, Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.eigenlayer.adapter import EigenLayerAdapter
from tests.staking.conftest import ETHER, eigen_contract, pinned_reader, strategy_of

HOLDER_READS = {"balanceOf", "sharesOf"}
STETH_RATE_READS = {"getTotalPooledEther", "getTotalShares"}


async def test_a_later_block_rereads_only_the_strategies_a_log_names(
    sender: Sender, eth_chain: DevnetChain, deployment: Deployment, client: ChainClient, lido: LidoDevnet
) -> None:
    adapter = EigenLayerAdapter(deployment)
    before = await pinned_reader(client)
    first = await adapter.strategy_states(before)
    assert {r.call.function.name for r in before.records} >= HOLDER_READS | STETH_RATE_READS

    # A report rebases the stETH strategy (no log names it); a staker deposits rETH (a Transfer to its strategy).
    lido.report(sender, cl_balance_delta=40_000_000_007 * 10**9)
    manager = eigen_contract(sender, eth_chain, "EigenLayerStrategyManager", "StrategyManager")
    reth = sender.contract(contract_artifact("RocketTokenRETH"), eth_chain.tokens["rETH"])
    reth_strategy, user = strategy_of(sender, eth_chain, "rETH"), sender.accounts[6]
    sender.send(reth.functions.approve(manager.address, MAX_UINT256), sender=user)
    sender.send(manager.functions.depositIntoStrategy(reth_strategy, reth.address, 9 * ETHER + 1), sender=user)

    later = await pinned_reader(client)
    followed = await adapter.strategy_states(later)
    reads = [r.call for r in later.records if r.call.function.name in HOLDER_READS]
    assert [(c.target, c.args) for c in reads] == [(reth.address, (reth_strategy,))]
    assert sum(r.call.function.name in STETH_RATE_READS for r in later.records) == len(STETH_RATE_READS)
    assert followed == await EigenLayerAdapter(deployment).strategy_states(await pinned_reader(client))
    steth_strategy = strategy_of(sender, eth_chain, "stETH")
    by_address = {s.address: s for s in followed}
    old = {s.address: s for s in first}
    assert by_address[steth_strategy].token_balance > old[steth_strategy].token_balance  # the rebase, exactly
    assert by_address[reth_strategy].token_balance == old[reth_strategy].token_balance + 9 * ETHER + 1

    # The older block is still read as it was.
    assert await adapter.strategy_states(await _at(client, before.block.number)) == first


async def _at(client: ChainClient, block: int) -> Reader:
    return Batcher(await client.snapshot(block)).reader("old")
