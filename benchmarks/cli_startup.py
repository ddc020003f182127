"""Start-up cost of the `defiscope` command: wall and CPU time of quick invocations, median of 5 runs.

Each command runs in a fresh interpreter (`python -m defiscope.cli ...`), as users and the test suite run it.
The baseline, measured in the same run, is what every command paid before subcommands loaded lazily: importing
all command modules. CPU time is the child's user + system time; other load on the machine stretches wall only.

    .venv/bin/python benchmarks/cli_startup.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Final

RUNS: Final = 5
COMMANDS: Final = (
    ("--help",),
    ("tvl", "--help"),
    ("devnet", "up", "--world", "moon"),
)
EAGER_IMPORTS: Final = (
    "import importlib\nfrom defiscope.cli import COMMANDS\nfor c in COMMANDS: importlib.import_module(c.module)"
)


def run_once(argv: Sequence[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and exit code of one process."""
    before = os.times()
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return wall, cpu, done.returncode


def median_of_runs(label: str, argv: Sequence[str]) -> float:
    """Print the medians of RUNS runs and return the CPU median."""
    runs = [run_once(argv) for _ in range(RUNS)]
    wall = statistics.median(r[0] for r in runs) * 1000
    cpu = statistics.median(r[1] for r in runs) * 1000
    codes = sorted({r[2] for r in runs})
    print(f"{label:44} {wall:8.0f} {cpu:8.0f} {codes}")
    return cpu


def main() -> None:
    print(f"{'command':44} {'wall ms':>8} {'cpu ms':>8} exit")
    baseline = median_of_runs("baseline: import every command module", [sys.executable, "-c", EAGER_IMPORTS])
    for args in COMMANDS:
        cpu = median_of_runs("defiscope " + " ".join(args), [sys.executable, "-m", "defiscope.cli", *args])
        print(f"{'':44} {'':8} {baseline / cpu:7.1f}x less CPU than the baseline")


if __name__ == "__main__":
    main()
