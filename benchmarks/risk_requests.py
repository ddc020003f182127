"""HTTP requests and wall time of a full control profile (every protocol of a chain), read together round by round
vs one protocol at a time, on the devnet's chains 1 and 56, in the same run and at the same block.

    .venv/bin/python benchmarks/risk_requests.py [--latency 0.05] [--json]

Per chain it prints two baselines: the code before the rounds (its modules loaded from git, `LEGACY_COMMIT`, one
protocol at a time, as `risk control` read them), and `control_surface` for each slug in turn; then the first
profile of all protocols together (`control_surfaces`: every contract's control events read from block 0), and
a later one a block on (events only since the cursor), with the ratio of the baselines to each; then the same two
with the contracts found at run time inspected too (the cTokens, strategies and pool samples the engine's discovery
listed at the block, `found_contracts`; the discovery itself, a snapshot, is not counted), which must read the fixed
contracts as the fixed-only profile does. With ``--latency`` every
request goes through the provider simulator (`devnet/provider_proxy.py`) adding that many seconds, as a hosted
provider's round trip would. The surfaces read every way must be equal, or the script fails.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from types import ModuleType

from defiscope.chain.client import ChainClient, Snapshot
from defiscope.chain.reader import Batcher
from defiscope.config import RpcSettings
from defiscope.deployments import Deployment
from defiscope.devnet.anvil import rpc
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.manager import start_devnet
from defiscope.devnet.provider_proxy import PROFILES, ProviderProxy
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.control.profile import (
    ControlSurface,
    Found,
    control_surface,
    control_surfaces,
    found_contracts,
)
from defiscope.protocols.control.rounds import ControlLogs
from defiscope.protocols.registry import adapters_for
from defiscope.service.context import ChainTarget, build_engine
from defiscope.tvl.engine import TvlEngine

#: The last commit whose control reads went one protocol, and one contract, at a time.
LEGACY_COMMIT = "3f73edb"
LEGACY_MODULES = ("surface", "proxy", "roles", "admin", "profile")


@dataclass(frozen=True, slots=True)
class Figure:
    requests: int
    items: int  # JSON-RPC calls inside the requests
    seconds: float


@dataclass(frozen=True, slots=True)
class ChainFigures:
    chain_id: int
    protocols: int
    contracts: int
    legacy: Figure
    per_protocol: Figure
    together_first: Figure
    together_later: Figure
    found: int  # contracts found at run time that were inspected (pool samples included)
    found_first: Figure
    found_later: Figure


Surfaces = dict[str, ControlSurface]


async def measured(client: ChainClient, read: Callable[[], Awaitable[Surfaces]]) -> tuple[Surfaces, Figure]:
    requests, items = client.rpc.total_requests(), _items(client)
    started = time.perf_counter()
    surfaces = await read()
    seconds = time.perf_counter() - started
    return surfaces, Figure(client.rpc.total_requests() - requests, _items(client) - items, seconds)


def _items(client: ChainClient) -> int:
    return sum(stats.calls for stats in client.rpc.stats().values())


ReadOne = Callable[..., Awaitable[ControlSurface]]


async def one_at_a_time(read: ReadOne, snapshot: Snapshot, deployment: Deployment, slugs: list[str]) -> Surfaces:
    return {slug: await read(Batcher(snapshot).reader(slug), deployment, slug) for slug in slugs}


def legacy_control() -> ModuleType:
    """`protocols.control` as of `LEGACY_COMMIT`, importable as ``legacy_control`` (its own modules, not today's)."""
    root = Path(tempfile.mkdtemp(prefix="legacy-control-"))
    package = root / "legacy_control"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in LEGACY_MODULES:
        path = f"src/defiscope/protocols/control/{name}.py"
        source = subprocess.run(
            ["git", "show", f"{LEGACY_COMMIT}:{path}"], check=True, capture_output=True, text=True
        ).stdout
        for other in LEGACY_MODULES:
            source = source.replace(f"defiscope.protocols.control.{other} ", f"legacy_control.{other} ")
        (package / f"{name}.py").write_text(source)
    sys.path.insert(0, str(root))
    return importlib.import_module("legacy_control.profile")


async def discovered_at(engine: TvlEngine, block: int) -> dict[str, Found]:
    """What the engine's discovery lists at ``block`` (its snapshot there discovers; not measured)."""
    await engine.snapshot(block)
    return found_contracts(engine.adapters, block)


async def profile_chain(chain: DevnetChain, url: str, legacy: ReadOne) -> ChainFigures:
    deployment = devnet_deployment(chain)
    slugs = list(dict.fromkeys(adapter.info.slug for adapter in adapters_for(deployment)))
    logs, found_logs = ControlLogs(), ControlLogs()
    engine = build_engine(ChainTarget(chain.chain_id, (url,), deployment), RpcSettings(timeout=30.0))
    async with ChainClient.connect(chain.chain_id, [url]) as client, engine.client:
        await client.rpc.verify()
        first = await client.snapshot()
        old, legacy_figure = await measured(client, lambda: one_at_a_time(legacy, first, deployment, slugs))
        alone, per_protocol = await measured(client, lambda: one_at_a_time(control_surface, first, deployment, slugs))
        together, first_figure = await measured(
            client, lambda: control_surfaces(Batcher(first).reader("control"), deployment, slugs, logs=logs)
        )
        found = await discovered_at(engine, first.block.number)
        with_found, found_first = await measured(
            client,
            lambda: control_surfaces(Batcher(first).reader("found"), deployment, slugs, logs=found_logs, found=found),
        )
        differ = [
            (name, slug)
            for name, surfaces in (("together", together), ("with found", with_found))
            for slug in slugs
            if _json(surfaces)[slug] != _json(alone, leaving=surfaces)[slug]
        ]
        if differ:
            raise SystemExit(f"chain {chain.chain_id}: surfaces that differ from those read alone: {differ}")
        # The code before reads some contracts differently (later reads: Aragon apps, pause powers): a baseline of
        # requests, named when it differs.
        newer = [slug for slug in slugs if _json(old)[slug] != _json(alone)[slug]]
        if newer:
            print(f"chain {chain.chain_id}: {LEGACY_COMMIT} reads these differently (newer reads since): {newer}")
        rpc(chain.rpc_url, "evm_mine")
        later = await client.snapshot()
        _, later_figure = await measured(
            client, lambda: control_surfaces(Batcher(later).reader("control"), deployment, slugs, logs=logs)
        )
        found = await discovered_at(engine, later.block.number)
        _, found_later = await measured(
            client,
            lambda: control_surfaces(Batcher(later).reader("found"), deployment, slugs, logs=found_logs, found=found),
        )
    contracts = sum(len(surface.contracts) for surface in together.values())
    inspected = sum(len(g.addresses) for s in with_found.values() for k in s.discovered for g in k.groups)
    return ChainFigures(
        chain.chain_id,
        len(slugs),
        contracts,
        legacy_figure,
        per_protocol,
        first_figure,
        later_figure,
        inspected,
        found_first,
        found_later,
    )


def _json(surfaces: Surfaces, *, leaving: Surfaces | None = None) -> dict[str, object]:
    """The fixed contracts' control (the code before listed the kinds found at run time by name only), without those
    ``leaving`` inspected with a kind found at run time instead (a registry aToken, in its market's group)."""
    groups = [g for surface in (leaving or {}).values() for k in surface.discovered for g in k.groups]
    moved = {address for g in groups for address in g.addresses}
    return {
        slug: [entry for entry in surface.to_json()["control"] if entry["address"] not in moved]
        for slug, surface in surfaces.items()
    }


def ratio(baseline: Figure, new: Figure) -> str:
    return (
        f"{baseline.requests / new.requests:.1f}x fewer requests, {baseline.seconds / new.seconds:.1f}x faster"
        if new.requests and new.seconds
        else "n/a"
    )


def show(figures: ChainFigures) -> None:
    print(f"chain {figures.chain_id}: {figures.protocols} protocols, {figures.contracts} contracts")
    rows = (
        (f"before the rounds ({LEGACY_COMMIT}), per protocol", figures.legacy),
        ("rounds, per protocol", figures.per_protocol),
        ("together, first (events from block 0)", figures.together_first),
        ("together, a block later (from cursor)", figures.together_later),
        (f"with {figures.found} found at run time, first", figures.found_first),
        (f"with {figures.found} found at run time, later", figures.found_later),
    )
    for name, figure in rows:
        print(f"  {name:40} {figure.requests:3} requests {figure.items:5} items {figure.seconds * 1000:8.1f} ms")
    for name, baseline in (("before the rounds", figures.legacy), ("rounds per protocol", figures.per_protocol)):
        print(f"  together first vs {name}: {ratio(baseline, figures.together_first)}")
        print(f"  together later vs {name}: {ratio(baseline, figures.together_later)}")
        print(f"  with found first vs {name}: {ratio(baseline, figures.found_first)}")
    print(f"  with found first vs fixed only first: {ratio(figures.together_first, figures.found_first)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.0, help="seconds the provider simulator adds per request")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    legacy = legacy_control().control_surface
    with start_devnet((1, 56), show_progress=False) as devnet, ExitStack() as proxies:
        results = []
        for chain in devnet.chains:
            url = chain.rpc_url
            if args.latency > 0:
                plan = replace(PROFILES["none"], name="latency", latency=args.latency)
                url = proxies.enter_context(ProviderProxy(chain.rpc_url, plan)).url
            results.append(asyncio.run(profile_chain(chain, url, legacy)))
    if args.json:
        print(json.dumps({"latency": args.latency, "chains": [asdict(r) for r in results]}, indent=2))
        return
    print(f"latency added per request: {args.latency * 1000:.0f} ms")
    for figures in results:
        show(figures)


if __name__ == "__main__":
    main()
