"""Start-up cost of the `defiscope` command: wall and CPU time of a few quick invocations, median of 5 runs.

Each command runs in a fresh interpreter (`python -m defiscope.cli ...`), as users and the test suite run it.
The CPU time is the child's user + system time, so other load on the machine inflates wall time only.

    .venv/bin/python benchmarks/cli_startup.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from typing import Final

RUNS: Final = 5
COMMANDS: Final = (
    ("--help",),
    ("tvl", "--help"),
    ("devnet", "up", "--world", "moon"),
)


def run_once(args: tuple[str, ...]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and exit code of one `python -m defiscope.cli <args>`."""
    before = os.times()
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "defiscope.cli", *args], capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return wall, cpu, done.returncode


def main() -> None:
    print(f"{'command':40} {'wall ms':>8} {'cpu ms':>8} exit")
    for args in COMMANDS:
        runs = [run_once(args) for _ in range(RUNS)]
        wall = statistics.median(r[0] for r in runs) * 1000
        cpu = statistics.median(r[1] for r in runs) * 1000
        codes = sorted({r[2] for r in runs})
        print(f"{'defiscope ' + ' '.join(args):40} {wall:8.0f} {cpu:8.0f} {codes}")


if __name__ == "__main__":
    main()
