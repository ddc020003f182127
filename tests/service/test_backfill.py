"""Backfill on the devnet: ranges and steps, skipping what is stored, bad input, and resuming after SIGKILL."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from asyncio.subprocess import PIPE
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from defiscope.cli import app
from defiscope.devnet import DevnetChain
from defiscope.devnet.artifacts import npm_artifact
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.tx import Sender
from defiscope.protocols.base import BalanceKind
from defiscope.service.backfill import BackfillInputError, backfill
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine
from tests.service.chainkit import feed_treasury, head, mine
from tests.service.conftest import clean_env, make_engine

TREASURY = "devnet-treasury"


def grow(chain: DevnetChain, blocks: int) -> tuple[int, int]:
    """Append `blocks` blocks, a treasury deposit every tenth, so each stretch has its own TVL."""
    start = head(chain) + 1
    while head(chain) < start + blocks - 1:
        feed_treasury(chain, 10**17)
        mine(chain, min(9, start + blocks - 1 - head(chain)))
    return start, head(chain)


async def assert_stored_like_fresh(engine: TvlEngine, repo: Repository, slug: str, numbers: list[int]) -> None:
    """One snapshot per block, at the chain's block, with the totals a fresh computation gives."""
    points = repo.history(slug, engine.client.chain_id)
    assert [p.block.number for p in points] == numbers
    fresh = await asyncio.gather(*(engine.snapshot(n, slugs={slug}) for n in numbers))
    for point, result in zip(points, fresh, strict=True):
        (snapshot,) = result.snapshots
        assert point.block == result.block
        assert point.tvl_usd == snapshot.total(BalanceKind.TVL)


async def test_backfill_stores_every_step_and_reports_progress(
    engine: TvlEngine, eth_chain: DevnetChain, repo: Repository
) -> None:
    start, _ = grow(eth_chain, 30)
    seen: list[tuple[int, int]] = []
    result = await backfill(
        engine, repo, TREASURY, start, start + 29, step=3, concurrency=3, on_progress=lambda *p: seen.append(p)
    )
    expected = list(range(start, start + 30, 3))
    assert (result.stored, result.skipped, result.step) == (10, 0, 3)
    assert repo.stored_blocks(TREASURY, 1, 0, 10**9) == set(expected)
    # The first block is the validity check: progress starts once it is stored.
    assert [done for done, _ in seen] == list(range(1, 11))
    assert {total for _, total in seen} == {10}
    await assert_stored_like_fresh(engine, repo, TREASURY, expected)
    assert len({p.tvl_usd for p in repo.history(TREASURY, 1)}) > 1


async def test_backfill_skips_what_is_stored(engine: TvlEngine, eth_chain: DevnetChain, repo: Repository) -> None:
    start, top = grow(eth_chain, 20)
    await backfill(engine, repo, "uniswap-v2", start + 5, start + 9)
    result = await backfill(engine, repo, "uniswap-v2", start, top)
    assert (result.stored, result.skipped) == (15, 5)
    await assert_stored_like_fresh(engine, repo, "uniswap-v2", list(range(start, top + 1)))
    again = await backfill(engine, repo, "uniswap-v2", start, top)
    assert (again.stored, again.skipped) == (0, 20)


async def test_backfill_refuses_a_block_before_the_deployment(eth_chain: DevnetChain, repo: Repository) -> None:
    # A factory deployed now: one block earlier, its address has no code.
    sender = Sender.connect(eth_chain.rpc_url)
    factory = sender.deploy(npm_artifact("UniswapV2Factory"), sender.owner)
    deployed = head(eth_chain)
    base = devnet_deployment(eth_chain)
    late = make_engine(
        replace(base, contracts={**base.contracts, "UniswapV2Factory": factory.address}), eth_chain.rpc_url
    )
    try:
        with pytest.raises(
            BackfillInputError,
            match=rf"^uniswap-v2 cannot be read at block {deployed - 1}: .*allPairsLength.*before its deployment\?\)$",
        ):
            await backfill(late, repo, "uniswap-v2", deployed - 1, deployed)
        result = await backfill(late, repo, "uniswap-v2", deployed, deployed)  # an empty factory: a real 0
    finally:
        await late.client.aclose()
    assert result.stored == 1
    assert repo.stored_blocks("uniswap-v2", 1, 0, 10**9) == {deployed}


async def test_backfill_extends_history_backwards_across_a_new_pair(
    engine: TvlEngine, eth_chain: DevnetChain, repo: Repository
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    factory = sender.contract(npm_artifact("UniswapV2Factory"), eth_chain.contracts["UniswapV2Factory"])
    sender.send(factory.functions.createPair(eth_chain.tokens["LINK"], eth_chain.tokens["UNI"]))
    created = head(eth_chain)
    await backfill(engine, repo, "uniswap-v2", created, created)  # the engine now knows the new pair
    result = await backfill(engine, repo, "uniswap-v2", created - 1, created)  # a week earlier, say
    assert result.stored == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["nope", "--from-block", "0", "--to-block", "1"],
            "unknown protocol 'nope'; known: aave-v3, compound-v2, compound-v3, curve, devnet-treasury,",
        ),
        (
            ["nope", "--chain", "1", "--from-block", "0", "--to-block", "1"],
            "unknown protocol 'nope' on chain 1; known: aave-v3, compound-v2, compound-v3, curve, devnet-treasury,",
        ),
        (
            ["uniswap-v2", "--from-block", "0", "--to-block", "1"],
            "uniswap-v2 runs on chains 1, 56: pick one with --chain",
        ),
        (["uniswap-v2", "-c", "1", "--from-block", "9", "--to-block", "5"], "from block 9 is after to block 5"),
        (
            ["uniswap-v2", "-c", "1", "--from-block", "5", "--to-block", "9", "--step", "0"],
            "step must be 1 or more, got 0",
        ),
        (
            ["uniswap-v2", "-c", "1", "--from-block", "5", "--to-block", "99999"],
            "block 99999 is in the future; head is {head}",
        ),
        (["uniswap-v2", "-c", "1", "--from-block", "1", "--to-block", "2"], "uniswap-v2 cannot be read at block 1: "),
    ],
)
def test_backfill_bad_input_is_one_line_exit_2(
    cli: CliRunner, devnet_home: Path, eth_chain: DevnetChain, args: list[str], message: str
) -> None:
    result = cli.invoke(app, ["backfill", *args, "--network", "devnet"])
    assert result.exit_code == 2, result.output
    assert message.format(head=head(eth_chain)) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_before_deployment_names_the_likely_cause(cli: CliRunner, devnet_home: Path) -> None:
    # The devnet's world is loaded from a state dump: block 1 has a hash but no state to read.
    result = cli.invoke(app, ["backfill", "uniswap-v2", "-c", "1", "--from-block", "1", "--to-block", "2"])
    assert result.exit_code == 2
    assert result.stderr.rstrip().endswith("(before its deployment?)")


def backfill_command(first: int, last: int, concurrency: int) -> list[str]:
    return [
        *("-m", "defiscope.cli", "backfill", TREASURY, "--chain", "1", "--network", "devnet", "--json"),
        *("--from-block", str(first), "--to-block", str(last), "--step", "2", "--concurrency", str(concurrency)),
    ]


async def test_backfill_resumes_after_sigkill(
    engine: TvlEngine, eth_chain: DevnetChain, devnet_home: Path, any_repo: Repository
) -> None:
    first, last = grow(eth_chain, 300)
    expected = list(range(first, last + 1, 2))
    env = clean_env(devnet_home, DEFISCOPE_DATABASE_URL=any_repo.engine.url.render_as_string(hide_password=False))
    child = await asyncio.create_subprocess_exec(
        sys.executable, *backfill_command(first, last, 1), env=env, stdout=PIPE, stderr=PIPE
    )
    try:
        # A generous deadline: the wait ends as soon as blocks are stored (a second or two on an idle machine).
        deadline = time.monotonic() + 120
        while len(any_repo.stored_blocks(TREASURY, 1, first, last)) < 20:  # half-way: some blocks stored
            assert child.returncode is None, await child.communicate()
            assert time.monotonic() < deadline, "the backfill stored nothing within 120 s"
            await asyncio.sleep(0.01)
    finally:
        if child.returncode is None:
            child.kill()  # SIGKILL: no cleanup, no atexit (and no child left behind by a failed wait)
        await asyncio.wait_for(child.wait(), timeout=60)
    assert child.returncode == -signal.SIGKILL
    done = any_repo.stored_blocks(TREASURY, 1, first, last)
    assert 20 <= len(done) < len(expected)
    assert done == set(expected[: len(done)])  # one worker: a prefix, no holes

    rerun = await asyncio.create_subprocess_exec(
        sys.executable, *backfill_command(first, last, 3), env=env, stdout=PIPE, stderr=PIPE
    )
    out, err = await asyncio.wait_for(rerun.communicate(), timeout=120)
    assert rerun.returncode == 0, err.decode()
    summary = json.loads(out)
    assert summary == {
        "slug": TREASURY,
        "chain_id": 1,
        "from_block": first,
        "to_block": last,
        "step": 2,
        "stored": len(expected) - len(done),  # exactly the missing blocks
        "skipped": len(done),
        "seconds": summary["seconds"],
        "blocks_per_second": summary["blocks_per_second"],
    }
    await assert_stored_like_fresh(engine, any_repo, TREASURY, expected)  # no gap, no duplicate, right totals
