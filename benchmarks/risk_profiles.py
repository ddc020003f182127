"""Risk profiles of every scored protocol of a devnet chain at one block: the risk hook's way (one shared batcher,
so every protocol's control, governance and quorum reads go out together) against a baseline of one profile at a
time, each on its own batcher, as running `defiscope risk profile` per protocol would. Both read the same block
and must score the same. Printed: HTTP requests and wall time of each, and their ratio.

    .venv/bin/python benchmarks/risk_profiles.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence

from defiscope.analytics.risk.hook import scored_slugs
from defiscope.analytics.risk.profile import RiskProfile, risk_profile
from defiscope.chain.client import Snapshot
from defiscope.chain.reader import Batcher
from defiscope.config import RpcSettings
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.manager import start_devnet
from defiscope.service.context import ChainTarget, build_engine
from defiscope.store import Repository
from defiscope.tvl.engine import ChainTvl, TvlEngine


async def shared(engine: TvlEngine, tvl: ChainTvl, slugs: Sequence[str], repo: Repository) -> list[RiskProfile]:
    batcher = Batcher(Snapshot(engine.client, tvl.block))
    snapshots = {s.slug: s for s in tvl.snapshots}
    return list(
        await asyncio.gather(
            *(risk_profile(batcher.reader(slug), engine.deployment, slug, snapshots.get(slug), repo) for slug in slugs)
        )
    )


async def one_at_a_time(engine: TvlEngine, tvl: ChainTvl, slugs: Sequence[str], repo: Repository) -> list[RiskProfile]:
    snapshots = {s.slug: s for s in tvl.snapshots}
    profiles = []
    for slug in slugs:
        reader = Batcher(Snapshot(engine.client, tvl.block)).reader(slug)
        profiles.append(await risk_profile(reader, engine.deployment, slug, snapshots.get(slug), repo))
    return profiles


Way = Callable[[TvlEngine, ChainTvl, Sequence[str], Repository], Awaitable[list[RiskProfile]]]


async def measure(
    way: Way, engine: TvlEngine, tvl: ChainTvl, slugs: Sequence[str], repo: Repository
) -> tuple[list[RiskProfile], int, float]:
    before = engine.client.rpc.total_requests()
    started = time.perf_counter()
    profiles = await way(engine, tvl, slugs, repo)
    return profiles, engine.client.rpc.total_requests() - before, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with start_devnet((1,), show_progress=False) as devnet, tempfile.TemporaryDirectory() as folder:
        chain = devnet.chain(1)
        deployment = devnet_deployment(chain)
        repo = Repository.open(f"sqlite:///{folder}/risk.db")

        async def runs() -> tuple[list[tuple[int, float]], list[tuple[int, float]], int, list[str]]:
            engine = build_engine(ChainTarget(1, (chain.rpc_url,), deployment), RpcSettings(timeout=30.0))
            try:
                tvl = await engine.snapshot()
                slugs = list(scored_slugs(engine))
                base, ours = [], []
                for _ in range(args.repeat):
                    alone, requests_alone, seconds_alone = await measure(one_at_a_time, engine, tvl, slugs, repo)
                    together, requests_shared, seconds_shared = await measure(shared, engine, tvl, slugs, repo)
                    if [p.score for p in alone] != [p.score for p in together]:
                        raise SystemExit("the two ways scored differently")
                    base.append((requests_alone, seconds_alone))
                    ours.append((requests_shared, seconds_shared))
                return base, ours, tvl.block.number, slugs
            finally:
                await engine.client.aclose()

        base, ours, block, slugs = asyncio.run(runs())
        repo.close()
    best_base, best_ours = min(base, key=lambda r: r[1]), min(ours, key=lambda r: r[1])
    print(f"risk profiles of {len(slugs)} protocols on devnet chain 1 at block {block}: {', '.join(slugs)}")
    print(f"  baseline, one protocol at a time: {best_base[0]:4d} HTTP req  {best_base[1] * 1000:8.1f} ms")
    print(f"  risk hook, one shared batcher:    {best_ours[0]:4d} HTTP req  {best_ours[1] * 1000:8.1f} ms")
    requests_ratio, time_ratio = best_base[0] / best_ours[0], best_base[1] / best_ours[1]
    print(f"  ratio (baseline / hook): requests {requests_ratio:.1f}x, time {time_ratio:.1f}x")


if __name__ == "__main__":
    main()
