"""LP fee rates every block: followed from the tracked logs vs every pool re-read, on the standard devnet.

The market simulation (DEX agents: arbitrage through the real routers, trades, LP adds) runs one tick between
snapshots on chain 1 (a tick is several blocks). At each snapshot's head, two sets of the Uniswap V2 and V3
adapters read their holdings and LP fee rates as `Adapter.read` does, each through its own client: one follows
its pools from the logs (`lp_window.PoolLogs`: re-reads the pools touched since its last block, at B and, as S
moves, at S), the other re-reads every pool at B and, when S moved, at S (the method before). Both must give the
same rows. Prints, per snapshot and on average, the LP-rate calls and the HTTP requests of each side.

    .venv/bin/python benchmarks/lp_fee_rates.py [--snapshots 12] [--window 30] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from dataclasses import dataclass
from decimal import Decimal

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.manager import start_devnet
from defiscope.devnet.simulation import Simulation, SimulationConfig
from defiscope.protocols.lp_fees import V2_LP_READS, V3_FEE_GROWTH_READS
from defiscope.protocols.uniswap.v2 import UNISWAP_V2, V2Adapter
from defiscope.protocols.uniswap.v3 import V3Adapter
from defiscope.protocols.uniswap.v3_spec import UNISWAP_V3

LP_READS = {signature.split("(")[0] for signature in (*V2_LP_READS, *V3_FEE_GROWTH_READS, "slot0()")}


@dataclass(slots=True)
class Side:
    """One way of reading the rates: its adapters and its own client (so its requests are its own)."""

    name: str
    adapters: list[V2Adapter | V3Adapter]
    client: ChainClient

    @classmethod
    def of(cls, name: str, deployment: Deployment, url: str, window: int, *, follow: bool) -> Side:
        adapters: list[V2Adapter | V3Adapter] = [
            V2Adapter(deployment, UNISWAP_V2, lp_fee_window=window),
            V3Adapter(deployment, UNISWAP_V3, lp_fee_window=window),
        ]
        if not follow:
            for adapter in adapters:
                adapter.lp_fees.follow = None
        return cls(name, adapters, ChainClient.connect(1, [url]))

    async def read(self, block: int) -> tuple[list[tuple[str, Decimal, str]], int, int, float]:
        """Rows, LP-rate calls, HTTP requests and ms of holdings + rates at `block`."""
        sent = self.client.rpc.total_requests()
        started = time.perf_counter()
        batcher = Batcher(await self.client.snapshot(block))
        rates = [batcher.reader(f"{a.info.slug}:yields") for a in self.adapters]
        _, found = await asyncio.gather(
            asyncio.gather(*(a.positions(batcher.reader(a.info.slug)) for a in self.adapters)),  # as `read` does
            asyncio.gather(*(a.yields(r) for a, r in zip(self.adapters, rates, strict=True))),
        )
        ms = (time.perf_counter() - started) * 1000
        rows = sorted((y.market, y.apr, y.method) for part in found for y in part)
        calls = sum(1 for r in rates for record in r.records if record.call.function.name in LP_READS)
        return rows, calls, self.client.rpc.total_requests() - sent, ms


async def run(url: str, deployment: Deployment, sim: Simulation, snapshots: int, window: int) -> dict[str, float]:
    followed = Side.of("followed", deployment, url, window, follow=True)
    full = Side.of("every pool", deployment, url, window, follow=False)
    figures: dict[str, list[tuple[int, int, float]]] = {followed.name: [], full.name: []}
    async with followed.client, full.client:
        for number in range(snapshots + 1):
            sim.run(1)
            head = (await followed.client.block()).number
            mine, theirs = await asyncio.gather(followed.read(head), full.read(head))
            assert mine[0] == theirs[0], f"the followed rates differ from the full read at block {head}"
            if number == 0:
                continue  # the first snapshot reads everything on both sides
            for side, (_, calls, requests, ms) in ((followed, mine), (full, theirs)):
                figures[side.name].append((calls, requests, ms))
            print(
                f"block {head}: {len(mine[0])} rates; followed {mine[1]} LP calls, {mine[2]} requests, "
                f"{mine[3]:.0f} ms | every pool {theirs[1]} LP calls, {theirs[2]} requests, {theirs[3]:.0f} ms"
            )
    summary: dict[str, float] = {"snapshots": snapshots, "window_seconds": window}
    for name, rows in figures.items():
        key = "followed" if name == "followed" else "full_reread"
        summary[f"{key}_lp_calls_per_block"] = statistics.mean(r[0] for r in rows)
        summary[f"{key}_requests_per_block"] = statistics.mean(r[1] for r in rows)
        summary[f"{key}_ms_per_block"] = round(statistics.mean(r[2] for r in rows), 1)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots", type=int, default=12)
    parser.add_argument("--window", type=int, default=30, help="LP fee window in seconds (short, so that S moves)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with start_devnet((1,), show_progress=False) as devnet:
        chain = devnet.chain(1)
        sim = Simulation(chain, SimulationConfig(seed=11, agents=()))
        sim.start()
        try:
            summary = asyncio.run(run(chain.rpc_url, devnet_deployment(chain), sim, args.snapshots, args.window))
        finally:
            sim.stop()
    if args.json:
        print(json.dumps(summary))
        return
    for key, value in summary.items():
        print(f"{key}: {value}")
    calls = summary["full_reread_lp_calls_per_block"], summary["followed_lp_calls_per_block"]
    print(f"LP-rate calls per block, every pool / followed: {calls[0] / max(calls[1], 1):.1f}x")


if __name__ == "__main__":
    main()
