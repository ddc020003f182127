"""Resuming: the indexer continues after the last stored block; blocks a node no longer serves become a gap.

The "pruned node" is real: a devnet saved and resumed (`devnet.persist`) serves the state of its saved head
and later blocks only (anvil keeps no older states in a dump), so it stands in for a pruned mainnet node.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest

from defiscope.devnet import Devnet, DevnetChain
from defiscope.devnet.anvil import rpc
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.cache import dump_state
from defiscope.devnet.deployment import FEED_PREFIX, devnet_deployment
from defiscope.devnet.errors import DevnetError
from defiscope.devnet.fast_forward import simulation_seed
from defiscope.devnet.manager import resume_devnet
from defiscope.devnet.persist import SavedDevnet, SavedStateDamaged, load_saved, save_devnet
from defiscope.devnet.simulation import Simulation, SimulationConfig, TickReport
from defiscope.devnet.spec import CHAIN_SPECS, FEED_DECIMALS
from defiscope.devnet.tx import Sender
from defiscope.service.indexer import Indexer, IndexerOptions
from defiscope.service.resume import HistoryMismatch, check_continues, refuse_orphan_history
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine
from tests.service.chainkit import block, head, mine
from tests.service.conftest import make_engine


def stored_numbers(repo: Repository, chain_id: int) -> list[int]:
    return sorted(repo.stored_blocks("uniswap-v2", chain_id, 0, 10**9))


async def test_resume_indexes_every_block_since_the_last_stored(
    engine: TvlEngine, eth_chain: DevnetChain, repo: Repository
) -> None:
    first = Indexer({1: engine}, repo, IndexerOptions())
    await first.run_once()
    last = head(eth_chain)
    top = mine(eth_chain, 7)
    resumed = Indexer({1: engine}, repo, IndexerOptions(max_blocks_per_iteration=3))
    assert {cid: b.number for cid, b in (await resumed.resume()).items()} == {1: last}
    chain = resumed.chains[1]
    more = True
    while more:
        _, more = await chain.step(3)
    assert stored_numbers(repo, 1) == list(range(last, top + 1))
    catch_up = chain.chain_status.catch_up
    assert catch_up is not None
    assert (catch_up.first, catch_up.last, catch_up.total, catch_up.done) == (last + 1, top, 7, 7)
    assert chain.chain_status.gaps == []


@pytest.fixture
def resumed_eth(eth_chain: DevnetChain, tmp_path: Path) -> Iterator[Devnet]:
    """Chain 1 saved now and resumed in a node of its own (the session devnet is idle during a test)."""
    saved = save_devnet((eth_chain,), "test-world", tmp_path / "saved")
    running = resume_devnet(saved)
    yield running
    running.stop()


async def test_blocks_the_node_no_longer_serves_are_a_recorded_gap(
    engine: TvlEngine, eth_chain: DevnetChain, repo: Repository, resumed_eth: Devnet
) -> None:
    saved_head = head(eth_chain)  # nothing was mined since the fixture saved it
    last = saved_head - 5
    # Stored on the session node, which still has that state; the resumed node has the same blocks.
    await Indexer({1: engine}, repo).chains[1].index_block(last)
    node = resumed_eth.chain(1)
    assert block(node, last)["hash"] == block(eth_chain, last)["hash"]
    resumed_engine = make_engine(devnet_deployment(node), node.rpc_url)
    try:
        indexer = Indexer({1: resumed_engine}, repo)
        await indexer.resume()
        await indexer.chains[1].step(None)
        now = head(node)
    finally:
        await resumed_engine.client.aclose()
    # What a resumed anvil serves: the saved head's state and later (anvil's own answer, not ours).
    with pytest.raises(DevnetError, match="BlockOutOfRange"):
        rpc(node.rpc_url, "eth_getBalance", ["0x" + "00" * 20, hex(saved_head - 1)])
    [gap] = indexer.chains[1].chain_status.gaps
    assert (gap.chain_id, gap.from_block, gap.to_block, gap.blocks) == (1, last + 1, saved_head - 1, 4)
    assert stored_numbers(repo, 1) == [last, *range(saved_head, now + 1)]


async def test_a_saved_devnet_must_continue_the_stored_history(
    engine: TvlEngine, eth_chain: DevnetChain, repo: Repository, resumed_eth: Devnet, tmp_path: Path
) -> None:
    saved = load_saved(tmp_path / "saved")
    assert saved is not None
    refuse_orphan_history(repo, (1, 56), "nothing to continue it")  # an empty store: nothing to refuse
    # The session chain goes on past the saved head: its new blocks are not the resumed node's.
    mine(eth_chain, 2)
    await Indexer({1: engine}, repo).run_once()
    with pytest.raises(HistoryMismatch, match=r"store holds chain 1 up to block \d+ .* has another block there"):
        check_continues(repo, resumed_eth.chains, saved)
    mine(eth_chain, 40)  # now beyond the resumed node's head: the killed-before-saving case
    await Indexer({1: engine}, repo).run_once()
    with pytest.raises(HistoryMismatch, match=r"ends at block \d+: the last serve was stopped without saving"):
        check_continues(repo, resumed_eth.chains, saved)
    with pytest.raises(HistoryMismatch, match="--reset"):
        refuse_orphan_history(repo, (1, 56), "nothing to continue it")


def test_a_damaged_saved_devnet_is_reported(eth_chain: DevnetChain, tmp_path: Path) -> None:
    saved = save_devnet((eth_chain,), "test-world", tmp_path / "saved")
    saved.state_file(1).unlink()
    with pytest.raises(SavedStateDamaged, match="lacks"):
        load_saved(tmp_path / "saved")
    (tmp_path / "saved" / "saved.json").write_text("{not json")
    with pytest.raises(SavedStateDamaged, match="cannot be read"):
        load_saved(tmp_path / "saved")
    assert load_saved(tmp_path / "nothing") is None


def _resumed_market(saved: SavedDevnet, ticks: int) -> tuple[int, dict[str, Fraction], list[TickReport]]:
    """Resume `saved` in a node of its own and run the market as `serve` seeds it; the node goes after."""
    running = resume_devnet(saved)
    try:
        chain = running.chain(1)
        start = head(chain)
        sim = Simulation(chain, SimulationConfig(seed=simulation_seed(7, 1, start)))
        initial = dict(sim.prices)
        sim.start()
        reports = sim.run(ticks)
        sim.stop()
        return start, initial, reports
    finally:
        running.stop()


def test_a_resumed_market_goes_on_from_the_chain_and_is_reproducible(eth_chain: DevnetChain, tmp_path: Path) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    feed = sender.contract(contract_artifact("PriceFeed"), eth_chain.contracts[FEED_PREFIX + "ETH/USD"])
    moved = CHAIN_SPECS[1].feed("ETH/USD").price * 3 / 2  # as if an earlier run's market had moved it
    sender.send(feed.functions.updateAnswer(int(moved * 10**FEED_DECIMALS)))
    saved = save_devnet((eth_chain,), "test-world", tmp_path / "saved")
    first = _resumed_market(saved, 2)
    again = _resumed_market(saved, 2)
    assert first[1]["ETH/USD"] == moved  # not the spec's price: the market continues where it was
    assert first == again  # same saved chain, same seed and start block: the same market
    assert simulation_seed(7, 1, first[0]) != simulation_seed(7, 1, first[0] + 1)  # a later start draws anew


def test_a_save_is_gzipped_and_an_older_plain_save_still_resumes(eth_chain: DevnetChain, tmp_path: Path) -> None:
    saved = save_devnet((eth_chain,), "test-world", tmp_path / "saved")
    packed = saved.state_file(1)
    assert packed.name == f"chain-1.{saved.generation}.json.gz"
    assert packed.read_bytes()[:2] == b"\x1f\x8b"  # gzip's magic number
    plain = dump_state(eth_chain.rpc_url)  # what a save wrote before: anvil's whole dump, uncompressed
    assert packed.stat().st_size * 5 < len(plain)
    _resumes_at_the_saved_head(saved.directory, eth_chain)
    older = _as_older_save(saved, plain)
    assert saved.state_file(1) == older
    _resumes_at_the_saved_head(saved.directory, eth_chain)
    # The next save writes a gzipped generation and drops the plain one.
    again = save_devnet((eth_chain,), "test-world", saved.directory)
    assert [p.name for p in saved.directory.glob("chain-*")] == [again.state_file(1).name]
    assert again.state_file(1).suffix == ".gz"


def _as_older_save(saved: SavedDevnet, plain: bytes) -> Path:
    """Turn `saved` into what a save wrote before dumps were gzipped: the plain dump in place of the packed."""
    old = saved.directory / f"chain-1.{saved.generation}.json"
    old.write_bytes(plain)
    saved.state_file(1).unlink()
    return old


def _resumes_at_the_saved_head(directory: Path, chain: DevnetChain) -> None:
    saved = load_saved(directory)
    assert saved is not None
    running = resume_devnet(saved)  # which checks the saved head's hash
    try:
        saved_head = saved.heads[1]
        assert (saved_head.number, saved_head.hash) == (head(chain), block(chain, head(chain))["hash"])
        assert block(running.chain(1), saved_head.number)["hash"] == saved_head.hash
    finally:
        running.stop()
