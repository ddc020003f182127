"""`defiscope devnet up/info/down` in subprocesses, each with its own DEFISCOPE_DATA_DIR (refusals of bad input in
this process: they come before any work, and a child would spend seconds importing the CLI first)."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

from defiscope.devnet import Devnet
from defiscope.devnet.anvil import rpc, stop_pid

from .helpers import all_dead, cli, env_with, run_in_process, seeded_data_dir, wait_until


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cli(*args), env=env_with(data_dir), capture_output=True, text=True, timeout=120)


def test_info_without_a_devnet_is_one_line_exit_2(tmp_path: Path) -> None:
    result = run_in_process(tmp_path, "devnet", "info")
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: no devnet runs: start one with `defiscope devnet up --detach`"
    assert result.stdout == ""


def test_unknown_chain_is_one_line_exit_2(tmp_path: Path) -> None:
    result = run_in_process(tmp_path, "devnet", "up", "--detach", "--chain", "999")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "unsupported chain ids [999]" in result.stderr
    assert "Traceback" not in result.stderr


def test_up_detach_info_down(devnet: Devnet, tmp_path: Path) -> None:
    data_dir = seeded_data_dir(devnet, tmp_path)
    run_file = data_dir / "devnet" / "run.json"
    up = run(data_dir, "devnet", "up", "--detach")
    pids = [node["pid"] for node in json.loads(run_file.read_text())["nodes"]] if run_file.exists() else []
    try:
        assert up.returncode == 0, up.stderr
        assert len(pids) == 2
        assert not all_dead(pids)  # they outlived the `up` process

        info = run(data_dir, "devnet", "info", "--json")
        assert info.returncode == 0, info.stderr
        chains = json.loads(info.stdout)["chains"]
        assert [c["chain_id"] for c in chains] == [1, 56]
        assert [c["name"] for c in chains] == ["ethereum", "bnb"]
        for chain, expected in zip(chains, devnet.chains, strict=True):
            assert chain["tokens"] == dict(expected.tokens)
            assert chain["contracts"] == dict(expected.contracts)
            assert len(chain["pools"]) == len(expected.pools)
            assert int(str(rpc(chain["rpc_url"], "eth_chainId")), 16) == chain["chain_id"]

        again = run(data_dir, "devnet", "up", "--detach")
        assert again.returncode == 2
        assert "a devnet already runs" in again.stderr

        down = run(data_dir, "devnet", "down")
        assert down.returncode == 0, down.stderr
        assert down.stdout.strip() == f"devnet stopped (anvil pids {pids[0]}, {pids[1]})"
        wait_until(lambda: all_dead(pids), 5, "anvils to stop")
        assert not run_file.exists()

        nothing = run(data_dir, "devnet", "down")
        assert nothing.returncode == 0
        assert nothing.stdout.strip() == "no devnet runs; nothing to stop"
    finally:
        for pid in pids:
            stop_pid(pid)


def test_up_in_the_foreground_stops_on_ctrl_c(devnet: Devnet, tmp_path: Path) -> None:
    data_dir = seeded_data_dir(devnet, tmp_path)
    run_file = data_dir / "devnet" / "run.json"
    process = subprocess.Popen(
        cli("devnet", "up"),  # the seeded world's chains (1 and 56): a start from the cache, not a deployment
        env=env_with(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pids: list[int] = []
    try:
        wait_until(run_file.exists, 120, "the run file")
        pids = [node["pid"] for node in json.loads(run_file.read_text())["nodes"]]
        assert len(pids) == 2
        assert not all_dead(pids)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        assert out.strip().endswith("devnet stopped")
        assert all_dead(pids)
        assert not run_file.exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in pids:
            stop_pid(pid)
