"""Following the devnet one block per step: what each followed block costs in HTTP requests, and that the poll's
reorg check (the window below the highest stored block, in the same batch as the head) still finds a fork."""

from __future__ import annotations

from defiscope.devnet import DevnetChain
from defiscope.devnet.anvil import rpc
from defiscope.service.indexer import ChainIndexer, Indexer, IndexerOptions
from defiscope.service.reorg import stored_hashes
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine
from tests.service.chainkit import block, feed_treasury, head


async def step_requests(chain: ChainIndexer) -> tuple[list[int], int]:
    """One step's indexed blocks and the HTTP requests it made."""
    before = chain.engine.client.rpc.total_requests()
    indexed, _ = await chain.step(None)
    return [b.block.number for b in indexed], chain.engine.client.rpc.total_requests() - before


async def following(engine: TvlEngine, repo: Repository, eth_chain: DevnetChain) -> ChainIndexer:
    """An indexer past its first steps (discovery, the events' lookback, the forecast's first filters)."""
    chain = Indexer({1: engine}, repo, IndexerOptions(reconcile_every=0)).chains[1]
    await chain.step(None)
    for _ in range(2):
        feed_treasury(eth_chain, 10**18)
        await chain.step(None)
    return chain


async def test_a_followed_block_costs_two_requests(engine: TvlEngine, eth_chain: DevnetChain, repo: Repository) -> None:
    chain = await following(engine, repo, eth_chain)
    assert chain.events is not None  # the devnet's Aave, Lido, Maker... declare event streams: their logs ride along
    for _ in range(3):
        mined = feed_treasury(eth_chain, 10**18)  # a block with logs, as mainnet's always has
        indexed, requests = await step_requests(chain)
        assert indexed == [mined]
        # The poll (head, reorg window, the block's header and logs, the events' logs), then the multicall.
        assert requests == 2
    assert chain.protocols
    assert not any(p.failing for p in chain.protocols.values())
    assert await step_requests(chain) == ([], 1)  # no new block: the poll alone


async def test_the_poll_finds_a_reorg_of_the_same_length(
    engine: TvlEngine, eth_chain: DevnetChain, repo: Repository
) -> None:
    chain = await following(engine, repo, eth_chain)
    fork = rpc(eth_chain.rpc_url, "evm_snapshot")
    old = [feed_treasury(eth_chain, 10**18) for _ in range(2)]
    assert (await step_requests(chain))[0] == old
    assert rpc(eth_chain.rpc_url, "evm_revert", [fork]) is True
    rpc(eth_chain.rpc_url, "evm_setNextBlockTimestamp", [int(block(eth_chain, old[0] - 1)["timestamp"], 16) + 50])
    new = [feed_treasury(eth_chain, 3 * 10**18) for _ in range(3)]  # longer: the head passes the highest stored
    assert new[:2] == old
    assert head(eth_chain) > old[-1]

    indexed, _ = await step_requests(chain)

    assert indexed == new
    assert chain.chain_status.reorgs == 1
    assert stored_hashes(repo, 1, old[0]) == {n: block(eth_chain, n)["hash"] for n in new}
