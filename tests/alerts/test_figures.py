"""The figures the indexer hands the alert engine in memory are the figures the store gives back for the same
blocks (SQLite and PostgreSQL): a block where a protocol failed, a protocol holding an unpriced token, two tokens
with one symbol. And the in-memory window of recent blocks: what it answers, what it leaves to the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

from sqlalchemy.orm import Session
from web3 import Web3

from defiscope.alerts.evaluate import BlockFigures
from defiscope.alerts.figures import StoredFigures, snapshot_detail, snapshot_evidence
from defiscope.alerts.recent import MAX_KEPT, MISSING, RecentBlocks
from defiscope.chain.block import BlockRef
from defiscope.deployments import Deployment, TokenInfo, TreasurySpec
from defiscope.devnet import DevnetChain
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.tx import Sender
from defiscope.indexing_hooks import IndexedChain
from defiscope.service.indexer import Indexer
from defiscope.store import Repository
from defiscope.tvl.engine import ChainTvl
from tests.service.chainkit import feed_treasury, mine
from tests.service.conftest import make_engine

#: A fresh address that holds only what this test gives it.
HOLDER = Web3.to_checksum_address("0x" + "5e" * 20)


@dataclass
class Recorder:
    """A block hook that keeps what the indexer handed over."""

    results: list[ChainTvl] = field(default_factory=list)

    async def block_indexed(self, chain: IndexedChain, result: ChainTvl) -> None:
        self.results.append(result)


async def index_one(deployment: Deployment, url: str, repo: Repository, recorder: Recorder) -> ChainTvl:
    """Index the head with `deployment`'s adapters, continuing after the store's highest block."""
    engine = make_engine(deployment, url)
    try:
        indexer = Indexer({1: engine}, repo, hooks=(recorder,))
        await indexer.resume()
        (indexed,), _ = await indexer.chains[1].step(None)
    finally:
        await engine.client.aclose()
    assert recorder.results[-1].block == indexed.block
    return recorder.results[-1]


async def test_figures_handed_over_equal_the_figures_read_back_from_the_store(
    eth_chain: DevnetChain, any_repo: Repository
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    nope = sender.deploy(contract_artifact("DevToken"), "Nobody Prices Me", "NOPE", 18)
    sender.send(nope.functions.mint(HOLDER, 5 * 10**18))
    feed = sender.contract(contract_artifact("DevToken"), eth_chain.tokens["USDC"])
    sender.send(feed.functions.transfer(HOLDER, 2_000_000))
    base = devnet_deployment(eth_chain)
    unpriced = TreasurySpec("unpriced-treasury", "Holds an unpriced token", (HOLDER,), ("USDC", nope.address))
    healthy = replace(base, treasuries=(*base.treasuries, unpriced))
    # The devnet treasury also "holds" a token whose balanceOf reverts: it fails, and is not stored, at that block.
    reverter = TokenInfo("BAD", eth_chain.contracts["Reverter"], 18)
    failing = replace(
        healthy,
        tokens={**healthy.tokens, "BAD": reverter},
        treasuries=(replace(base.treasuries[0], tokens=(*base.treasuries[0].tokens, "BAD")), unpriced),
    )
    recorder = Recorder()
    await index_one(healthy, eth_chain.rpc_url, any_repo, recorder)
    feed_treasury(eth_chain, 10**18)
    failed = await index_one(failing, eth_chain.rpc_url, any_repo, recorder)
    mine(eth_chain, 1)
    await index_one(healthy, eth_chain.rpc_url, any_repo, recorder)
    assert [f.slug for f in failed.failures] == ["devnet-treasury"]

    handed = StoredFigures(any_repo.engine)
    for result in recorder.results:
        kept = handed.remember(result)
        read = StoredFigures(any_repo.engine).at(1, result.block.number)  # a fresh reader: from the store
        assert read is not None
        assert kept == read  # block, TVL, prices, rates, first-seen times: the same values
        assert kept.rate_index == read.rate_index
        assert [str(v) for v in kept.tvl.values()] == [str(read.tvl[slug]) for slug in kept.tvl]
        assert handed.at(1, result.block.number) is kept  # served from memory, not read back
        with Session(any_repo.engine) as session:  # an alert's evidence: the same from memory as from the store
            for snapshot in result.snapshots:
                stored = snapshot_evidence(session, snapshot.slug, 1, result.block.number)
                assert snapshot_detail(snapshot) == stored

    at_failure = handed.at(1, failed.block.number)
    assert at_failure is not None
    assert "devnet-treasury" not in at_failure.tvl  # failed: missing, never 0
    assert at_failure.tvl["unpriced-treasury"] == Decimal(2)  # the USDC only
    assert at_failure.price(nope.address) is None
    assert at_failure.price("NOPE") is None
    (holding,) = (s for s in failed.snapshots if s.slug == "unpriced-treasury")
    detail = snapshot_detail(holding)
    assert detail["unpriced_count"] == 1
    assert [t["unpriced_reason"] is not None for t in detail["tokens"]].count(True) == 1
    assert at_failure.first_seen["unpriced-treasury"] <= at_failure.block.timestamp
    # Two tokens named DAI on the devnet (the token and Maker's): both ways pick the same one, whatever the row order.
    dais = {t.token for s in failed.snapshots for t in s.tokens if t.symbol.upper() == "DAI" and t.price is not None}
    dai = at_failure.price("DAI")
    assert len(dais) == 2
    assert dai is not None
    assert dai.token == min(dais)
    assert len(at_failure.rates) > 0


def figures(number: int) -> BlockFigures:
    return BlockFigures(BlockRef(1, number, f"0x{number:064x}", 1_700_000_000 + number), {"p": Decimal(number)})


def test_the_window_answers_from_its_floor_up_and_forgets_a_reorg() -> None:
    window = RecentBlocks(span=5)
    assert window.nearest(10) is MISSING  # nothing kept: the store knows
    for number in (10, 12, 13):  # every stored block from 10 up (11 was not stored)
        window.add(figures(number))
    assert window.nearest(9) is MISSING
    assert window.nearest(11) == figures(10)
    assert window.nearest(99) == figures(13)
    window.add(figures(15))  # span 5: 11..15 are asked; 10 stays, it answers 11
    assert (window.floor, window.nearest(11)) == (10, figures(10))
    window.add(figures(16))  # 12..16 are asked: 12 answers them from the bottom, 10 goes
    assert window.floor == 12
    assert window.get(10) is None
    assert window.nearest(11) is MISSING

    window.forget(13)  # a reorg from 13
    assert window.nearest(20) == figures(12)
    window.add(figures(13))
    assert window.nearest(14) == figures(13)
    window.forget(12)  # from the floor: nothing is known any more
    assert window.nearest(12) is MISSING
    assert window.floor is None


def test_the_window_keeps_at_most_max_kept_blocks() -> None:
    window = RecentBlocks(span=10 * MAX_KEPT)
    for number in range(MAX_KEPT + 3):
        window.add(figures(number))
    assert window.floor == 3
    assert window.nearest(2) is MISSING
    assert window.nearest(3) == figures(3)
