"""The market simulation's pace: what a tick with every agent costs, against the tick interval serve keeps.

`serve` ticks the simulation every DEFAULT_TICK_SECONDS; a tick (after the first, which reads every log since
block 0) must cost less than that to keep up. Measured on a devnet chain 1 in this process: ticks with every
default agent, and as the same-run baseline ticks of a quiet simulation (no trades, no agents: mining and the
tick's own bookkeeping). Printed: mean wall and CPU seconds per tick (this process plus its anvil), the share of
the interval, and the ratio to the baseline.

    .venv/bin/python benchmarks/simulation_pace.py [--ticks 5]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from defiscope.devnet.anvil import rpc
from defiscope.devnet.manager import start_devnet
from defiscope.devnet.simulation import DEFAULT_TICK_SECONDS, Simulation, SimulationConfig
from defiscope.devnet.world import DevnetChain

QUIET = SimulationConfig(seed=5, trades_per_tick=0, lp_every=0, agents=())


def anvil_cpu_seconds(pid: int) -> float:
    """User and system CPU time of the anvil so far (Linux /proc: utime and stime, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pace(chain: DevnetChain, anvil_pid: int, config: SimulationConfig, ticks: int) -> tuple[float, float]:
    """Mean (wall, CPU) seconds per tick after the first, the chain reverted afterwards."""
    snapshot = rpc(chain.rpc_url, "evm_snapshot")
    sim = Simulation(chain, config)
    sim.start()
    try:
        sim.tick()
        began, cpu_began = time.perf_counter(), time.process_time() + anvil_cpu_seconds(anvil_pid)
        sim.run(ticks)
        wall = time.perf_counter() - began
        cpu = time.process_time() + anvil_cpu_seconds(anvil_pid) - cpu_began
    finally:
        sim.stop()
        rpc(chain.rpc_url, "evm_revert", [snapshot])
    return wall / ticks, cpu / ticks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=5)
    args = parser.parse_args()
    with start_devnet((1,), show_progress=False) as devnet:
        chain = devnet.chain(1)
        anvil = next(node for node in devnet.nodes if node.chain_id == 1)
        base_wall, base_cpu = pace(chain, anvil.pid, QUIET, args.ticks)
        wall, cpu = pace(chain, anvil.pid, SimulationConfig(seed=21), args.ticks)
    print(f"quiet tick (baseline):  {base_wall:.3f} s wall, {base_cpu:.3f} s CPU")
    print(
        f"tick with every agent:  {wall:.3f} s wall, {cpu:.3f} s CPU  ({cpu / max(base_cpu, 1e-9):.1f}x baseline CPU)"
    )
    interval = DEFAULT_TICK_SECONDS
    print(f"share of the {interval:.0f} s interval: {wall / interval:.0%} wall, {cpu / interval:.0%} CPU")


if __name__ == "__main__":
    main()
