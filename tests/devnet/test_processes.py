"""Anvil process handling: no orphans, clear start errors, clean stops."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from defiscope.devnet import Devnet
from defiscope.devnet.anvil import (
    HISTORY_STATES_ENV,
    HOST,
    find_anvil,
    free_port,
    pid_is_anvil,
    rpc,
    start_anvil,
    stop_pid,
)
from defiscope.devnet.errors import DevnetError

from .helpers import all_dead, wait_until

CHILD = """
import json, sys, time
from pathlib import Path
from defiscope.devnet import start_devnet
devnet = start_devnet((1, 56), state_dir=Path(sys.argv[1]), show_progress=False)
print(json.dumps([node.pid for node in devnet.nodes]), flush=True)
time.sleep(600)
"""


def test_killing_the_parent_leaves_no_orphan(devnet: Devnet) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(devnet.world_dir.parent)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    pids: list[int] = []
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        while not line.startswith("["):  # structlog's default configuration logs to stdout too
            line = child.stdout.readline()
        pids = json.loads(line)
        assert len(pids) == 2
        assert all(pid_is_anvil(pid) for pid in pids)
        child.send_signal(signal.SIGKILL)  # no atexit, no cleanup: only PDEATHSIG can stop them
        child.wait(10)
        wait_until(lambda: all_dead(pids), 5, "anvils to die with their parent")
    finally:
        if child.poll() is None:
            child.kill()
        for pid in pids:
            stop_pid(pid)


def test_start_answers_and_stop_is_clean_and_idempotent() -> None:
    node = start_anvil(31337)
    assert rpc(node.rpc_url, "eth_chainId") == hex(31337)
    assert node.rpc_url == f"http://{HOST}:{node.port}"
    node.stop()
    assert node.process is not None
    # SIGTERM was enough: anvil exits by itself rather than being killed.
    assert node.process.returncode == 0
    assert not node.is_running()
    node.stop()


def test_a_bad_state_file_is_a_clear_error(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text("{ not json")
    with pytest.raises(DevnetError, match=r"exited at start: error: invalid value .* for .--load-state"):
        start_anvil(1, load_state=state)


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind((HOST, port))
    assert 1024 < port < 65536


def test_the_npm_binary_is_preferred() -> None:
    assert find_anvil().parts[-4:] == ("@foundry-rs", "anvil-linux-amd64", "bin", "anvil")


def _base_after_reverted_cycles(cycles: int) -> str | None:
    """`cycles` tests' worth of snapshot, one mined block, revert; then two blocks on top: the base block's
    balance read (None when the node says the block's state is gone, any other error's text)."""
    node = start_anvil(31337)
    try:
        account = "0x" + "11" * 20
        base = rpc(node.rpc_url, "eth_blockNumber")
        for cycle in range(cycles):
            snapshot = rpc(node.rpc_url, "evm_snapshot")
            rpc(node.rpc_url, "anvil_setBalance", [account, hex(cycle + 1)])
            rpc(node.rpc_url, "evm_mine")
            assert rpc(node.rpc_url, "evm_revert", [snapshot]) is True
        rpc(node.rpc_url, "evm_mine")
        rpc(node.rpc_url, "evm_mine")
        try:
            return str(rpc(node.rpc_url, "eth_getBalance", [account, base]))
        except DevnetError as exc:
            return None if "BlockOutOfRange" in str(exc) else str(exc)
    finally:
        node.stop()


def test_the_history_bound_outlasts_reverted_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Why the suite raises `HISTORY_STATES_ENV`: with a bound of 20, 30 reverted cycles drop the base block's state
    (anvil counts the base once more per revert); with the suite's bound the base stays readable."""
    monkeypatch.setenv(HISTORY_STATES_ENV, "20")
    assert _base_after_reverted_cycles(30) is None
    monkeypatch.setenv(HISTORY_STATES_ENV, "1000")
    assert _base_after_reverted_cycles(30) == "0x0"


@pytest.mark.parametrize("value", ["0", "-3", "many", "1.5", "²"])
def test_a_bad_history_bound_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(HISTORY_STATES_ENV, value)
    with pytest.raises(DevnetError, match=f"{HISTORY_STATES_ENV} must be a positive number of block states"):
        start_anvil(31337)
