"""The market simulation's pace: what a tick with every agent costs, and how many blocks it leaves to follow.

`serve` ticks the simulation every DEFAULT_TICK_SECONDS and its indexer follows the blocks the ticks mine; a
tick (after the first, which reads every log since block 0) must cost less than that interval, and mine few
blocks, to keep both up. Measured on a devnet chain 1 in this process, each run from the same state (reverted
after): ticks with every default agent whose transactions share blocks (the simulation's way), the same with
every transaction in a block of its own (`shared_blocks=False`: the way before, the same-run baseline), and a
quiet simulation (no trades, no agents: mining and the tick's own bookkeeping). Printed per run: blocks and
transactions per tick, transactions per block, chain seconds per tick, mean wall and CPU seconds per tick
(this process plus its anvil), and the ratios to the baseline.

    .venv/bin/python benchmarks/simulation_pace.py [--ticks 5]
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

from defiscope.devnet.anvil import rpc
from defiscope.devnet.manager import start_devnet
from defiscope.devnet.simulation import DEFAULT_TICK_SECONDS, Simulation, SimulationConfig
from defiscope.devnet.world import DevnetChain

QUIET = SimulationConfig(seed=5, trades_per_tick=0, lp_every=0, agents=())
EVERY_AGENT = SimulationConfig(seed=21)


@dataclass(frozen=True, slots=True)
class Pace:
    """Means per tick after the first."""

    blocks: float
    transactions: float
    chain_seconds: float
    wall: float
    cpu: float

    @property
    def per_block(self) -> float:
        return self.transactions / self.blocks if self.blocks else 0.0


def anvil_cpu_seconds(pid: int) -> float:
    """User and system CPU time of the anvil so far (Linux /proc: utime and stime, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def head(url: str) -> tuple[int, int]:
    block = rpc(url, "eth_getBlockByNumber", ["latest", False])
    return int(block["number"], 16), int(block["timestamp"], 16)


def transactions(url: str, first: int, last: int) -> int:
    return sum(len(rpc(url, "eth_getBlockByNumber", [hex(n), False])["transactions"]) for n in range(first, last + 1))


def pace(chain: DevnetChain, anvil_pid: int, config: SimulationConfig, ticks: int) -> Pace:
    """The run's means per tick after the first, the chain reverted afterwards."""
    url = chain.rpc_url
    snapshot = rpc(url, "evm_snapshot")
    sim = Simulation(chain, config)
    sim.start()
    try:
        sim.tick()
        (first, began_at), began = head(url), time.perf_counter()
        cpu_began = time.process_time() + anvil_cpu_seconds(anvil_pid)
        sim.run(ticks)
        wall = time.perf_counter() - began
        cpu = time.process_time() + anvil_cpu_seconds(anvil_pid) - cpu_began
        last, ended_at = head(url)
        sent = transactions(url, first + 1, last)
    finally:
        sim.stop()
        rpc(url, "evm_revert", [snapshot])
    return Pace((last - first) / ticks, sent / ticks, (ended_at - began_at) / ticks, wall / ticks, cpu / ticks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=5)
    args = parser.parse_args()
    runs = {
        "quiet, shared blocks": QUIET,
        "every agent, a block per tx (baseline)": replace(EVERY_AGENT, shared_blocks=False),
        "every agent, shared blocks": EVERY_AGENT,
    }
    with start_devnet((1,), show_progress=False) as devnet:
        chain = devnet.chain(1)
        anvil = next(node for node in devnet.nodes if node.chain_id == 1)
        paces = {name: pace(chain, anvil.pid, config, args.ticks) for name, config in runs.items()}
    print(f"{args.ticks} ticks each on chain 1, means per tick after the first:")
    print(f"{'run':40} {'blocks':>7} {'txs':>6} {'txs/block':>9} {'chain s':>8} {'wall s':>7} {'CPU s':>6}")
    for name, p in paces.items():
        print(
            f"{name:40} {p.blocks:7.2f} {p.transactions:6.1f} {p.per_block:9.1f} {p.chain_seconds:8.1f}"
            f" {p.wall:7.3f} {p.cpu:6.3f}"
        )
    base, new = paces["every agent, a block per tx (baseline)"], paces["every agent, shared blocks"]
    print(
        f"shared blocks vs baseline: {base.blocks / new.blocks:.1f}x fewer blocks a tick, "
        f"{new.wall / base.wall:.2f}x the wall time, {new.cpu / base.cpu:.2f}x the CPU time"
    )
    interval = DEFAULT_TICK_SECONDS
    print(
        f"share of serve's {interval:.0f} s interval (shared blocks): {new.wall / interval:.0%} wall, "
        f"{new.cpu / interval:.0%} CPU; blocks to index: {new.blocks / interval:.2f}/s "
        f"(baseline {base.blocks / interval:.2f}/s)"
    )


if __name__ == "__main__":
    main()
