"""Cold deployment time of the devnet's Ethereum world (`deploy_world` on a fresh anvil, no state cache), for this
checkout and for a baseline commit, alternated in the same run (median of RUNS each).

The baseline's tree is exported with `git archive` into a temporary folder (sharing this checkout's node_modules),
and each deployment runs in a fresh interpreter with that tree's sources and artifacts first on the path.

    .venv/bin/python benchmarks/devnet_deploy.py [BASELINE_COMMIT]     # default: where this branch left main
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Final

RUNS: Final = 3
ROOT: Final = Path(__file__).resolve().parents[1]
#: Prints the seconds `deploy_world` took for Ethereum on a fresh anvil.
DEPLOY: Final = """
import time
from defiscope.devnet.anvil import start_anvil
from defiscope.devnet.deploy import deploy_world
from defiscope.devnet.spec import ETHEREUM
node = start_anvil(ETHEREUM.chain_id)
try:
    start = time.perf_counter()
    world = deploy_world(node.rpc_url, ETHEREUM)
    print("deployed", time.perf_counter() - start, len(world.contracts))
finally:
    node.stop()
"""


def export(commit: str, into: Path) -> Path:
    """The tree of ``commit`` in ``into``, with this checkout's node_modules."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    (into / "node_modules").symlink_to(ROOT / "node_modules")
    return into


def merge_base() -> str:
    found = subprocess.run(["git", "-C", str(ROOT), "merge-base", "HEAD", "main"], capture_output=True, text=True)
    return found.stdout.strip()


def deploy_seconds(tree: Path) -> tuple[float, int]:
    env = {**os.environ, "PYTHONPATH": str(tree / "src"), "DEFISCOPE_PROJECT_ROOT": str(tree)}
    done = subprocess.run([sys.executable, "-c", DEPLOY], env=env, capture_output=True, text=True, check=True)
    # The deployment logs to stdout too: the figures are on the line the script printed.
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("deployed ")]
    _, seconds, contracts = line.split()
    return float(seconds), int(contracts)


def main() -> None:
    baseline_commit = sys.argv[1] if len(sys.argv) > 1 else merge_base()
    with tempfile.TemporaryDirectory() as temp:
        baseline = export(baseline_commit, Path(temp))
        times: dict[str, list[float]] = {"baseline": [], "this checkout": []}
        counts: dict[str, int] = {}
        for _ in range(RUNS):
            for name, tree in (("baseline", baseline), ("this checkout", ROOT)):
                seconds, counts[name] = deploy_seconds(tree)
                times[name].append(seconds)
    base = statistics.median(times["baseline"])
    for name, runs in times.items():
        median = statistics.median(runs)
        print(
            f"{name:14s} deploy_world(Ethereum): median {median:6.2f} s of {RUNS} "
            f"({', '.join(f'{t:.2f}' for t in runs)}), {counts[name]} registry entries, ratio {median / base:.2f}"
        )


if __name__ == "__main__":
    main()
