"""The block follower on the devnet: what `index --once` stores, every-N scheduling, failures, the loop."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from asyncio.subprocess import PIPE
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Final

import pytest
from typer.testing import CliRunner

from defiscope.chain.block import BlockRef
from defiscope.cli import app
from defiscope.config import RpcSettings
from defiscope.deployments import TokenInfo
from defiscope.devnet import Devnet, DevnetChain
from defiscope.devnet.deployment import devnet_deployment
from defiscope.protocols.base import BalanceKind
from defiscope.protocols.registry import adapters_for
from defiscope.service.context import ChainTarget, build_engine
from defiscope.service.indexer import Indexer, IndexerOptions, due_blocks
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine
from tests.service.chainkit import block, feed_treasury, head, mine
from tests.service.conftest import clean_env, make_engine


def chain_block(chain: DevnetChain, number: int) -> BlockRef:
    raw = block(chain, number)
    return BlockRef(chain.chain_id, number, raw["hash"], int(raw["timestamp"], 16))


def test_due_blocks_follow_the_schedule() -> None:
    assert due_blocks(None, 107, 1, None) == [107]
    assert due_blocks(None, 107, 10, None) == [100]
    assert due_blocks(100, 100, 10, None) == []
    assert due_blocks(99, 131, 10, None) == [100, 110, 120, 130]
    assert due_blocks(99, 131, 10, 2) == [100, 110]
    assert due_blocks(7, 12, 1, None) == [8, 9, 10, 11, 12]


def test_index_once_stores_one_snapshot_per_protocol_at_the_head(
    cli: CliRunner, devnet_home: Path, devnet: Devnet
) -> None:
    result = cli.invoke(app, ["index", "--once", "--network", "devnet"])
    assert result.exit_code == 0, result.output
    repo = Repository.open()  # the CLI's default: $DEFISCOPE_DATA_DIR/defiscope.db
    try:
        for chain in devnet.chains:
            top = chain_block(chain, head(chain))
            slugs = tuple(a.info.slug for a in adapters_for(devnet_deployment(chain)))
            assert {"uniswap-v2", "devnet-treasury"} <= set(slugs)
            for slug in slugs:
                assert repo.stored_blocks(slug, chain.chain_id, 0, 10**9) == {top.number}
                stored = repo.latest_snapshot(slug, chain.chain_id)
                assert stored is not None
                assert stored.block == top  # number, hash and timestamp are the chain's
                assert stored.total(BalanceKind.TVL) > 0
            assert f"chain {chain.chain_id} block {top.number} ({top.hash})" in result.stdout
        every = {a.info.slug for c in devnet.chains for a in adapters_for(devnet_deployment(c))}
        assert sorted(repo.protocol_slugs()) == sorted(every)
    finally:
        repo.close()


async def test_every_n_stores_only_multiples_without_gaps(
    engine: TvlEngine, eth_chain: DevnetChain, repo: Repository
) -> None:
    indexer = Indexer({1: engine}, repo, IndexerOptions(every=5, max_blocks_per_iteration=3))
    chain = indexer.chains[1]
    first, _ = await chain.step(None)
    start = head(eth_chain)
    assert [b.block.number for b in first] == [start - start % 5]
    top = mine(eth_chain, 23)
    batches = []
    more = True
    while more:  # bounded work: at most 3 blocks per iteration, oldest first
        indexed, more = await chain.step(chain.options.max_blocks_per_iteration)
        assert len(indexed) <= 3
        batches.append([b.block.number for b in indexed])
    expected = list(range(start - start % 5, top + 1, 5))
    assert [n for batch in batches for n in batch] == expected[1:]
    for slug in engine.slugs:
        assert repo.stored_blocks(slug, 1, 0, 10**9) == set(expected)


async def test_a_failing_protocol_is_not_stored_and_shows_in_status(eth_chain: DevnetChain, repo: Repository) -> None:
    # The treasury also "holds" a token whose balanceOf reverts (the devnet's Reverter contract).
    base = devnet_deployment(eth_chain)
    bad = TokenInfo("BAD", eth_chain.contracts["Reverter"], 18)
    treasury = replace(base.treasuries[0], tokens=(*base.treasuries[0].tokens, "BAD"))
    deployment = replace(base, tokens={**base.tokens, "BAD": bad}, treasuries=(treasury,))
    engine = make_engine(deployment, eth_chain.rpc_url)
    try:
        indexer = Indexer({1: engine}, repo)
        (indexed,) = await indexer.run_once()
    finally:
        await engine.client.aclose()
    assert "devnet-treasury" not in indexed.stored
    assert "uniswap-v2" in indexed.stored
    assert repo.latest_snapshot("devnet-treasury", 1) is None  # not a zero: nothing
    assert repo.stored_blocks("uniswap-v2", 1, 0, 10**9) == {indexed.block.number}
    (failure,) = indexer.status().failing
    assert (failure.slug, failure.chain_id, failure.block) == ("devnet-treasury", 1, indexed.block)
    assert "balanceOf" in failure.reason
    assert indexer.status().protocols[("uniswap-v2", 1)].failing is False


async def test_the_loop_follows_new_blocks_until_stopped(
    engine: TvlEngine, eth_chain: DevnetChain, repo: Repository
) -> None:
    indexer = Indexer({1: engine}, repo, IndexerOptions(poll_interval=0.02))
    stop = asyncio.Event()
    start = head(eth_chain)
    task = asyncio.create_task(indexer.run(stop))
    await wait_for_block(repo, start)  # the first iteration starts at the head
    for amount in (1, 2, 3):
        feed_treasury(eth_chain, amount * 10**18)
        await asyncio.sleep(0.05)
    top = mine(eth_chain, 4)
    await wait_for_block(repo, top)
    stop.set()
    await asyncio.wait_for(task, timeout=30)
    assert repo.stored_blocks("devnet-treasury", 1, 0, 10**9) == set(range(start, top + 1))
    status = indexer.status().chains[1]
    assert status.last_indexed is not None
    assert status.last_indexed.number == top
    assert status.last_error is None
    stored = [p.tvl_usd for p in repo.history("devnet-treasury", 1)]
    assert stored == sorted(stored)
    assert len(set(stored)) == 4


async def wait_for_block(repo: Repository, number: int, seconds: float = 60.0) -> None:
    """Wait until the block is stored. The deadline is generous: the wait ends as soon as it is (a busy machine
    stretches the time, which is no failure)."""
    deadline = time.monotonic() + seconds
    while not repo.stored_blocks("devnet-treasury", 1, number, number):
        if time.monotonic() > deadline:
            raise AssertionError(f"block {number} was not indexed within {seconds} s")
        await asyncio.sleep(0.02)


async def test_rpc_errors_back_off_and_never_stop_the_loop(eth_chain: DevnetChain, repo: Repository) -> None:
    dead = ChainTarget(1, ("http://127.0.0.1:9",), devnet_deployment(eth_chain))
    engine = build_engine(dead, RpcSettings(timeout=0.2, max_attempts=1))
    indexer = Indexer({1: engine}, repo, IndexerOptions(backoff_initial=0.01, backoff_max=0.05))
    stop = asyncio.Event()
    task = asyncio.create_task(indexer.run(stop))
    try:
        await asyncio.sleep(0.3)
        assert not task.done()
        error = indexer.status().chains[1].last_error
        assert error is not None
        assert "127.0.0.1:9" in error
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)
        await engine.client.aclose()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["index", "--once", "--every", "0"], "--every must be 1 or more, got 0"),
        (["index", "--once", "--network", "moon"], "unknown network 'moon'"),
        (["index", "--once", "--chain", "137"], "chain 137 is not configured"),
    ],
)
def test_index_bad_input_is_one_line(cli: CliRunner, devnet_home: Path, args: list[str], message: str) -> None:
    result = cli.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


FOLLOW: Final = ("-m", "defiscope.cli", "index", "--chain", "1", "--network", "devnet", "--poll-interval", "0.05")


@asynccontextmanager
async def following(devnet_home: Path) -> AsyncIterator[Callable[[], Awaitable[tuple[int, str]]]]:
    """`defiscope index` following chain 1 in a child process; yields `stop`: SIGTERM, then (exit code, stderr)."""
    child = await asyncio.create_subprocess_exec(sys.executable, *FOLLOW, env=clean_env(devnet_home), stderr=PIPE)

    async def stop() -> tuple[int, str]:
        child.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(child.communicate(), timeout=60)
        return child.returncode if child.returncode is not None else -1, err.decode()

    try:
        yield stop
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()


async def test_index_command_follows_and_stops_on_sigterm(devnet_home: Path, eth_chain: DevnetChain) -> None:
    repo = Repository.open()
    try:
        async with following(devnet_home) as stop:
            start = head(eth_chain)
            await wait_for_block(repo, start, seconds=120)  # the child starts in about a second
            top = feed_treasury(eth_chain, 10**18)
            await wait_for_block(repo, top)
            code, err = await stop()
    finally:
        repo.close()
    assert code == 0, err
    assert "indexer.block_stored" in err  # one structured line per block on stderr
    assert repo.stored_blocks("devnet-treasury", 1, 0, 10**9) == set(range(start, top + 1))


async def test_index_command_resumes_after_the_last_stored_block(devnet_home: Path, eth_chain: DevnetChain) -> None:
    """Blocks mined while no indexer ran are indexed when `index` starts again: no hole in the history."""
    once = ("-m", "defiscope.cli", "index", "--chain", "1", "--network", "devnet", "--once")
    first = await asyncio.create_subprocess_exec(sys.executable, *once, env=clean_env(devnet_home), stderr=PIPE)
    assert await asyncio.wait_for(first.wait(), timeout=120) == 0
    repo = Repository.open()
    try:
        (stored,) = repo.stored_blocks("devnet-treasury", 1, 0, 10**9)
        missed = [feed_treasury(eth_chain, 10**18) for _ in range(3)]  # mined while nothing indexes
        async with following(devnet_home) as stop:
            await wait_for_block(repo, missed[-1], seconds=120)
            code, err = await stop()
        assert code == 0, err
        assert "indexer.resumed" in err
        assert set(range(stored, missed[-1] + 1)) <= repo.stored_blocks("devnet-treasury", 1, 0, 10**9)
    finally:
        repo.close()
