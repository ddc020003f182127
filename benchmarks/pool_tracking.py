"""Keep a chain's routing pools current: advance the `PoolTracker` by events vs reload every pool.

The devnet's market simulation (DEX agents only: arbitrage through the real routers, trades, LP adds) runs
K blocks' worth of ticks on chain 1; then, at the same head, the tracker advances over those blocks and a
full `load_pools` reads every pool again. Both must give the same pools. Prints requests, bytes and ms of
each and the ratios, measured in this run.

    .venv/bin/python benchmarks/pool_tracking.py [--ticks 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.devnet.manager import start_devnet
from defiscope.devnet.simulation import Simulation, SimulationConfig
from defiscope.routing.load import PoolRef, load_pools
from defiscope.routing.tracker import PoolTracker


def cost(client: ChainClient) -> tuple[int, int]:
    stats = client.rpc.stats().values()
    return sum(s.requests for s in stats), sum(s.bytes_sent + s.bytes_received for s in stats)


async def measure(rpc_url: str, refs: list[PoolRef], tracker: PoolTracker) -> dict[str, tuple[int, int, float]]:
    async with ChainClient.connect(1, [rpc_url]) as client:
        await client.block()  # the client's first contact (chain-id check) is paid by neither side
        started = time.perf_counter()
        report = await tracker.advance(client)
        advance_ms = (time.perf_counter() - started) * 1000
        assert report.reloaded == (), report.reloaded
        before = cost(client)
        started = time.perf_counter()
        reloaded = await load_pools(Batcher(await client.snapshot(tracker.block.number)).reader("bench"), refs)
        reload_ms = (time.perf_counter() - started) * 1000
        after = cost(client)
        assert reloaded == tracker.pools, "the tracked pools differ from a fresh load"
        print(f"  {report.to_block - report.from_block} blocks, {report.logs} logs")
        return {
            "advance": (report.requests, report.bytes, advance_ms),
            "reload": (after[0] - before[0], after[1] - before[1], reload_ms),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=20, help="simulation ticks between advances")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with start_devnet((1,), show_progress=False) as devnet:
        chain = devnet.chain(1)
        refs = [PoolRef(p.dex, p.address, p.token0, p.token1) for p in chain.pools]
        sim = Simulation(chain, SimulationConfig(seed=11, agents=()))
        sim.start()

        async def start() -> PoolTracker:
            async with ChainClient.connect(1, [chain.rpc_url]) as client:
                return await PoolTracker.start(client, refs)

        tracker = asyncio.run(start())
        for round_no in range(args.repeat):
            sim.run(args.ticks)
            print(f"round {round_no + 1}: {args.ticks} simulation ticks")
            figures = asyncio.run(measure(chain.rpc_url, refs, tracker))
            (a_req, a_bytes, a_ms), (r_req, r_bytes, r_ms) = figures["advance"], figures["reload"]
            print(f"  advance: {a_req} requests, {a_bytes:,} bytes, {a_ms:.1f} ms")
            print(f"  reload : {r_req} requests, {r_bytes:,} bytes, {r_ms:.1f} ms")
            print(
                f"  ratio reload/advance: requests {r_req / a_req:.1f}x, bytes {r_bytes / a_bytes:.1f}x, "
                f"time {r_ms / a_ms:.1f}x"
            )
        sim.stop()


if __name__ == "__main__":
    main()
