"""`defiscope devnet up --provider-limits PROFILE` in a subprocess: the run file points at the simulator."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from defiscope.devnet import Devnet
from defiscope.devnet.anvil import rpc, stop_pid
from defiscope.devnet.provider_proxy import KEY_PATH
from tests.devnet.helpers import all_dead, cli, env_with, run_in_process, seeded_data_dir, wait_until


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("--provider-limits", "platinum"), "unknown provider profile 'platinum': one of none, free, strict"),
        (
            ("--provider-limits", "free", "--detach"),
            "--provider-limits runs the simulator in this process: start without --detach",
        ),
        (("--fault-rate", "0.1"), "--fault-rate needs --provider-limits"),
    ],
)
def test_bad_simulator_options_are_one_line_exit_2(tmp_path: Path, args: tuple[str, ...], problem: str) -> None:
    result = run_in_process(tmp_path, "devnet", "up", *args)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"error: {problem}")


def test_up_behind_the_strict_profile(devnet: Devnet, tmp_path: Path) -> None:
    data_dir = seeded_data_dir(devnet, tmp_path)
    run_file = data_dir / "devnet" / "run.json"
    process = subprocess.Popen(
        cli("devnet", "up", "--provider-limits", "strict"),  # both chains: see devnet_up
        env=env_with(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pids: list[int] = []
    try:
        wait_until(lambda: run_file.exists() and KEY_PATH in run_file.read_text(), 120, "the simulator's URL")
        info = json.loads(run_file.read_text())
        pids = [node["pid"] for node in info["nodes"]]
        url = of_chain_1(info["chains"])["rpc_url"]
        assert url.endswith(KEY_PATH)
        single = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
        assert single.json()["result"] == "0x1"
        batch = [{"jsonrpc": "2.0", "id": i, "method": "eth_chainId", "params": []} for i in range(21)]
        refused = httpx.post(url, json=batch).json()  # strict: at most 20 items per batch
        assert "batch size too large" in refused["error"]["message"]
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        assert "'strict' provider simulator" in out
        assert all_dead(pids)
        assert not run_file.exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in pids:
            stop_pid(pid)


@contextmanager
def devnet_up(data_dir: Path, *args: str) -> Iterator[dict[str, Any]]:
    """`defiscope devnet up ARGS` in the foreground; yields its run file once it serves, stops it after.

    Both chains: the seeded cache holds the session's world of chains 1 and 56 (loaded in a second); chain 1 alone
    would be a world of its own, deployed afresh (20-40 s, minutes on a loaded machine)."""
    run_file = data_dir / "devnet" / "run.json"
    process = subprocess.Popen(
        cli("devnet", "up", *args),
        env=env_with(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pids: list[int] = []
    try:
        proxied = "--provider-limits" in args
        wait_until(
            lambda: run_file.exists() and (KEY_PATH in run_file.read_text()) == proxied, 120, "the devnet's run file"
        )
        info = json.loads(run_file.read_text())
        pids = [node["pid"] for node in info["nodes"]]
        yield info
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            for pid in pids:
                stop_pid(pid)


def of_chain_1(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Chain 1's entry of the run file's nodes or chains."""
    (entry,) = (e for e in entries if e["chain_id"] == 1)
    return entry


def tvl_by_protocol(data_dir: Path, block: int) -> dict[str, str]:
    result = subprocess.run(
        cli("tvl", "--chain", "1", "--block", str(block), "--json"),
        env=env_with(data_dir),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return {p["slug"]: p["tvl_usd"] for p in json.loads(result.stdout)["protocols"]}


def test_tvl_command_behind_the_free_profile_equals_the_direct_figures(devnet: Devnet, tmp_path: Path) -> None:
    data_dir = seeded_data_dir(devnet, tmp_path)
    run_file = data_dir / "devnet" / "run.json"
    with devnet_up(data_dir, "--provider-limits", "free") as info:
        node_url = f"http://127.0.0.1:{of_chain_1(info['nodes'])['port']}"
        head = int(str(rpc(node_url, "eth_blockNumber")), 16)
        assert of_chain_1(info["chains"])["rpc_url"].endswith(KEY_PATH)
        limited = tvl_by_protocol(data_dir, head)
        # The same devnet read directly: point the run file at the anvil itself.
        of_chain_1(info["chains"])["rpc_url"] = node_url
        run_file.write_text(json.dumps(info))
        direct = tvl_by_protocol(data_dir, head)
    assert len(direct) >= 8
    assert all(value.replace("0", "").strip(".") for value in direct.values())  # no protocol at zero
    assert limited == direct
