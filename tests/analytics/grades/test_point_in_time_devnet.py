"""THE point-in-time test: a devnet market indexed by the real indexer, factors at block B, every row after B
poisoned, factors at B again: identical.

The market runs on a devnet of its own (the session's chains saved and resumed in new nodes), because the days
warped between market ticks would leave the session chains a month ahead for the tests after this one. Each
tick comes 47 hours after the one before (within `SAMPLE_MAX_AGE` of every daily sample), so 17 ticks up to B give
the month the 30-day factors need; one block per tick of each chain (1 and 56) is indexed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from defiscope.analytics.grades.compute import compute_factors, factors_at, graded_tokens
from defiscope.analytics.grades.hook import engine_readers
from defiscope.devnet import Devnet, DevnetChain
from defiscope.devnet.anvil import rpc
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.manager import resume_devnet
from defiscope.devnet.persist import save_devnet
from defiscope.devnet.simulation import Simulation, SimulationConfig
from defiscope.service.indexer import Indexer
from defiscope.store import Repository
from defiscope.store.factors import FactorStore
from defiscope.tvl.engine import TvlEngine
from tests.analytics.grades.kit import SHARES
from tests.analytics.grades.poison import poison_after
from tests.service.conftest import make_engine

ClockBlock = Callable[[int], None] | None
TICKS = 19
TICK_GAP = 47 * 3600
CLOCK_TICK = 17  # B: 16 gaps of 47 h (31 days) before it, two indexed ticks after it


@pytest.fixture
def own_devnet(eth_chain: DevnetChain, bnb_chain: DevnetChain, tmp_path: Path) -> Iterator[Devnet]:
    running = resume_devnet(save_devnet((eth_chain, bnb_chain), "grades-world", tmp_path / "saved"))
    yield running
    running.stop()


@pytest.fixture
async def engines(own_devnet: Devnet) -> AsyncIterator[dict[int, TvlEngine]]:
    built = {c.chain_id: make_engine(devnet_deployment(c), c.rpc_url) for c in own_devnet.chains}
    yield built
    for engine in built.values():
        await engine.client.aclose()


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repository]:
    """SQLite only: this test's subject is point in time, not the backend (the hand-built one runs on both)."""
    opened = Repository.open(f"sqlite:///{tmp_path / 'grades.db'}")
    yield opened
    opened.close()


def warp(chain: DevnetChain, seconds: int) -> None:
    """The chain's next block comes `seconds` after its head."""
    last = rpc(chain.rpc_url, "eth_getBlockByNumber", ["latest", False])
    rpc(chain.rpc_url, "evm_setNextBlockTimestamp", [int(last["timestamp"], 16) + seconds])


async def run_market(
    devnet: Devnet, indexer: Indexer, seeds: tuple[int, int], ticks: int, gap: int, on_clock: ClockBlock = None
) -> list[int]:
    """`ticks` market ticks `gap` seconds apart on chains 1 (every agent) and 56 (feeds only: PancakeSwap valued
    at fresh prices), each tick's block indexed; `on_clock` sees each block of chain 1 once indexed. Returns them."""
    markets = {
        1: Simulation(devnet.chain(1), SimulationConfig(seed=seeds[0])),
        56: Simulation(devnet.chain(56), SimulationConfig(seed=seeds[1], agents=())),
    }
    indexed: list[int] = []
    for market in markets.values():
        market.start()
    try:
        for _ in range(ticks):
            for chain_id, market in markets.items():
                warp(devnet.chain(chain_id), gap)
                report = await asyncio.to_thread(market.tick)  # its liquidators run event loops of their own
                assert await indexer.chains[chain_id].index_block(report.last_block) is not None
                if chain_id == 1:
                    indexed.append(report.last_block)
                    if on_clock is not None:
                        on_clock(report.last_block)
    finally:
        for market in markets.values():
            market.stop()
    return indexed


async def test_factors_at_b_read_nothing_after_b(
    own_devnet: Devnet, engines: dict[int, TvlEngine], repo: Repository
) -> None:
    reader_for = engine_readers(engines)
    eth, bnb = own_devnet.chain(1), own_devnet.chain(56)
    indexed = await run_market(own_devnet, Indexer(engines, repo), (11, 12), TICKS, TICK_GAP)
    tokens = graded_tokens([devnet_deployment(eth), devnet_deployment(bnb)])
    clock = indexed[CLOCK_TICK - 1]

    before = await compute_factors(repo, reader_for, clock, tokens=tokens, revenue_shares=SHARES)
    by_key = {(v.entity, v.name): v for v in before}
    for value in before:  # shown with -s: what a month of devnet market gives
        print(f"{value.entity:12} {value.name:22} {value.value if value.missing is None else '-- ' + value.missing}")
    # The month of history gives values, not only reasons: the test compares figures.
    for key in [
        ("uniswap", "momentum_7d"),
        ("uniswap", "volatility_30d"),
        ("aave", "fees_30d_usd"),
        ("aave", "tvl_trend_30d"),
        # Not Uniswap's fee ratios: a tick is one block, 47 h after the last, so no block starts the 24-h LP-fee
        # window before B and those rates are gaps (honestly); Aave's fees come from borrow rates.
        ("aave", "price_to_fees"),
        ("pancakeswap", "liquidity_usd"),
    ]:
        assert by_key[key].value is not None, (key, by_key[key].missing)

    stored = FactorStore(repo.engine).block(1, clock)
    assert stored is not None
    poison_after(repo, stored, tokens)
    after = await compute_factors(repo, reader_for, clock, tokens=tokens, revenue_shares=SHARES)
    assert after == before
    assert factors_at(repo, clock) == before
    # Negative control: a later block computed over the same store does see later (genuine) data.
    later = {(v.entity, v.name): v for v in await compute_factors(repo, reader_for, indexed[-1], tokens=tokens)}
    assert later[("uniswap", "momentum_7d")].value != by_key[("uniswap", "momentum_7d")].value
