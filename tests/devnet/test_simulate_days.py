"""`defiscope devnet simulate --days N` end to end, in children on data dirs holding a copy of the cached world.

A day of two 12-hour ticks is stored (blocks stamped on the warped clock, every protocol's TVL at each sample);
a second run on the same data dir continues the same chain and history; the same seed in two fresh data dirs
stores the same figures at the same block numbers, another seed other ones; bad option combinations are one
line and exit 2. Stored rows are read with sqlite3: an independent reader.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from defiscope.analytics.risk.facts import known_slugs
from defiscope.devnet import Devnet
from defiscope.devnet.anvil import rpc
from tests.devnet.helpers import cli, run_in_process, seeded_data_dir
from tests.service.chainkit import write_run_file
from tests.service.conftest import clean_env

CHAINS = (1, 56)
DAY = 86_400
HALF_DAY = DAY // 2


def simulate(home: Path, *args: str) -> dict[str, Any]:
    """One `devnet simulate --days ... --json` child; its JSON summary (it must exit 0)."""
    child = subprocess.run(
        cli("devnet", "simulate", "--json", *args), env=clean_env(home), capture_output=True, text=True, timeout=600
    )
    assert child.returncode == 0, child.stderr
    summary: dict[str, Any] = json.loads(child.stdout)
    return summary


def by_chain(summary: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {c["chain_id"]: c for c in summary["chains"]}


def stored_blocks(home: Path) -> dict[int, dict[int, tuple[str, int]]]:
    """chain -> block number -> (hash, timestamp) of every stored block."""
    with sqlite3.connect(home / "defiscope.db") as db:
        rows = db.execute("SELECT chain_id, number, hash, timestamp FROM blocks").fetchall()
    blocks: dict[int, dict[int, tuple[str, int]]] = {}
    for chain_id, number, hash_, timestamp in rows:
        blocks.setdefault(chain_id, {})[number] = (hash_, timestamp)
    return blocks


def history_digest(home: Path, since: int) -> tuple[str, int]:
    """A digest of every TVL snapshot and price stored from `since` (unix time) on, and how many rows it covers.
    Block hashes are left out: the world's feeds are refreshed at wall-clock time when it starts, so hashes
    differ between two starts; numbers, times and figures must not."""
    with sqlite3.connect(home / "defiscope.db") as db:
        snapshots = db.execute(
            "SELECT chain_id, slug, block_number, block_timestamp, tvl_usd, borrowed_usd, staking_usd, pool2_usd "
            "FROM tvl_snapshots WHERE block_timestamp >= ? ORDER BY chain_id, slug, block_number",
            (since,),
        ).fetchall()
        prices = db.execute(
            "SELECT chain_id, token, source, block_number, timestamp, usd FROM prices WHERE timestamp >= ? "
            "ORDER BY chain_id, token, source, timestamp",
            (since,),
        ).fetchall()
    rows = [*snapshots, *prices]
    return hashlib.sha256(repr(rows).encode()).hexdigest(), len(rows)


def assert_serve_hooks_ran(home: Path, last_blocks: dict[int, int]) -> None:
    """What `serve`'s hooks store beside the snapshots: a risk score of every protocol on each chain, and the indices
    tracked up to each chain's last block (a value, or the reason there is none)."""
    with sqlite3.connect(home / "defiscope.db") as db:
        scored = db.execute("SELECT DISTINCT chain_id, slug FROM risk_scores").fetchall()
        snapshotted = db.execute("SELECT DISTINCT chain_id, slug FROM tvl_snapshots").fetchall()
        tracked = db.execute(
            "SELECT chain_id, MAX(block_number), COUNT(DISTINCT index_id) FROM index_values GROUP BY chain_id"
        ).fetchall()
        indices = {i for (i,) in db.execute("SELECT DISTINCT index_id FROM index_values")}
    facts = set(known_slugs())  # the protocols the risk score knows (`analytics.risk.hook.scored_slugs`)
    assert set(scored) == {(c, slug) for c, slug in snapshotted if slug in facts}
    assert {c for c, _ in scored} == set(CHAINS)
    assert {c: (last, count) for c, last, count in tracked} == {c: (last_blocks[c], len(indices)) for c in CHAINS}
    assert indices


def test_a_day_is_indexed_and_a_second_run_continues_it(devnet: Devnet, tmp_path: Path) -> None:
    home = seeded_data_dir(devnet, tmp_path / "home")
    first = simulate(home, "--days", "1", "--tick", "12h", "--sample-every", "12h", "--seed", "3")
    start = by_chain(first)[1]["start_timestamp"]
    assert by_chain(first)[56]["start_timestamp"] == start  # one clock for both chains
    assert start % DAY == 0  # the next UTC midnight after the world's head
    blocks = stored_blocks(home)
    for chain_id, chain in by_chain(first).items():
        assert (chain["ticks"], chain["samples"]) == (2, 3)  # the start's head, then after each tick
        stamps = sorted(t for _, t in blocks[chain_id].values())
        assert len(stamps) == 3
        # After each tick: its first block at its slot of the clock, the sample a few seconds (blocks) later.
        assert 0 <= stamps[1] - start < 600
        assert 0 <= stamps[2] - (start + HALF_DAY) < 600
        assert chain["last_block"]["timestamp"] == stamps[2]
        assert blocks[chain_id][chain["last_block"]["number"]][0] == chain["last_block"]["hash"]
    with sqlite3.connect(home / "defiscope.db") as db:
        per_block = db.execute(
            "SELECT chain_id, block_number, COUNT(*), MIN(tvl_usd) FROM tvl_snapshots GROUP BY chain_id, block_number"
        ).fetchall()
    assert {(c, n) for c, n, _, _ in per_block} == {(c, n) for c in CHAINS for n in blocks[c]}
    assert all(count >= 5 and float(least) >= 0 for _, _, count, least in per_block)
    assert_serve_hooks_ran(home, {c: by_chain(first)[c]["last_block"]["number"] for c in CHAINS})
    saved = json.loads((home / "devnet" / "saved" / "saved.json").read_text())
    assert {h["chain_id"]: h["number"] for h in saved["heads"]} == {
        c: by_chain(first)[c]["last_block"]["number"] for c in CHAINS
    }

    second = simulate(home, "--days", "1", "--tick", "12h", "--sample-every", "12h", "--seed", "3")
    after = stored_blocks(home)
    for chain_id in CHAINS:
        before_last, again = by_chain(first)[chain_id]["last_block"], by_chain(second)[chain_id]
        assert again["first_block"]["number"] > before_last["number"]
        assert again["first_block"]["timestamp"] > before_last["timestamp"]
        # The next day: the second run's clock starts where the first one's day ended.
        assert again["start_timestamp"] == start + DAY
        assert again["last_block"]["timestamp"] >= start + DAY + HALF_DAY
        # The first run's blocks are still there, with their hashes: the same chain, continued.
        assert {n: after[chain_id][n] for n in blocks[chain_id]} == blocks[chain_id]
        stamps = [after[chain_id][n][1] for n in sorted(after[chain_id])]
        assert stamps == sorted(stamps)
        assert len(set(stamps)) == len(stamps) == 6


def test_the_same_seed_stores_the_same_history(devnet: Devnet, tmp_path: Path) -> None:
    def run(name: str, seed: int) -> tuple[dict[str, Any], Path]:
        home = seeded_data_dir(devnet, tmp_path / name)
        return simulate(home, "--days", "1", "--tick", "1d", "--sample-every", "1d", "--seed", str(seed)), home

    (first, first_home), (again, again_home) = run("first", 11), run("again", 11)
    start = by_chain(first)[1]["start_timestamp"]
    if by_chain(again)[1]["start_timestamp"] != start:  # the runs straddled midnight UTC: both start on one day
        first, first_home = run("first-again", 11)
        start = by_chain(first)[1]["start_timestamp"]
    assert by_chain(again)[1]["start_timestamp"] == start
    digest, rows = history_digest(first_home, start)
    assert rows > 20  # the day's samples of every protocol and their prices
    assert history_digest(again_home, start) == (digest, rows)
    for chain_id in CHAINS:
        assert by_chain(first)[chain_id]["last_block"]["number"] == by_chain(again)[chain_id]["last_block"]["number"]

    other, other_home = run("other", 12)
    assert history_digest(other_home, by_chain(other)[1]["start_timestamp"])[0] != digest


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--days", "1", "--ticks", "3"), "--ticks and --days exclude each other"),
        (("--days", "1", "--chain", "1"), "drop --chain"),
        (("--days", "1", "--tick", "7h"), "--tick (25200 s) must divide a day"),
        (("--days", "1", "--tick", "10s"), "--tick must be 60 s to 1 d"),
        (("--days", "1", "--sample-every", "90m"), "must be a whole number of ticks"),
        (("--days", "1", "--sample-every", "2d"), "within the run"),
        (("--days", "1", "--sample-every", "often"), "expected a positive duration"),
        (("--days", "99999"), "--days must be 1 to 3650"),
        (("--ticks", "3", "--sample-every", "6h"), "--sample-every goes with --days"),
        (("--json",), "--json goes with --days"),
    ],
)
def test_bad_options_are_one_line_exit_2(tmp_path: Path, args: tuple[str, ...], expected: str) -> None:
    result = run_in_process(tmp_path, "devnet", "simulate", *args)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert expected in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "devnet").exists()  # refused before anything started


def test_days_refuse_configured_rpc_endpoints(tmp_path: Path) -> None:
    result = run_in_process(tmp_path, "devnet", "simulate", "--days", "1", env={"DEFISCOPE_RPC_1": "http://x.invalid"})
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "unset DEFISCOPE_RPC_<CHAINID>" in result.stderr


def test_ticks_step_the_running_devnet_and_days_refuse_it(devnet: Devnet, tmp_path: Path) -> None:
    write_run_file(devnet, tmp_path)
    result = run_in_process(tmp_path, "devnet", "simulate", "--ticks", "2", "--chain", "56", "--seed", "4")
    assert result.exit_code == 0, result.stderr
    head = rpc(devnet.chain(56).rpc_url, "eth_blockNumber")
    assert f"2 ticks to block {int(str(head), 16)}" in result.stdout

    # --days brings up the data dir's own devnet: not while one runs on it.
    refused = run_in_process(tmp_path, "devnet", "simulate", "--days", "1")
    assert refused.exit_code == 2
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert "a devnet already runs" in refused.stderr
