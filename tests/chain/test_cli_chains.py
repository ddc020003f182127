"""`defiscope chains`: a bad endpoint gives one line naming it, exit code 2 when the URL itself is malformed (the
user's input) and 1 when the endpoint fails (with what to do); a good one reports its head."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import Result

from defiscope.devnet.world import DevnetChain
from tests.chain.fakes import closed_port_url
from tests.devnet.helpers import run_in_process


def _no_endpoints() -> dict[str, str | None]:
    return {k: None for k in os.environ if k.startswith("DEFISCOPE_RPC_")}


def run_chains(tmp_path: Path, env: dict[str, str], *args: str) -> Result:
    """`defiscope chains` in this process: one-line refusals need no child spending seconds importing the CLI."""
    return run_in_process(tmp_path, "chains", *args, env={**_no_endpoints(), **env})


def test_reports_the_head_of_a_good_endpoint(tmp_path: Path, eth_chain: DevnetChain) -> None:
    """The installed entry point, in a child process of its own."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DEFISCOPE_RPC_")}
    done = subprocess.run(
        [sys.executable, "-m", "defiscope.cli", "chains", "--json"],
        env={**clean, "DEFISCOPE_DATA_DIR": str(tmp_path), "DEFISCOPE_RPC_1": eth_chain.rpc_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (report,) = json.loads(done.stdout)
    assert report["chain_id"] == 1
    assert report["name"] == "ethereum"
    assert report["head"]["number"] >= 1
    assert report["endpoints"][0]["url"] == eth_chain.rpc_url


@pytest.mark.parametrize(
    ("rpc", "code", "expected"),
    [
        # The user's input: exit 2, as a usage error.
        ("localhost:8545", 2, "error: invalid RPC URL 'localhost:8545': expected http(s)://host[:port][/path]"),
        # The endpoint failed: exit 1, saying what failed and what to do.
        (
            "{closed}",
            1,
            "error: cannot reach the endpoint: All connection attempts failed "
            "[chain 1, endpoint {closed}, call eth_chainId]; check the RPC URL (DEFISCOPE_RPC_1 or the config file) "
            "or try later",
        ),
    ],
)
def test_bad_endpoints_give_one_line(tmp_path: Path, rpc: str, code: int, expected: str) -> None:
    closed = closed_port_url()
    done = run_chains(tmp_path, {"DEFISCOPE_RPC_1": rpc.format(closed=closed)})
    assert done.exit_code == code
    assert done.stderr.strip() == expected.format(closed=closed)
    assert done.stderr.count("\n") == 1  # one line, no traceback
    assert "Traceback" not in done.stderr


def test_wrong_chain_behind_url_gives_one_line(tmp_path: Path, eth_chain: DevnetChain) -> None:
    done = run_chains(tmp_path, {"DEFISCOPE_RPC_56": eth_chain.rpc_url})
    assert done.exit_code == 1  # the endpoint is not what it should be: a chain failure, not a usage error
    assert done.stderr.strip() == (
        f"error: endpoint serves chain 1, but it is configured for chain 56 "
        f"[chain 56, endpoint {eth_chain.rpc_url}, call eth_chainId]; check the RPC URL (DEFISCOPE_RPC_56 or "
        "the config file) or try later"
    )


def test_nothing_configured_says_what_to_set(tmp_path: Path) -> None:
    done = run_chains(tmp_path, {})
    assert done.exit_code == 2
    assert done.stderr.startswith("error: no RPC endpoint configured: set DEFISCOPE_RPC_<CHAINID>")
    assert done.stderr.count("\n") == 1
