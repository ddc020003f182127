"""Reads at past blocks on a devnet node after a test session's worth of reverted tests: anvil's default history
(the baseline) against the bounds `defiscope.devnet.anvil` passes (`--prune-history`), in the same run.

    .venv/bin/python benchmarks/devnet_history.py [--reverted 600] [--blocks 110] [--json]

Each node loads chain 1's cached world. Then, as a test session does, `--reverted` cycles of evm_snapshot, one
mined block with a state change, evm_revert; then `--blocks` blocks mined on top (as the governance test's module
fixture does) and one balance read at each of them and at the base block (as the test reads every block). Printed:
the reads' total time, the slowest read, the reads refused (a state dropped), and the node's memory.

Why it matters: anvil's default keeps 500 states in memory, then lowers that bound by one per block past it down to
10, serializing every evicted state to disk; and each reverted cycle queues the base block once more, so a long
session reaches that regime and a read 60 blocks back deserializes the whole world (4-5 s).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from defiscope.devnet.anvil import HISTORY_STATES, HOST, AnvilNode, find_anvil, free_port, rpc, wait_ready
from defiscope.devnet.cache import saved_state
from defiscope.devnet.errors import DevnetError
from defiscope.devnet.manager import start_devnet
from defiscope.devnet.state_dump import unpacked_state

ACCOUNT = "0x" + "22" * 20
SUITE_BOUND = 100_000  # what tests/conftest.py sets


@dataclass(frozen=True, slots=True)
class Result:
    node: str
    reads: int
    refused: int
    read_seconds: float
    slowest_read_seconds: float
    cycles_seconds: float
    rss_mb: int


def measure(name: str, flags: list[str], state: Path, reverted: int, blocks: int) -> Result:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="defiscope-history-") as cache:
        args = [str(find_anvil()), "--host", HOST, "--port", str(port), "--chain-id", "1", "--silent"]
        process = subprocess.Popen([*args, "--cache-path", cache, "--load-state", str(state), *flags])
        node = AnvilNode(1, port, process.pid, process)
        url = node.rpc_url
        try:
            wait_ready(node, timeout=60)
            base = int(str(rpc(url, "eth_blockNumber")), 16)
            started = time.perf_counter()
            for cycle in range(reverted):
                snapshot = rpc(url, "evm_snapshot")
                _mine_a_change(url, cycle)
                rpc(url, "evm_revert", [snapshot])
            cycles_seconds = time.perf_counter() - started
            for block in range(blocks):
                _mine_a_change(url, block)
            timings, refused = [], 0
            for number in range(base, base + blocks + 1):
                started = time.perf_counter()
                try:
                    rpc(url, "eth_getBalance", [ACCOUNT, hex(number)])
                except DevnetError:
                    refused += 1
                timings.append(time.perf_counter() - started)
            rss = int(Path(f"/proc/{process.pid}/status").read_text().split("VmRSS:")[1].split()[0]) // 1024
        finally:
            node.stop()
    return Result(name, len(timings), refused, sum(timings), max(timings), cycles_seconds, rss)


def _mine_a_change(url: str, value: int) -> None:
    rpc(url, "anvil_setBalance", [ACCOUNT, hex(10**18 + value)])
    rpc(url, "evm_mine")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reverted", type=int, default=600, help="snapshot-mine-revert cycles first")
    parser.add_argument("--blocks", type=int, default=110, help="blocks mined, then read one by one")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    with start_devnet((1,), show_progress=not options.json) as devnet:  # the cached world, deployed if missing
        dump = saved_state(devnet.world_dir, 1)
    assert dump is not None
    nodes = {
        "anvil default (baseline)": [],
        f"--prune-history {HISTORY_STATES} (serve)": ["--prune-history", str(HISTORY_STATES)],
        f"--prune-history {SUITE_BOUND} (tests)": ["--prune-history", str(SUITE_BOUND)],
    }
    with unpacked_state(dump) as state:
        results = [measure(name, flags, state, options.reverted, options.blocks) for name, flags in nodes.items()]
    if options.json:
        runs = [asdict(r) for r in results]
        print(json.dumps({"reverted": options.reverted, "blocks": options.blocks, "runs": runs}))
        return
    baseline = results[0].read_seconds
    print(f"{options.reverted} reverted cycles, then {options.blocks} blocks read one by one (chain 1's world)")
    for r in results:
        print(
            f"  {r.node:32} reads {r.read_seconds:8.3f} s ({baseline / r.read_seconds:7.1f}x baseline), "
            f"slowest {r.slowest_read_seconds * 1000:8.1f} ms, refused {r.refused}/{r.reads}, "
            f"cycles {r.cycles_seconds:6.1f} s, memory {r.rss_mb} MB"
        )


if __name__ == "__main__":
    main()
