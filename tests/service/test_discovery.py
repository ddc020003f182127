"""Persistent discovery under the indexer, on the devnet: a pool created on a fork the chain abandons leaves
discovery (memory and store) with the snapshots, and a restarted indexer scans only after its stored cursors
while computing the same figures as a store-less engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import structlog
import structlog.testing
from web3 import Web3

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher, Reader
from defiscope.devnet import DevnetChain
from defiscope.devnet.anvil import ACCOUNTS, rpc
from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.eigenlayer import VALIDATOR_ETH, credit_validators
from defiscope.devnet.tx import Sender
from defiscope.protocols.base import BalanceKind
from defiscope.protocols.uniswap.v3 import V3Adapter
from defiscope.protocols.uniswap.v3_spec import UNISWAP_V3 as UNISWAP_V3_SPEC
from defiscope.service.backfill import backfill
from defiscope.service.discovery import DiscoveryProgress, engine_cursors
from defiscope.service.indexer import Indexer
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine
from tests.service.chainkit import TRANSFER, block, head
from tests.service.conftest import make_engine

UNISWAP_V3 = "uniswap-v3"
EIGENLAYER = "eigenlayer"
ZERO = "0x" + "00" * 20
#: The fee tiers UniswapV3Factory enables in its constructor.
FEES = (500, 3000, 10000)


@pytest.fixture
async def storeless(eth_chain: DevnetChain) -> AsyncIterator[TvlEngine]:
    """Another engine of chain 1, never given a store: what the figures must equal."""
    built = make_engine(devnet_deployment(eth_chain), eth_chain.rpc_url)
    yield built
    await built.client.aclose()


def v3_of(engine: TvlEngine) -> V3Adapter:
    (adapter,) = [a for a in engine.adapters if a.info.slug == UNISWAP_V3]
    assert isinstance(adapter, V3Adapter)
    return adapter


def create_funded_pool(chain: DevnetChain, factory_address: str, weth: int) -> str:
    """A new WETH pool (in a fee tier no seeded pool uses), holding `weth` sent to it: two blocks."""
    sender = Sender.connect(chain.rpc_url)
    factory = sender.contract(npm_artifact("UniswapV3Factory"), factory_address)
    wrapped = chain.tokens["WETH"]
    for other in sorted(set(chain.tokens.values()) - {wrapped}):
        for fee in FEES:
            if factory.functions.getPool(wrapped, other, fee).call() == ZERO:
                sender.send(factory.functions.createPool(wrapped, other, fee))
                pool = str(factory.functions.getPool(wrapped, other, fee).call())
                data = TRANSFER + pool[2:].lower().rjust(64, "0") + hex(weth)[2:].rjust(64, "0")
                tx = rpc(chain.rpc_url, "eth_sendTransaction", [{"from": ACCOUNTS[0], "to": wrapped, "data": data}])
                Web3(Web3.HTTPProvider(chain.rpc_url)).eth.wait_for_transaction_receipt(tx, timeout=60)
                return pool
    raise AssertionError("every WETH pair of every fee tier exists already")


async def tvl_of(engine: TvlEngine, number: int, slug: str = UNISWAP_V3) -> Any:
    (snapshot,) = [s for s in (await engine.snapshot(number)).snapshots if s.slug == slug]
    return snapshot.total(BalanceKind.TVL)


async def test_a_reorg_rolls_discovery_back_with_the_snapshots(
    engine: TvlEngine, storeless: TvlEngine, eth_chain: DevnetChain, any_repo: Repository
) -> None:
    indexer = Indexer({1: engine}, any_repo)
    chain = indexer.chains[1]
    v3 = v3_of(engine)
    await chain.step(None)
    start = head(eth_chain)
    seeded = len(v3.pools)
    fork = rpc(eth_chain.rpc_url, "evm_snapshot")

    pool = create_funded_pool(eth_chain, v3.factory, 10**18)  # the old chain: blocks start+1, start+2
    await chain.step(None)
    assert head(eth_chain) == start + 2
    assert pool in {p.address for p in v3.pools}
    stored = any_repo.load_cursor(1, v3.created.source)
    assert stored is not None
    assert (len(stored.logs), stored.scanned_to) == (seeded + 1, start + 2)
    old = any_repo.latest_snapshot(UNISWAP_V3, 1)
    assert old is not None
    assert old.block.number == start + 2

    assert rpc(eth_chain.rpc_url, "evm_revert", [fork]) is True
    rpc(eth_chain.rpc_url, "evm_setNextBlockTimestamp", [int(block(eth_chain, start)["timestamp"], 16) + 100])
    rpc(eth_chain.rpc_url, "anvil_mine", ["0x3"])  # the new chain: three empty blocks, no pool
    top = head(eth_chain)
    assert top == start + 3
    await chain.step(None)

    assert indexer.status().chains[1].reorgs == 1
    assert pool not in {p.address for p in v3.pools}
    assert len(v3.pools) == seeded
    stored = any_repo.load_cursor(1, v3.created.source)
    assert stored is not None
    assert (len(stored.logs), stored.scanned_to, stored.scanned_hash) == (seeded, top, block(eth_chain, top)["hash"])
    new = any_repo.latest_snapshot(UNISWAP_V3, 1)
    assert new is not None
    assert new.block.number == top
    assert new.total(BalanceKind.TVL) == await tvl_of(storeless, top) < old.total(BalanceKind.TVL)


def record_log_queries(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, Any, int]]:
    """(address, topics, from_block) of every `Reader.logs` call from now on (what `reader.log_queries`
    records), before the batcher merges queries or serves them from the shared log feed."""
    logs = Reader.logs
    seen: list[tuple[Any, Any, int]] = []

    async def recording(
        self: Reader, *, address: Any, topics: Any, from_block: int, to_block: int | None = None
    ) -> Any:
        seen.append((address, topics, from_block))
        return await logs(self, address=address, topics=topics, from_block=from_block, to_block=to_block)

    monkeypatch.setattr(Reader, "logs", recording)
    return seen


async def test_a_restarted_indexer_scans_only_after_its_stored_cursors(
    eth_chain: DevnetChain, storeless: TvlEngine, repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment = devnet_deployment(eth_chain)
    first = make_engine(deployment, eth_chain.rpc_url)
    try:
        await Indexer({1: first}, repo).run_once()
    finally:
        await first.client.aclose()
    before = repo.discovery_cursors(1)
    cursors = list(engine_cursors(first))
    assert {c.source for c in cursors} <= set(before)
    assert len(cursors) >= 3  # uniswap-v3's pools, eigenlayer's whitelist and pods, maker's wards

    pool = create_funded_pool(eth_chain, v3_of(first).factory, 10**18)
    restarted = make_engine(deployment, eth_chain.rpc_url)  # a new process: new adapters, the same store
    queries = record_log_queries(monkeypatch)
    try:
        (indexed,) = await Indexer({1: restarted}, repo).run_once()
        top = indexed.block.number
        assert top == head(eth_chain)
        for cursor in engine_cursors(restarted):
            scans = [
                start for address, topics, start in queries if (address, topics) == (cursor.address, [[*cursor.topics]])
            ]
            assert scans == [before[cursor.source][0] + 1], cursor.source  # one scan, after the stored cursor
        assert pool in {p.address for p in v3_of(restarted).pools}
    finally:
        await restarted.client.aclose()
    fresh = await storeless.snapshot(top)
    assert fresh.snapshots
    for snapshot in fresh.snapshots:
        stored = repo.snapshot_at(snapshot.slug, 1, top)
        assert stored is not None
        assert stored.tokens == snapshot.tokens, snapshot.slug


async def test_a_fork_while_stopped_is_healed_at_the_next_start(
    eth_chain: DevnetChain, storeless: TvlEngine, repo: Repository
) -> None:
    deployment = devnet_deployment(eth_chain)
    fork = rpc(eth_chain.rpc_url, "evm_snapshot")
    start = head(eth_chain)
    # A one-shot command (`defiscope staking operators`, say) stored discovery at a block no snapshot is at.
    scanned = V3Adapter(deployment, UNISWAP_V3_SPEC)
    scanned.created.attach(repo)
    pool = create_funded_pool(eth_chain, scanned.factory, 10**18)
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as client:
        assert pool in {p.address for p in await scanned.discover(Batcher(await client.snapshot()).reader("t"))}

    assert rpc(eth_chain.rpc_url, "evm_revert", [fork]) is True
    rpc(eth_chain.rpc_url, "evm_setNextBlockTimestamp", [int(block(eth_chain, start)["timestamp"], 16) + 100])
    rpc(eth_chain.rpc_url, "anvil_mine", ["0x3"])
    engine = make_engine(deployment, eth_chain.rpc_url)
    try:
        indexer = Indexer({1: engine}, repo)
        await indexer.resume()  # what `serve` does first: healed before its first table reads discovery
        healed = repo.load_cursor(1, scanned.created.source)
        assert healed is not None
        assert healed.scanned_to < start
        (indexed,) = await indexer.run_once()
        assert pool not in {p.address for p in v3_of(engine).pools}
    finally:
        await engine.client.aclose()
    stored = repo.load_cursor(1, scanned.created.source)
    assert stored is not None
    assert pool.lower()[2:] not in str(stored.logs).lower()
    assert stored.scanned_hash == indexed.block.hash
    saved = repo.latest_snapshot(UNISWAP_V3, 1)
    assert saved is not None
    assert saved.total(BalanceKind.TVL) == await tvl_of(storeless, indexed.block.number)


async def test_pod_shares_derived_from_abandoned_logs_are_read_again(
    engine: TvlEngine, storeless: TvlEngine, eth_chain: DevnetChain, repo: Repository
) -> None:
    """EigenLayer follows pod shares from `NewTotalShares` logs: after a reorg it must not go on from shares
    that counted a log of the abandoned fork."""
    indexer = Indexer({1: engine}, repo)
    chain = indexer.chains[1]
    await chain.step(None)
    start = head(eth_chain)
    fork = rpc(eth_chain.rpc_url, "evm_snapshot")
    sender = Sender.connect(eth_chain.rpc_url)
    pods = sender.contract(contract_artifact("EigenPodManager"), eth_chain.contracts["EigenLayerEigenPodManager"])
    owner = sender.accounts[5]
    credit_validators(sender, pods, owner, 7 * VALIDATOR_ETH)
    await chain.step(None)
    old = repo.latest_snapshot(EIGENLAYER, 1)
    assert old is not None
    assert old.block.number == start + 1

    assert rpc(eth_chain.rpc_url, "evm_revert", [fork]) is True
    rpc(eth_chain.rpc_url, "evm_setNextBlockTimestamp", [int(block(eth_chain, start)["timestamp"], 16) + 100])
    rpc(eth_chain.rpc_url, "anvil_mine", ["0x2"])
    await chain.step(None)

    new = repo.latest_snapshot(EIGENLAYER, 1)
    assert new is not None
    assert new.block.number == start + 2
    (expected,) = [s for s in (await storeless.snapshot(start + 2)).snapshots if s.slug == EIGENLAYER]
    assert new.tokens == expected.tokens
    assert new.tokens != old.tokens  # the abandoned fork's 7 validators are no longer counted


async def test_a_backfill_keeps_discovery_for_the_next_run(
    engine: TvlEngine, storeless: TvlEngine, eth_chain: DevnetChain, repo: Repository
) -> None:
    top = head(eth_chain)
    v3 = v3_of(engine)
    result = await backfill(engine, repo, UNISWAP_V3, top - 4, top, step=2)
    assert result.stored == 3
    stored = repo.load_cursor(1, v3.created.source)
    assert stored is not None
    assert (stored.scanned_to, len(stored.logs)) == (top, len(v3.pools))
    saved = repo.snapshot_at(UNISWAP_V3, 1, top - 2)
    assert saved is not None
    assert saved.total(BalanceKind.TVL) == await tvl_of(storeless, top - 2)


def test_progress_shows_long_scans_and_logs_each_tenth() -> None:
    progress = DiscoveryProgress(1)
    with structlog.testing.capture_logs() as logged:
        for end in range(9, 99, 10):  # a first discovery of blocks 0..99 in chunks of 10
            progress("factory", end, 99)
            assert progress.syncing
        progress("factory", 99, 99)
        progress("factory", 100, 100)  # then one block's scan each block: not logged
        progress("factory", 101, 101)
    assert not progress.syncing
    assert progress.sources == {"factory": (101, 101)}
    assert [(e["event"], e["scanned_to"]) for e in logged] == [
        ("discovery.progress", n) for n in (9, 19, 29, 39, 49, 59, 69, 79, 89, 99)
    ]
