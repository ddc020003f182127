"""One all-protocol TVL snapshot of every devnet chain behind the provider simulator: `free` vs `none`.

Each chain's anvil gets a provider proxy per profile; a fresh engine per chain and profile reads every
protocol at the same pinned block (discovery included, as a first run on a real provider would). Printed: wall
time, HTTP requests and JSON-RPC items the proxy saw, its refusals, and the ratio free/none. The figures of
both runs must be identical (nothing lost or zeroed by throttling), else the script fails.

    .venv/bin/python benchmarks/provider_limits.py [--profile free] [--learn]

`--learn` gives the client no configured limits: it learns them from the simulator's 429s instead.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass

from defiscope.chain.limits import FREE_PLAN, UNLIMITED, EndpointLimits
from defiscope.chain.rpc import RpcClient
from defiscope.config import RpcSettings
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.manager import start_devnet
from defiscope.devnet.provider_proxy import ProviderProxy, profile
from defiscope.devnet.world import DevnetChain
from defiscope.service.context import ChainTarget, build_engine
from defiscope.tvl.engine import ChainTvl


@dataclass(frozen=True, slots=True)
class Run:
    profile: str
    seconds: float
    requests: int
    items: int
    refusals: int
    figures: list[ChainTvl]


async def snapshot_all(
    chains: list[DevnetChain], urls: list[str], limits: EndpointLimits, heads: list[int]
) -> list[ChainTvl]:
    engines = [
        build_engine(ChainTarget(c.chain_id, (url,), devnet_deployment(c)), RpcSettings(endpoints={url: limits}))
        for c, url in zip(chains, urls, strict=True)
    ]
    try:
        return list(await asyncio.gather(*(e.snapshot(h) for e, h in zip(engines, heads, strict=True))))
    finally:
        for engine in engines:
            await engine.client.aclose()


def run(chains: list[DevnetChain], name: str, limits: EndpointLimits, heads: list[int]) -> Run:
    proxies = [ProviderProxy(c.rpc_url, profile(name)).start() for c in chains]
    try:
        started = time.perf_counter()
        figures = asyncio.run(snapshot_all(chains, [p.url for p in proxies], limits, heads))
        seconds = time.perf_counter() - started
    finally:
        for proxy in proxies:
            proxy.stop()
    counters = [p.counters for p in proxies]
    refusals = sum(c.rate_refusals + c.batch_refusals + c.range_refusals for c in counters)
    return Run(name, seconds, sum(c.requests for c in counters), sum(c.items for c in counters), refusals, figures)


def comparable(figures: list[ChainTvl]) -> list[object]:
    return [(f.block, [(s.slug, s.tokens) for s in f.snapshots], [x.slug for x in f.failures]) for f in figures]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="free", help="the limited profile to compare with `none`")
    parser.add_argument("--learn", action="store_true", help="configure no limits: learn them from refusals")
    args = parser.parse_args()
    limits = UNLIMITED if args.learn else FREE_PLAN
    with start_devnet((1, 56), show_progress=False) as devnet:
        chains = list(devnet.chains)
        heads = [int(asyncio.run(_head(c)), 16) for c in chains]
        baseline = run(chains, "none", UNLIMITED, heads)
        limited = run(chains, args.profile, limits, heads)
    if comparable(limited.figures) != comparable(baseline.figures):
        raise SystemExit(f"figures behind {args.profile!r} differ from the unlimited run")
    protocols = sum(len(f.snapshots) for f in baseline.figures)
    for r in (baseline, limited):
        print(
            f"{r.profile:>6}: {r.seconds:6.2f} s  {r.requests:5d} HTTP requests  {r.items:6d} JSON-RPC items  "
            f"{r.refusals:4d} refusals  ({protocols} protocol snapshots on {len(chains)} chains)"
        )
    client = "learnt from refusals" if args.learn else "configured as the free plan"
    print(
        f"ratio {args.profile}/none: {limited.seconds / baseline.seconds:.1f}x (client limits {client}); figures equal"
    )


async def _head(chain: DevnetChain) -> str:
    async with RpcClient(chain.chain_id, [chain.rpc_url]) as rpc:
        head: str = await rpc.request("eth_blockNumber", [])
        return head


if __name__ == "__main__":
    main()
