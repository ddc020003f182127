"""How long the indexer's block read waits when a full control profile (risk scoring) reads beside it on a
rate-limited provider: alone, beside a profile read in the same lane (the code before the background lane), and
beside a profile read under `background_reads()` (what `RiskHook` does), in the same run.

    .venv/bin/python benchmarks/background_lane.py [--profile free] [--repeat 3] [--json]

Chain 1 of the devnet is read through the provider simulator (`devnet/provider_proxy.py`, the `free` profile: 25
requests/s counting each batch item, 100 items a batch, 50 ms a request), and the client knows that plan, as it
knows a remote provider's (`[rpc.limits]`, FREE_PLAN by default). The block read is the engine's snapshot at the
head (discovery done before, as the indexer's first snapshot leaves it); the profile is `control_surfaces` of every
protocol with the contracts found at run time. Each run starts with the endpoint's budget idle.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import time
from collections.abc import Awaitable
from dataclasses import asdict, dataclass

from defiscope.chain.limits import FREE_PLAN, background_reads
from defiscope.chain.reader import Batcher
from defiscope.config import RpcSettings
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.manager import start_devnet
from defiscope.devnet.provider_proxy import PROFILES, ProviderProxy
from defiscope.protocols.control.profile import control_surfaces, found_contracts
from defiscope.protocols.registry import adapters_for
from defiscope.service.context import ChainTarget, build_engine
from defiscope.tvl.engine import TvlEngine


@dataclass(frozen=True, slots=True)
class Run:
    mode: str  # "alone", "same lane", "background lane"
    block_read_seconds: float
    profile_seconds: float | None


async def _timed(work: Awaitable[object]) -> float:
    started = time.perf_counter()
    await work
    return time.perf_counter() - started


async def one_run(engine: TvlEngine, mode: str) -> Run:
    """The block read at the head, with a profile started just before it unless ``mode`` is "alone"."""
    await asyncio.sleep(2.0)  # the budget idle again (the plan's burst is half a second)
    block = await engine.client.block("latest")
    deployment = engine.deployment
    slugs = list(dict.fromkeys(a.info.slug for a in adapters_for(deployment)))
    found = found_contracts(engine.adapters, block.number)

    async def profile() -> float:
        lane = background_reads() if mode == "background lane" else contextlib.nullcontext()
        with lane:
            reader = Batcher(await engine.client.snapshot(block.number)).reader("risk")
            return await _timed(control_surfaces(reader, deployment, slugs, found=found))

    if mode == "alone":
        return Run(mode, await _timed(engine.snapshot(block.number)), None)
    scoring = asyncio.create_task(profile())
    await asyncio.sleep(0.2)  # the profile's first round is out, as when a block arrives while scoring runs
    read = await _timed(engine.snapshot(block.number))
    return Run(mode, read, await scoring)


async def measure(profile: str, repeat: int) -> list[Run]:
    with start_devnet((1,), show_progress=False) as devnet:
        chain = devnet.chain(1)
        with ProviderProxy(chain.rpc_url, PROFILES[profile]) as proxy:
            settings = RpcSettings(timeout=60.0, endpoints={proxy.url: FREE_PLAN})
            engine = build_engine(ChainTarget(1, (proxy.url,), devnet_deployment(chain)), settings)
            async with engine.client:
                await engine.snapshot("latest")  # discovery, as the indexer's first snapshot does
                runs = []
                for _ in range(repeat):
                    for mode in ("alone", "same lane", "background lane"):
                        runs.append(await one_run(engine, mode))
                return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="free", choices=sorted(PROFILES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    runs = asyncio.run(measure(args.profile, args.repeat))
    if args.json:
        print(json.dumps([asdict(r) for r in runs]))
        return
    alone = statistics.median(r.block_read_seconds for r in runs if r.mode == "alone")
    for mode in ("alone", "same lane", "background lane"):
        picked = [r for r in runs if r.mode == mode]
        read = statistics.median(r.block_read_seconds for r in picked)
        profiles = [r.profile_seconds for r in picked if r.profile_seconds is not None]
        beside = f", profile {statistics.median(profiles):.2f} s" if profiles else ""
        print(f"{mode:16} block read {read:6.2f} s ({read / alone:5.2f}x alone){beside}  [median of {len(picked)}]")


if __name__ == "__main__":
    main()
