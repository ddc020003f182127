"""`defiscope serve` twice on one data dir: the second continues the first's devnet and its history, no gap.

Start (with the market simulation, so blocks keep coming), first data through the API, SIGTERM (clean
exit, devnet saved, no anvil left), start again: the stored blocks and hashes stay, the history goes on
from the saved head without a missing block (the schedule is every block), and new data arrives. Then the
saved devnet is removed while the store is kept: `serve` refuses with one line and exit 2, store untouched.
"""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
from pathlib import Path

import httpx

from defiscope.devnet import Devnet
from defiscope.devnet.anvil import free_port
from tests.devnet.helpers import all_dead, cli, seeded_data_dir, wait_until
from tests.service.conftest import clean_env

CHAINS = (1, 56)


def stored_blocks(home: Path) -> dict[int, dict[int, str]]:
    """Every stored block's hash, by chain and number (read with sqlite3: an independent reader)."""
    with sqlite3.connect(home / "defiscope.db") as db:
        rows = db.execute("SELECT chain_id, number, hash FROM blocks ORDER BY chain_id, number").fetchall()
    blocks: dict[int, dict[int, str]] = {}
    for chain_id, number, hash_ in rows:
        blocks.setdefault(chain_id, {})[number] = hash_
    return blocks


def last_blocks(base: str) -> dict[int, int]:
    try:
        chains = httpx.get(f"{base}/v1/health", timeout=2).json()["chains"]
    except (httpx.TransportError, ValueError, KeyError):
        return {}
    return {c["chain_id"]: c["last_block"] for c in chains if c["last_block"] is not None}  # null: nothing stored


class Serve:
    """One `defiscope serve` child on a free port."""

    def __init__(self, home: Path, *args: str) -> None:
        self.base = f"http://127.0.0.1:{(port := free_port())}"
        self.home = home
        self.child = subprocess.Popen(
            cli("serve", "--port", str(port), *args),
            env=clean_env(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.pids: list[int] = []

    def wait_for(self, condition: dict[int, int], what: str) -> dict[int, int]:
        """Until every chain's last indexed block (per /v1/health) is at least `condition`'s."""
        seen: dict[int, int] = {}

        def reached() -> bool:
            seen.update(last_blocks(self.base))
            done = all(seen.get(cid, -1) >= least for cid, least in condition.items())
            return done or self.child.poll() is not None

        wait_until(reached, 60, what)
        assert self.child.poll() is None, self.child.communicate()[1]
        if not self.pids:
            run = json.loads((self.home / "devnet" / "run.json").read_text())
            self.pids = [n["pid"] for n in run["nodes"]]
        return seen

    def stop(self) -> str:
        """SIGTERM; the child must exit 0 with its anvils gone; returns its stdout."""
        self.child.send_signal(signal.SIGTERM)
        stdout, stderr = self.child.communicate(timeout=90)
        assert self.child.returncode == 0, stderr
        wait_until(lambda: all_dead(self.pids), 10, "the devnet's anvils to stop")
        assert not (self.home / "devnet" / "run.json").exists()
        return stdout

    def kill(self) -> None:
        if self.child.poll() is None:
            self.child.kill()
            self.child.wait(10)


def saved_heads(home: Path) -> dict[int, tuple[int, str]]:
    saved = json.loads((home / "devnet" / "saved" / "saved.json").read_text())
    return {h["chain_id"]: (h["number"], h["hash"]) for h in saved["heads"]}


def test_a_second_serve_continues_the_first(devnet: Devnet, tmp_path: Path) -> None:
    home = seeded_data_dir(devnet, tmp_path / "home")
    first = Serve(home, "--tick", "1", "--seed", "11")
    try:
        started = first.wait_for({cid: 0 for cid in CHAINS}, "the first serve to index both chains")
        first.wait_for({cid: started[cid] + 3 for cid in CHAINS}, "the simulation's blocks to be indexed")
        output = first.stop()
    finally:
        first.kill()
    assert "devnet saved in" in output
    before = stored_blocks(home)
    heads = saved_heads(home)
    for cid in CHAINS:
        # Drained before saving: the last stored block is the saved head, the same block.
        assert max(before[cid]) == heads[cid][0]
        assert before[cid][heads[cid][0]] == heads[cid][1]

    # No simulation the second time (a quicker test): the resumed devnet's new blocks are its feeds' fresh round.
    second = Serve(home, "--no-simulate")
    try:
        second.wait_for({cid: heads[cid][0] + 2 for cid in CHAINS}, "the second serve to index new blocks")
        output = second.stop()
    finally:
        second.kill()
    for cid in CHAINS:
        assert f"chain {cid}: indexing resumes after stored block {heads[cid][0]}" in output
    after = stored_blocks(home)
    for cid in CHAINS:
        numbers = sorted(after[cid])
        assert numbers[0] == min(before[cid])  # the first stored block is still the first...
        assert {n: after[cid][n] for n in before[cid]} == before[cid]  # ...and no stored hash changed
        assert numbers == list(range(numbers[0], numbers[-1] + 1))  # every block: no gap across the restart
        assert numbers[-1] > heads[cid][0] + 1  # new data arrived

    # The saved devnet removed, the store kept: a fresh chain cannot continue that history.
    shutil.rmtree(home / "devnet" / "saved")
    refused = subprocess.run(
        cli("serve", "--port", str(free_port())), env=clean_env(home), capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "the store holds devnet history (chain 1 up to block" in lines[0]
    assert "no saved devnet is in" in lines[0]
    assert "--reset" in lines[0]
    assert stored_blocks(home) == after
    assert not (home / "devnet" / "run.json").exists()
