"""Every block at mainnet's size: the engine on the scale world (50,000+ Uniswap pools) against a full re-read.

On the scale world (`devnet.scale`, built and cached on first use), each figure with its baseline from the
same run:

- per block: the sim makes ``--changes`` swaps, mints and transfers in block N+1; the engine (chain 1,
  `uniswap-v2` and `uniswap-v3` only), warm from block N, snapshots N+1 -> HTTP requests and ms (median
  of ``--blocks`` blocks);
- as `serve` follows: ``--blocks`` more blocks read through the follower's poll (head, reorg window, the block's
  header and logs in one batch) and the snapshot pinned from it -> HTTP requests (median);
- full re-read: every V2 pair's reserves and every V3 pool's two balances by multicall at the same block,
  the old way -> requests and ms;
- discovery behind the `free` provider profile: a fresh engine's first snapshot through the provider
  simulator (25 requests/s, 100 items per batch, 50 ms latency) -> seconds;
- state memory: this process's resident-set growth over the warm engine's first snapshot (what the engine
  keeps: adapters' pools and caches, token book, prices; tracemalloc would be exact but slows the
  snapshot several times over at 50,000 pools), per 10,000 pools; and again once the heap's free pages are
  handed back to the system (`memory.release_free_heap`, as `serve` does after its first snapshots);
- garbage collection: the measured blocks alternate between the engine's long-lived state frozen
  (`gc.freeze()`, as `serve` does after every chain's first snapshot) and not, in the same run -> median ms of
  each, the CPU ms spent in the collector (`gc.callbacks`: median and sum per mode) and its full passes; then one
  full pass forced with the state frozen and one without (what each full pass costs, however rare);
- extrapolation to mainnet (400,000 V2 pairs, 40,000 V3 pools, 1,000,000 PancakeSwap V2 pairs): discovery
  scales with pools (at the free plan's 25 requests/s), state with pools, the per-block cost with changes.
  Requests, from the per-item costs measured here:

      full re-read requests(P) = ceil(reads(P) / (full_reread_reads / full_reread_requests))
      reads(P)                 = P pairs x 1 (getReserves) for V2, P pools x 2 (balanceOf of both tokens) for V3
      per-block requests(P)    = per_block_requests (one header+logs batch, one multicall: the reads follow the
                                 block's changes, not P, while they fit in one request as they do here)
      request ratio(P)         = full re-read requests(P) / per-block requests(P)

    .venv/bin/python benchmarks/mainnet_scale.py [--json] [--pairs 51040 --pools 5000] [--blocks 10]
    .venv/bin/python benchmarks/mainnet_scale.py --json --skip-discovery --profile-blocks 5   # + cProfile's top

Wall ms is noisy on a shared machine; each cost also carries this process's CPU ms (what the engine's own code
costs, the node's work excluded). ``--profile-blocks K`` snapshots K more blocks under cProfile after the
measured ones (so the profiler's overhead stays out of the figures) and prints the top entries to stderr.

Targets (noted, not asserted): per block <= 3 requests and <= 150 ms with 200 changes at 50,000+ pools;
>= 50x fewer requests than the full re-read; discovery <= 120 s behind `free`; <= 50 MB per 10,000 pools.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import math
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from types import FunctionType, ModuleType
from typing import Final

from rich.console import Console
from rich.table import Table

from defiscope.chain.limits import FREE_PLAN, UNLIMITED, EndpointLimits
from defiscope.chain.multicall import Call
from defiscope.chain.reader import Batcher
from defiscope.config import RpcSettings
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.manager import start_devnet
from defiscope.devnet.provider_proxy import ProviderProxy, profile
from defiscope.devnet.scale import ScalePlan, ScaleSize
from defiscope.devnet.scale_sim import ScaleSimulation
from defiscope.devnet.world import DevnetChain
from defiscope.logs import configure
from defiscope.memory import release_free_heap
from defiscope.service.context import ChainTarget, build_engine
from defiscope.service.poll import poll_chain
from defiscope.service.reorg import finality_depth
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine

SLUGS: Final = ("uniswap-v2", "uniswap-v3")
MAINNET: Final = {"uniswap-v2 pairs": 400_000, "uniswap-v3 pools": 40_000, "pancakeswap-v2 pairs": 1_000_000}
#: Reads a full re-read makes per pool: a V2 pair's getReserves, a V3 pool's balanceOf of each token.
READS_PER_POOL: Final = {"uniswap-v2 pairs": 1, "uniswap-v3 pools": 2, "pancakeswap-v2 pairs": 1}
TARGET_RATIO: Final = 50.0
FREE_RATE: Final = 25.0  # requests per second of the free plan
GET_RESERVES: Final = "getReserves()(uint112,uint112,uint32)"
BALANCE_OF: Final = "balanceOf(address)(uint256)"


@dataclass(frozen=True, slots=True)
class Figures:
    pools: int
    v2_pairs: int
    v3_pools: int
    changes_per_block: int
    per_block_requests: float
    per_block_requests_follower: float  # `serve`'s path: its poll (head, reorg window, header, logs), the multicall
    per_block_ms: float  # with the tracked state frozen, as `serve` runs
    per_block_cpu_ms: float
    per_block_ms_gc_unfrozen: float  # the same run's other blocks, nothing frozen
    per_block_cpu_ms_gc_unfrozen: float
    gc_freeze: dict[str, float]  # the collector's CPU ms and full passes, frozen vs not (`gc_figures`)
    full_reread_requests: int
    full_reread_ms: float
    full_reread_cpu_ms: float
    request_ratio: float
    request_ratio_mainnet_extrapolated: dict[str, float]
    request_ratio_note: str | None  # why the ratio misses the target at the measured size, if it does
    per_block_rpc_items: float
    per_block_reads: float
    full_reread_rpc_items: int
    full_reread_reads: int
    discovery_seconds_free_profile: float | None
    discovery_requests_free_profile: int | None
    discovery_complete: bool
    state_mb_per_10k_pools: float
    state_measure: str
    rss_growth_mb_per_10k_pools: float
    rss_growth_mb_per_10k_pools_released: float  # after the free heap went back to the system, as `serve` does
    warm_snapshot_requests: int
    warm_snapshot_seconds: float
    mainnet: dict[str, dict[str, float | None]]


def resident_bytes() -> int:
    """This process's resident set (Linux /proc)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise SystemExit("no VmRSS in /proc/self/status: the state measure needs Linux")


def deep_bytes(root: object, skip: Collection[int] = ()) -> int:
    """Bytes of `root` and every object it reaches through containers, slots and instance dicts, each counted
    once; ids in `skip` (shared objects: the deployment, the client) are not followed."""
    seen = set(skip)
    total, stack = 0, [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, type | ModuleType | FunctionType):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            stack.extend(obj)
        else:
            stack.extend(vars(obj).values() if hasattr(obj, "__dict__") else ())
            for name in getattr(type(obj), "__slots__", ()):
                stack.extend((getattr(obj, name),) if hasattr(obj, name) else ())
    return total


def tracked_bytes(engine: TvlEngine) -> int:
    """What the DEX adapters keep between blocks (pools, cursors, holdings, totals, LP-fee samples), measured
    object by object; the deployment registry and the RPC client are shared with everything else, not counted."""
    shared = {id(engine.deployment), id(engine.client)}
    return sum(deep_bytes(a, shared) for a in engine.adapters if a.info.slug in SLUGS)


def engine_for(chain: DevnetChain, url: str, limits: EndpointLimits, timeout: float) -> TvlEngine:
    """The chain's engine as `serve` builds it. A request answered after ``timeout`` counts as failed and is
    retried smaller: on a busy machine 10 s (the default) turned 47 requests into 20,097 at 2,210 pools."""
    deployment = devnet_deployment(chain)
    settings = RpcSettings(endpoints={url: limits}, timeout=timeout)
    return build_engine(ChainTarget(chain.chain_id, (url,), deployment), settings)


@dataclass(frozen=True, slots=True)
class Cost:
    requests: int  # HTTP requests
    items: int  # JSON-RPC items in them (eth_call of a multicall chunk, eth_getLogs, ...)
    reads: int  # contract reads (inside multicalls) and log queries the adapters recorded
    ms: float
    cpu_ms: float  # this process's CPU time (the node's work is not in it)
    gc_ms: float = 0.0  # of which in the garbage collector (CPU)
    full_gcs: int = 0  # the collector's passes over the oldest generation


class CollectorClock:
    """CPU seconds this process spends in the garbage collector (CPU, not wall: a pass preempted on a shared machine
    is not longer), and its full passes, from `gc.callbacks` (registered while in use)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.full_passes = 0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.process_time()
            return
        self.seconds += time.process_time() - self._started
        self.full_passes += info["generation"] == 2

    def __enter__(self) -> CollectorClock:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


def _items(engine: TvlEngine) -> int:
    return sum(endpoint.stats.calls for endpoint in engine.client.rpc.endpoints)


async def timed_snapshot(engine: TvlEngine, block: int) -> Cost:
    """The cost of one snapshot of the scale protocols; a protocol failing is an error here."""
    requests, items = engine.client.rpc.total_requests(), _items(engine)
    with CollectorClock() as collector:
        started, cpu = time.perf_counter(), time.process_time()
        result = await engine.snapshot(block, slugs=SLUGS)
        elapsed, cpu_ms = (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000
    if result.failures:
        raise SystemExit(f"snapshot at {block} failed: {[(f.slug, f.reason) for f in result.failures]}")
    reads = sum(len(s.calls) for s in result.snapshots)
    requests = engine.client.rpc.total_requests() - requests
    gc_ms = collector.seconds * 1000
    return Cost(requests, _items(engine) - items, reads, elapsed, cpu_ms, gc_ms, collector.full_passes)


async def followed_blocks(
    engine: TvlEngine, sim: ScaleSimulation, args: argparse.Namespace, log: Console
) -> list[tuple[int, Cost, bool]]:
    """``--blocks`` pairs of blocks, each (block, cost, frozen): the first of a pair with the state frozen as `serve`
    freezes it after the first snapshot (`gc.freeze`), the second with nothing frozen, so both share the run's
    conditions. Left frozen, as `serve` runs."""
    blocks: list[tuple[int, Cost, bool]] = []
    gc.collect()
    for _ in range(args.blocks):
        for frozen in (True, False):
            if frozen:
                gc.freeze()
            else:
                gc.unfreeze()
            block = sim.step(args.changes).block
            cost = await timed_snapshot(engine, block)
            blocks.append((block, cost, frozen))
            log.print(f"block {block}: {args.changes} changes, {'frozen' if frozen else 'unfrozen'}, {cost}")
    gc.freeze()
    return blocks


async def follower_blocks(engine: TvlEngine, sim: ScaleSimulation, args: argparse.Namespace, log: Console) -> list[int]:
    """Requests of ``--blocks`` more blocks the way `serve`'s follower reads them: its poll (the head, the stored
    headers of the reorg window, the block's header and forecast logs in one batch), then the snapshot pinned from
    it, of every protocol of the chain as `serve` reads them (after one block not counted). The store is a fresh
    SQLite file holding no block, so the window is empty, and the event collector is left out: their headers and
    logs ride in the same batch (tests/service/test_poll.py counts them on the devnet)."""
    costs = []
    with tempfile.TemporaryDirectory() as folder:
        repo = Repository.open(f"sqlite:///{folder}/follower.db")
        try:
            for _ in range(args.blocks + 1):  # the first: every protocol's first read, the forecast's first filters
                block = sim.step(args.changes).block
                before = engine.client.rpc.total_requests()
                poll = await poll_chain(engine, repo, finality_depth(1), next_due=block, events=None)
                pinned = poll.pinned(block)
                if pinned is None:
                    raise SystemExit(f"follower at {block}: the poll did not pin the block (head {poll.head.number})")
                result = await engine.snapshot(block, pin=pinned)
                if result.failures:
                    raise SystemExit(f"follower at {block}: {[(f.slug, f.reason) for f in result.failures]}")
                costs.append(engine.client.rpc.total_requests() - before)
                log.print(f"follower block {block}: {costs[-1]} requests")
        finally:
            repo.close()
    return costs[1:]


async def full_reread(engine: TvlEngine, plan: ScalePlan, chain: DevnetChain, block: int) -> Cost:
    """The old way: every pair's reserves and every V3 pool's balances, by multicall, at one block."""
    v2 = [*(p.address for p in chain.pools_of("uniswap-v2")), *(p.address for p in plan.pairs)]
    v3 = [
        *((p.address, p.token0, p.token1) for p in chain.pools_of("uniswap-v3")),
        *((p.address, p.token0, p.token1) for p in plan.pools),
    ]
    calls = [Call.of(pair, GET_RESERVES) for pair in v2]
    calls += [Call.of(token, BALANCE_OF, pool) for pool, t0, t1 in v3 for token in (t0, t1)]
    requests, items = engine.client.rpc.total_requests(), _items(engine)
    started, cpu = time.perf_counter(), time.process_time()
    pinned = await engine.client.snapshot(block)
    results = await Batcher(pinned).reader("full-reread").call_many(calls)
    elapsed, cpu_ms = (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000
    failed = [r for r in results if not r.success]
    if failed:
        raise SystemExit(f"full re-read: {len(failed)} of {len(calls)} calls failed")
    return Cost(engine.client.rpc.total_requests() - requests, _items(engine) - items, len(calls), elapsed, cpu_ms)


async def profiled_blocks(engine: TvlEngine, sim: ScaleSimulation, args: argparse.Namespace, log: Console) -> None:
    """``--profile-blocks`` more blocks, each snapshot under cProfile (the sim's steps not), and the top entries."""
    profiler = cProfile.Profile()
    for _ in range(args.profile_blocks):
        block = sim.step(args.changes).block
        profiler.enable()
        cost = await timed_snapshot(engine, block)
        profiler.disable()
        log.print(f"profiled block {block}: {cost}")
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(args.profile_top)
        log.print(f"cProfile over {args.profile_blocks} blocks, by {order}:", out.getvalue(), markup=False)


async def discovery(chain: DevnetChain, block: int, limit_seconds: float) -> tuple[float | None, int | None, bool]:
    """A fresh engine's first snapshot behind the `free` provider simulator: (seconds, requests, finished)."""
    with ProviderProxy(chain.rpc_url, profile("free")) as proxy:
        engine = engine_for(chain, proxy.url, FREE_PLAN, RpcSettings().timeout)
        started = time.perf_counter()
        try:
            await asyncio.wait_for(timed_snapshot(engine, block), limit_seconds)
        except TimeoutError:
            return time.perf_counter() - started, proxy.counters.requests, False
        finally:
            await engine.client.aclose()
        return time.perf_counter() - started, proxy.counters.requests, True


def reread_requests(reads: int, reread: Cost) -> int:
    """HTTP requests a full re-read of ``reads`` calls costs, at the reads per request measured (see the module's
    docstring)."""
    return math.ceil(reads / (reread.reads / reread.requests))


def mainnet_requests(reread: Cost, per_block_requests: float) -> dict[str, dict[str, float]]:
    """Per mainnet protocol: its full re-read's requests, the per-block requests, and their ratio."""
    rows = {}
    for name, count in MAINNET.items():
        full = reread_requests(count * READS_PER_POOL[name], reread)
        rows[name] = {
            "per_block_requests": per_block_requests,
            "full_reread_requests": full,
            "request_ratio": round(full / per_block_requests, 1),
        }
    return rows


def ratio_note(ratio: float, pools: int, reread: Cost, per_block_requests: float, v2_mainnet: float) -> str | None:
    """Why the ratio at the measured size misses the target, in one line (None when it meets it)."""
    if ratio >= TARGET_RATIO:
        return None
    per_request = reread.reads / reread.requests
    needed = math.ceil(TARGET_RATIO * per_block_requests)
    pools_needed = math.ceil(needed * per_request / (reread.reads / pools))
    return (
        f"{ratio:g}x < {TARGET_RATIO:g}x: the full re-read packs {per_request:,.0f} reads per HTTP request "
        f"(Multicall3 chunks in ~1 MB JSON-RPC batches), so {pools:,} pools cost it only {reread.requests} requests; "
        f"{TARGET_RATIO:g}x fewer than {per_block_requests:g} a block needs a re-read of {needed} requests, about "
        f"{pools_needed:,} pools (mainnet's Uniswap V2 alone: {v2_mainnet:g}x)"
    )


def _median(blocks: Sequence[tuple[int, Cost, bool]], field: str, frozen: bool | None = None) -> float:
    return float(statistics.median(getattr(c, field) for _, c, f in blocks if frozen is None or f == frozen))


def full_pass_ms(frozen: bool) -> float:
    """CPU ms of one full collection with the state frozen or not (left frozen after, as `serve` runs)."""
    gc.collect()
    if frozen:
        gc.freeze()
    else:
        gc.unfreeze()
    started = time.process_time()
    gc.collect()
    elapsed = (time.process_time() - started) * 1000
    gc.freeze()
    return elapsed


def gc_figures(blocks: Sequence[tuple[int, Cost, bool]]) -> dict[str, float]:
    """The collector's cost per block with the state frozen and not, and what one full pass costs each way."""
    figures: dict[str, float] = {}
    for frozen, name in ((True, "frozen"), (False, "unfrozen")):
        costs = [c for _, c, f in blocks if f == frozen]
        figures[f"gc_cpu_ms_median_{name}"] = round(statistics.median(c.gc_ms for c in costs), 2)
        figures[f"gc_cpu_ms_sum_{name}"] = round(sum(c.gc_ms for c in costs), 1)
        figures[f"full_passes_{name}"] = sum(c.full_gcs for c in costs)
        figures[f"forced_full_pass_cpu_ms_{name}"] = round(full_pass_ms(frozen), 1)
    figures["objects_frozen"] = gc.get_freeze_count()
    return figures


async def measure(
    chain: DevnetChain, size: ScaleSize, args: argparse.Namespace, log: Console
) -> tuple[Figures, list[tuple[int, Cost, bool]]]:
    plan = ScalePlan.of(chain, size)
    sim = ScaleSimulation(chain, size, seed=args.seed)
    head = sim.step(args.changes).block
    engine = engine_for(chain, chain.rpc_url, UNLIMITED, args.rpc_timeout)
    try:
        log.print(f"warm snapshot (discovery on the bare node) at block {head} ...")
        gc.collect()
        start_bytes = resident_bytes()
        warm = await timed_snapshot(engine, head)
        gc.collect()
        rss_bytes = resident_bytes() - start_bytes
        state_bytes = tracked_bytes(engine)
        release_free_heap()  # as `serve` does after the first snapshot: what stays resident
        released_bytes = resident_bytes() - start_bytes
        log.print(f"warm snapshot: {warm.requests} requests, {warm.ms / 1000:.1f} s")
        blocks = await followed_blocks(engine, sim, args, log)
        follower = await follower_blocks(engine, sim, args, log)
        last = sim.step(args.changes).block
        reread = await full_reread(engine, plan, chain, last)
        log.print(f"full re-read at {last}: {reread}")
        gc_collection = gc_figures(blocks)  # while the engine's state is alive
        if args.profile_blocks:
            await profiled_blocks(engine, sim, args, log)
    finally:
        await engine.client.aclose()
    if args.skip_discovery:
        seconds, discovery_requests, complete = None, None, False
    else:
        log.print(f"discovery behind the free profile (timeout {args.discovery_timeout:.0f} s) ...")
        seconds, discovery_requests, complete = await discovery(chain, last, args.discovery_timeout)
    pools = len(plan.pairs) + len(plan.pools) + len(chain.pools_of("uniswap-v2")) + len(chain.pools_of("uniswap-v3"))
    per_block_requests = _median(blocks, "requests")
    mb_per_pool = state_bytes / 1e6 / pools
    requests = mainnet_requests(reread, per_block_requests)
    mainnet = {
        name: {
            "pools": count,
            # None (JSON null, not NaN: strict parsers refuse it) when discovery was not measured to its end.
            "discovery_seconds_at_25_rps": None
            if discovery_requests is None or not complete
            else round(discovery_requests / pools * count / FREE_RATE, 1),
            "state_mb": round(mb_per_pool * count, 1),
            **requests[name],
        }
        for name, count in MAINNET.items()
    }
    ratio = round(reread.requests / per_block_requests, 1)
    figures = Figures(
        pools=pools,
        v2_pairs=len(plan.pairs) + len(chain.pools_of("uniswap-v2")),
        v3_pools=len(plan.pools) + len(chain.pools_of("uniswap-v3")),
        changes_per_block=args.changes,
        per_block_requests=per_block_requests,
        per_block_requests_follower=float(statistics.median(follower)),
        per_block_ms=round(_median(blocks, "ms", frozen=True), 1),
        per_block_cpu_ms=round(_median(blocks, "cpu_ms", frozen=True), 1),
        per_block_ms_gc_unfrozen=round(_median(blocks, "ms", frozen=False), 1),
        per_block_cpu_ms_gc_unfrozen=round(_median(blocks, "cpu_ms", frozen=False), 1),
        gc_freeze=gc_collection,
        full_reread_requests=reread.requests,
        full_reread_ms=round(reread.ms, 1),
        full_reread_cpu_ms=round(reread.cpu_ms, 1),
        request_ratio=ratio,
        request_ratio_mainnet_extrapolated={name: row["request_ratio"] for name, row in requests.items()},
        request_ratio_note=ratio_note(
            ratio, pools, reread, per_block_requests, requests["uniswap-v2 pairs"]["request_ratio"]
        ),
        per_block_rpc_items=_median(blocks, "items"),
        per_block_reads=_median(blocks, "reads"),
        full_reread_rpc_items=reread.items,
        full_reread_reads=reread.reads,
        discovery_seconds_free_profile=None if seconds is None else round(seconds, 1),
        discovery_requests_free_profile=discovery_requests,
        discovery_complete=complete,
        state_mb_per_10k_pools=round(mb_per_pool * 10_000, 2),
        warm_snapshot_requests=warm.requests,
        warm_snapshot_seconds=round(warm.ms / 1000, 1),
        state_measure="the DEX adapters' objects, walked and summed with sys.getsizeof (deployment and client not "
        "counted)",
        rss_growth_mb_per_10k_pools=round(rss_bytes / 1e6 / pools * 10_000, 2),
        rss_growth_mb_per_10k_pools_released=round(released_bytes / 1e6 / pools * 10_000, 2),
        mainnet=mainnet,
    )
    return figures, blocks


def render(figures: Figures, console: Console) -> None:
    table = Table(title=f"defiscope at scale: {figures.pools:,} pools, {figures.changes_per_block} changes/block")
    table.add_column("figure")
    table.add_column("engine", justify="right")
    table.add_column("baseline / note", justify="right")
    table.add_column("target", justify="right")
    gc_freeze = figures.gc_freeze
    table.add_row(
        "per block: HTTP requests",
        f"{figures.per_block_requests:g}",
        f"full re-read {figures.full_reread_requests:,} ({figures.request_ratio:g}x)",
        "<= 3, >= 50x fewer",
    )
    table.add_row("per block, as serve follows: HTTP requests", f"{figures.per_block_requests_follower:g}", "", "2")
    table.add_row(
        "per block: JSON-RPC items / contract reads",
        f"{figures.per_block_rpc_items:g} / {figures.per_block_reads:g}",
        f"full re-read {figures.full_reread_rpc_items:,} / {figures.full_reread_reads:,} "
        f"({figures.full_reread_reads / max(figures.per_block_reads, 1):,.0f}x)",
        "",
    )
    table.add_row(
        "per block: ms", f"{figures.per_block_ms:,.0f}", f"full re-read {figures.full_reread_ms:,.0f}", "<= 150"
    )
    table.add_row(
        "per block, state frozen vs not: ms / CPU ms / gc CPU ms (median)",
        f"{figures.per_block_ms:,.1f} / {figures.per_block_cpu_ms:,.1f} / {gc_freeze['gc_cpu_ms_median_frozen']:,.2f}",
        f"unfrozen {figures.per_block_ms_gc_unfrozen:,.1f} / {figures.per_block_cpu_ms_gc_unfrozen:,.1f} / "
        f"{gc_freeze['gc_cpu_ms_median_unfrozen']:,.2f}",
        "",
    )
    table.add_row(
        "per block: CPU ms (this process)",
        f"{figures.per_block_cpu_ms:,.0f}",
        f"full re-read {figures.full_reread_cpu_ms:,.0f}",
        "",
    )
    table.add_row(
        "one full gc pass, state frozen vs not: CPU ms",
        f"{gc_freeze['forced_full_pass_cpu_ms_frozen']:,.1f}",
        f"unfrozen {gc_freeze['forced_full_pass_cpu_ms_unfrozen']:,.1f} ({gc_freeze['objects_frozen']:,.0f} objects)",
        "",
    )
    discovery = figures.discovery_seconds_free_profile
    table.add_row(
        "discovery behind free: s",
        "skipped" if discovery is None else f"{discovery:,.1f}" + ("" if figures.discovery_complete else " (cut)"),
        f"{figures.discovery_requests_free_profile or 0:,} requests",
        "<= 120",
    )
    table.add_row(
        "state MB / 10k pools",
        f"{figures.state_mb_per_10k_pools:,.2f}",
        f"RSS growth {figures.rss_growth_mb_per_10k_pools:,.1f}, "
        f"{figures.rss_growth_mb_per_10k_pools_released:,.1f} with the free heap released",
        "<= 50",
    )
    console.print(table)
    if figures.request_ratio_note is not None:
        console.print(figures.request_ratio_note, highlight=False)
    mainnet = Table(title="extrapolated to mainnet (discovery at 25 req/s; per block depends on changes, not pools)")
    columns = ("protocol", "pools", "discovery s", "state MB", "per-block requests", "full re-read requests", "ratio")
    for column in columns:
        mainnet.add_column(column, justify="right")
    for name, row in figures.mainnet.items():
        mainnet.add_row(
            name,
            _shown(row["pools"], ",.0f"),
            _shown(row["discovery_seconds_at_25_rps"], ",.0f"),
            _shown(row["state_mb"], ",.0f"),
            _shown(row["per_block_requests"], "g"),
            _shown(row["full_reread_requests"], ",.0f"),
            _shown(row["request_ratio"], ",.1f") + "x",
        )
    console.print(mainnet)


def _shown(value: float | None, spec: str) -> str:
    return "not measured" if value is None else format(value, spec)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument("--pairs", type=int, default=ScaleSize().pairs)
    parser.add_argument("--pools", type=int, default=ScaleSize().pools)
    parser.add_argument("--blocks", type=int, default=10, help="blocks measured (median)")
    parser.add_argument("--changes", type=int, default=200, help="sim changes per block")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--discovery-timeout", type=float, default=900.0, help="give up discovery after (s)")
    parser.add_argument("--skip-discovery", action="store_true")
    parser.add_argument("--profile-blocks", type=int, default=0, help="blocks snapshot under cProfile, after")
    parser.add_argument("--profile-top", type=int, default=30, help="entries of the profile printed")
    parser.add_argument("--rpc-timeout", type=float, default=600.0, help="per request, on the bare node (s)")
    args = parser.parse_args(argv)
    configure()  # log lines to stderr: stdout carries only the figures
    size = ScaleSize(pairs=args.pairs, pools=args.pools)
    console = Console(stderr=args.json)
    started = time.perf_counter()
    with start_devnet((1,), scale=size, show_progress=not args.json) as devnet:
        up = time.perf_counter() - started
        console.print(f"scale world {size.name} up in {up:.1f} s ({'cached' if devnet.from_cache else 'built'})")
        figures, _ = asyncio.run(measure(devnet.chain(1), size, args, console))
    if args.json:
        sys.stdout.write(json.dumps({**asdict(figures), "world_seconds": round(up, 1)}, allow_nan=False) + "\n")
    else:
        render(figures, console)


if __name__ == "__main__":
    main()
