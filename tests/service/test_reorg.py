"""Reorgs on the devnet: revert anvil to a snapshot, mine a different (shorter) chain, let the indexer heal.

Run on SQLite and PostgreSQL.
"""

from __future__ import annotations

from defiscope.chain.block import BlockRef
from defiscope.devnet import DevnetChain
from defiscope.devnet.anvil import rpc
from defiscope.protocols.base import BalanceKind
from defiscope.service.indexer import Indexer
from defiscope.service.reorg import stored_hashes
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine
from defiscope.tvl.model import ProtocolSnapshot
from tests.service.chainkit import block, feed_treasury, head

TREASURY = "devnet-treasury"


def chain_hashes(chain: DevnetChain, numbers: range) -> dict[int, str]:
    return {n: block(chain, n)["hash"] for n in numbers}


async def test_reorg_rolls_back_and_reindexes_the_new_chain(
    engine: TvlEngine, eth_chain: DevnetChain, any_repo: Repository
) -> None:
    indexer = Indexer({1: engine}, any_repo)
    chain = indexer.chains[1]
    await chain.step(None)
    start = head(eth_chain)
    fork = rpc(eth_chain.rpc_url, "evm_snapshot")
    for _ in range(5):  # the old chain: five deposits of 1 WETH
        feed_treasury(eth_chain, 10**18)
    await chain.step(None)
    old = chain_hashes(eth_chain, range(start, start + 6))
    old_tvl = any_repo.latest_snapshot(TREASURY, 1)
    assert stored_hashes(any_repo, 1, start) == old

    assert rpc(eth_chain.rpc_url, "evm_revert", [fork]) is True
    rpc(eth_chain.rpc_url, "evm_setNextBlockTimestamp", [int(block(eth_chain, start)["timestamp"], 16) + 100])
    for _ in range(4):  # the new chain: one block shorter, deposits of 7 WETH
        feed_treasury(eth_chain, 7 * 10**18)
    top = head(eth_chain)
    assert top == start + 4
    new = chain_hashes(eth_chain, range(start, top + 1))
    assert all(new[n] != old[n] for n in range(start + 1, top + 1))

    indexed, _ = await chain.step(None)

    assert [b.block.number for b in indexed] == list(range(start + 1, top + 1))
    assert stored_hashes(any_repo, 1, start) == new  # block start+5 of the old chain is gone
    assert indexer.status().chains[1].reorgs == 1
    for slug in engine.slugs:
        assert any_repo.stored_blocks(slug, 1, 0, 10**9) == set(range(start, top + 1))
    fresh = await engine.snapshot(top)
    stored = any_repo.latest_snapshot(TREASURY, 1)
    assert stored is not None
    assert old_tvl is not None
    assert stored.block == fresh.block
    (expected,) = [s for s in fresh.snapshots if s.slug == TREASURY]
    assert stored.total(BalanceKind.TVL) == expected.total(BalanceKind.TVL) != old_tvl.total(BalanceKind.TVL)


async def test_a_conflicting_save_rolls_back_and_redoes_the_block(
    engine: TvlEngine, eth_chain: DevnetChain, any_repo: Repository
) -> None:
    top = head(eth_chain)
    # Another writer stored this block from a fork we never saw; the next save of it conflicts.
    stale = BlockRef(1, top, "0x" + "ee" * 32, 1)
    any_repo.save_snapshot(ProtocolSnapshot(slug="elsewhere", chain_id=1, block=stale, tokens=()))
    indexer = Indexer({1: engine}, any_repo)
    chain = indexer.chains[1]

    assert await chain.index_block(top) is None  # redo: rolled back first
    assert any_repo.stored_blocks("elsewhere", 1, 0, 10**9) == set()
    assert chain.cursor == top - 1
    indexed, _ = await chain.step(None)
    assert [b.block.number for b in indexed] == [top]
    assert stored_hashes(any_repo, 1, top) == {top: block(eth_chain, top)["hash"]}
