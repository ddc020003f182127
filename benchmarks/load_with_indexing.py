"""The API at 80 % of its measured capacity while the indexer follows the scale world: latency and indexing lag.

Real processes on one machine: the scale world (`devnet.scale`, 51,040 V2 pairs and 5,000 V3 pools on chain 1,
built and cached on first use) in anvil; `defiscope index --chain 1` following it into a PostgreSQL store;
`defiscope serve --api-only` (one process, limits and cache in the process) reading that store; the scale
market (`ScaleSimulation`) mining a block of ``--changes`` trades every ``--block-interval`` seconds. In order,
in the same run:

1. capacity: the API alone on the store the indexer filled (the chain quiet), wrk at ``--connections``
   (closed loop, after a warm-up) over a mix of read routes (/v1 protocols, TVL, chains, yields, prices, the
   DefiLlama- and CoinGecko-compatible ones), one route after the other -> max requests/s. Without wrk, a
   Python closed loop (a lower bound: the Python client tops out first);
2. the API alone at 80 % of that (``--load``): an open-loop generator in a process of its own sends each
   request at its scheduled time (i / rate), whatever the answers before it, and measures latency from that
   scheduled time, so queueing in the server or the client shows (no coordinated omission) -> p50/p90/p99,
   achieved rate (the baseline);
3. the indexer alone: the market mines blocks for ``--seconds`` -> lag (baseline);
4. both together for ``--seconds`` -> the same figures, and their ratios to 2 and 3.

Answers are counted apart: 200 (achieved rate; their own p50/p99 as ``answered_*``), 503 (``shed``: the server's
load shedding refused at once; ``shed_share``), and errors (any other status, failed connections, 10 s timeouts).
Each phase also says where the time went (``usage``): CPU cores used by the API, the indexer and anvil (from
/proc), the machine's busy cores, and from the API's /metrics its cache builds, their wall time, hits and shed
requests. ``--api-setting max_in_flight=1000000`` (any `ApiSettings` field) runs the server with other settings;
``--variant stale_seconds=0`` (repeatable) then runs the together phase once more, right after the first, on an
API restarted with those settings added (``variant`` in the figures): two configurations in one run.
``--beside`` then measures the capacity again while the indexer follows the market (the API's capacity as it runs
in production, sharing the machine with its indexer and here also with the chain and the market), and runs the
together phase at 80 % of that (``beside`` in the figures): on a small machine the API's quiet capacity is more than
what is left of the cores once the chain, the market and the indexer run, which the first together phase shows.

Lag is watched from outside both processes every 0.1 s: the node's head (eth_blockNumber) and the highest stored
block. Lag in blocks is head minus stored at each look; lag in seconds is, per block, the time from the first
look that saw it at the head to the first that saw it stored (so both ends have the same 0.1 s resolution).
"The indexer keeps up": every block mined is stored within ``--drain`` seconds after the market stops, and the
lag stays bounded: the median lag of the last third of the blocks is within one block interval of the first
third's (not growing). Targets (noted, not asserted): the indexer keeps up with the API loaded; p99 under load
<= 2x the API alone.

    .venv/bin/python benchmarks/load_with_indexing.py [--json] [--seconds 30] [--block-interval 2 --changes 200]
        [--pairs 51040 --pools 5000] [--database postgresql+psycopg://...] [--pg postgresql+psycopg://...]
        [--api-setting NAME=VALUE ...]

Needs PostgreSQL (``--pg``: a temporary database is made and dropped; ``--database``: an empty one of yours),
anvil, and wrk for the capacity (`apt-get install -y wrk`; this script installs nothing). The machine's load
average is printed with the figures: every process here shares its cores with whatever else runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Final

import h11
import httpx
from rich.console import Console

from api_load import Load, wrk
from api_processes import start, temporary_database
from defiscope import config
from defiscope.devnet import Devnet, DevnetChain, runfile, start_devnet
from defiscope.devnet.anvil import rpc
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.scale import ScaleSize
from defiscope.devnet.scale_sim import ScaleSimulation
from defiscope.logs import configure
from defiscope.store import Repository

CHAIN: Final = 1
WATCH_EVERY: Final = 0.1  # seconds between two looks at the head and the store
PRICED: Final = ("WETH", "USDC", "DAI", "WBTC")
REQUEST_TIMEOUT: Final = 10.0


# --- the load generators ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Latency:
    """An open-loop run: what was asked, what came back, and latency from each request's scheduled time."""

    target_rps: float
    achieved_rps: float  # answers with status 200 per second, from the first scheduled time to the last answer
    requests: int
    errors: int  # answers other than 200 and 503, failed connections, timeouts, requests unanswered at the end
    shed: int  # 503 answers: refused at once by the server's load shedding (or a quote's own bound)
    p50_ms: float  # of every request answered or failed (a timeout counts its 10 s)
    p90_ms: float
    p99_ms: float
    max_ms: float
    answered_p50_ms: float  # of the 200 answers only
    answered_p99_ms: float
    generator_delay_p99_ms: float  # how late the generator queued requests (high: the client, not the server)


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


class Http11:
    """One keep-alive HTTP/1.1 connection driven by h11 (the parser under httpx) on asyncio streams.

    Why not httpx here: its per-request cost (client, pool, anyio) held one generator process to 37 answers/s on
    this loaded 2-core machine where wrk drew 344/s from the same server; a load generator must cost far less than
    the server it loads. A failed exchange (error, timeout) drops the connection; the next request reconnects."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._h11 = h11.Connection(h11.CLIENT)

    async def get(self, target: str) -> int:
        """The status of GET ``target`` (its body read and dropped); 0 if it failed or took `REQUEST_TIMEOUT`."""
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                return await self._exchange(target)
        except (OSError, TimeoutError, h11.ProtocolError, EOFError):
            self.close()
            return 0

    async def _exchange(self, target: str) -> int:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
            self._h11 = h11.Connection(h11.CLIENT)
        reader, writer = self._streams
        request = h11.Request(method="GET", target=target, headers=[("Host", self.host)])
        writer.write(self._h11.send(request) + self._h11.send(h11.EndOfMessage()))
        status = 0
        while True:
            event = self._h11.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(65536)
                if not data:
                    raise EOFError("the server closed the connection")
                self._h11.receive_data(data)
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.EndOfMessage):
                break
        if self._h11.our_state is h11.MUST_CLOSE or self._h11.their_state is h11.MUST_CLOSE:
            self.close()
        else:
            self._h11.start_next_cycle()
        return status

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


def _connections(base: str, count: int) -> list[Http11]:
    url = httpx.URL(base)
    return [Http11(url.host, url.port or 80) for _ in range(count)]


async def _open_loop(base: str, paths: Sequence[str], rate: float, seconds: float, connections: int) -> Latency:
    """Request ``paths`` in turn at ``rate`` per second for ``seconds`` (see the module's docstring).

    A scheduler queues each request at its time; ``connections`` senders take them in order. When every sender
    waits for an answer, the queue grows and the wait counts in the latency (from the scheduled time)."""
    count = max(1, round(rate * seconds))
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    latencies: list[float] = []
    answered: list[float] = []  # latencies of the 200 answers
    late: list[float] = []  # how long after its time the scheduler queued a request (the generator's own delay)
    shed = 0
    last_answer = 0.0

    async def sender(connection: Http11) -> None:
        nonlocal shed, last_answer
        while (item := await queue.get()) is not None:
            i, due = item
            status = await connection.get(paths[i % len(paths)])
            now = loop.time()
            latencies.append(now - due)
            if status == 200:
                answered.append(now - due)
            shed += status == 503
            last_answer = max(last_answer, now)
        connection.close()

    senders = [asyncio.create_task(sender(c)) for c in _connections(base, connections)]
    started = loop.time() + 0.05
    queued = 0
    while queued < count:
        # Every request whose time has come is queued now, however many: a late loop catches up, never skips.
        due_now = min(count, max(0, math.floor((loop.time() - started) * rate) + 1))
        for i in range(queued, due_now):
            due = started + i / rate
            late.append(loop.time() - due)
            queue.put_nowait((i, due))
        queued = max(queued, due_now)
        await asyncio.sleep(max(0.0, started + queued / rate - loop.time()))
    for _ in senders:
        queue.put_nowait(None)
    _, unfinished = await asyncio.wait(senders, timeout=REQUEST_TIMEOUT + seconds)
    for task in unfinished:
        task.cancel()
    ok = len(answered)
    ms = [x * 1000 for x in latencies] or [math.inf]
    ok_ms = [x * 1000 for x in answered] or [math.inf]
    return Latency(
        target_rps=round(rate, 1),
        achieved_rps=round(ok / max(last_answer - started, seconds), 1),
        requests=count,
        errors=count - ok - shed,
        shed=shed,
        p50_ms=round(percentile(ms, 50), 2),
        p90_ms=round(percentile(ms, 90), 2),
        p99_ms=round(percentile(ms, 99), 2),
        max_ms=round(max(ms), 2),
        answered_p50_ms=round(percentile(ok_ms, 50), 2),
        answered_p99_ms=round(percentile(ok_ms, 99), 2),
        generator_delay_p99_ms=round(percentile([x * 1000 for x in late], 99), 2),
    )


async def _closed_loop(base: str, paths: Sequence[str], seconds: float, connections: int) -> Load:
    """``connections`` clients each sending its next request when its answer came: requests/s (the fallback
    capacity when wrk is missing; a lower bound, as one Python process drives them all)."""
    latencies: list[float] = []
    errors = 0
    started = time.perf_counter()
    deadline = started + seconds

    async def worker(offset: int, connection: Http11) -> None:
        nonlocal errors
        i = offset
        while time.perf_counter() < deadline:
            sent = time.perf_counter()
            ok = await connection.get(paths[i % len(paths)]) == 200
            latencies.append(time.perf_counter() - sent)
            errors += not ok
            i += 1
        connection.close()

    await asyncio.gather(*(worker(k, c) for k, c in enumerate(_connections(base, connections))))
    elapsed = time.perf_counter() - started
    ms = [x * 1000 for x in latencies]
    return Load((len(latencies) - errors) / elapsed, percentile(ms, 50), percentile(ms, 99), errors)


def open_loop(base: str, paths: Sequence[str], rate: float, seconds: float, connections: int) -> Latency:
    return asyncio.run(_open_loop(base, paths, rate, seconds, connections))


def closed_loop(base: str, paths: Sequence[str], seconds: float, connections: int) -> Load:
    return asyncio.run(_closed_loop(base, paths, seconds, connections))


def generator_process() -> ProcessPoolExecutor:
    """A process of its own for the load generator: nothing else here (the market, the watcher) delays its sends."""
    return ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))


def wrk_mix(base: str, paths: Sequence[str], seconds: int, connections: int, work: Path) -> Load:
    """wrk over the routes in turn (a Lua `request` hook; each wrk thread keeps its own counter)."""
    script = work / "mix.lua"
    listed = ", ".join(json.dumps(p) for p in paths)  # a JSON string of ASCII is a Lua string literal
    script.write_text(
        f"local paths = {{{listed}}}\nlocal n = 0\n"
        "request = function()\n  n = n + 1\n  return wrk.format(nil, paths[(n % #paths) + 1])\nend\n"
    )
    return wrk(base + "/", seconds, connections, script=script)


def capacity(base: str, paths: Sequence[str], args: argparse.Namespace, work: Path) -> tuple[Load, str]:
    """The API's requests/s over the mix, closed loop: (figures, which generator)."""
    if shutil.which("wrk") is not None:
        wrk_mix(base, paths, args.capacity_seconds, args.connections, work)  # warm-up: caches, connections, threads
        return wrk_mix(base, paths, args.capacity_seconds, args.connections, work), "wrk"
    with generator_process() as pool:
        pool.submit(closed_loop, base, paths, args.capacity_seconds, args.connections).result()  # warm-up
        found = pool.submit(closed_loop, base, paths, args.capacity_seconds, args.connections).result()
    return found, "python closed loop (no wrk: a lower bound)"


# --- the chain and the indexer ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Lag:
    """How far the store trailed the chain while the market mined blocks."""

    blocks: int  # mined in the phase
    block_interval_s: float  # achieved, mean
    changes_per_block: int
    lag_blocks_median: float
    lag_blocks_max: int
    lag_seconds_median: float
    lag_seconds_max: float
    lag_seconds_first_third: float  # median of the phase's first third of blocks
    lag_seconds_last_third: float
    unstored: int  # blocks not stored within the drain time after the market stopped
    keeps_up: bool


class Market:
    """The scale market in a thread: one block of ``changes`` trades every ``interval`` seconds while running."""

    def __init__(self, chain: DevnetChain, size: ScaleSize, changes: int, interval: float, seed: int) -> None:
        self.sim = ScaleSimulation(chain, size, seed=seed)
        self.changes, self.interval = changes, interval
        self.mined: list[int] = []
        self.failure: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="market", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.failure is not None:
            raise SystemExit(f"the scale market failed: {self.failure}")

    def _loop(self) -> None:
        due = time.monotonic()
        try:
            while not self._stop.is_set():
                self.mined.append(self.sim.step(self.changes).block)
                due += self.interval
                self._stop.wait(max(0.0, due - time.monotonic()))  # a slow step is not made up for: steady pace
                due = max(due, time.monotonic())
        except Exception as exc:  # reported by stop(): the phase's figures would be wrong without blocks
            self.failure = exc


class LagWatch:
    """Looks at the node's head and the store's highest block every `WATCH_EVERY` seconds, in a thread."""

    def __init__(self, rpc_url: str, repo: Repository) -> None:
        self.rpc_url, self.repo = rpc_url, repo
        self.seen_at_head: dict[int, float] = {}
        self.seen_stored: dict[int, float] = {}
        self.samples: list[tuple[float, int]] = []  # (time, head - stored)
        self.head, self.stored = 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lag-watch", daemon=True)

    def __enter__(self) -> LagWatch:
        self.look()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def look(self) -> None:
        head = int(str(rpc(self.rpc_url, "eth_blockNumber")), 16)
        latest = self.repo.latest_blocks().get(CHAIN)
        stored = 0 if latest is None else latest.number
        now = time.monotonic()
        for number in range(self.head + 1, head + 1):
            self.seen_at_head.setdefault(number, now)
        for number in range(self.stored + 1, stored + 1):
            self.seen_stored.setdefault(number, now)
        self.head, self.stored = max(self.head, head), max(self.stored, stored)
        self.samples.append((now, max(0, self.head - self.stored)))

    def _loop(self) -> None:
        while not self._stop.wait(WATCH_EVERY):
            self.look()

    def wait_stored(self, block: int, within: float) -> bool:
        deadline = time.monotonic() + within
        while self.stored < block and time.monotonic() < deadline:
            time.sleep(WATCH_EVERY)
        return self.stored >= block


def lag_of(watch: LagWatch, mined: Sequence[int], window: tuple[float, float], changes: int, interval: float) -> Lag:
    """The phase's lag from the watcher's looks between ``window`` and the blocks ``mined`` in it, at the market's
    ``interval`` (the bound: the last third's median lag within one interval of the first third's)."""
    seconds = [watch.seen_stored[b] - watch.seen_at_head[b] for b in mined if b in watch.seen_stored]
    third = max(1, len(seconds) // 3)
    first, last = statistics.median(seconds[:third] or [math.inf]), statistics.median(seconds[-third:] or [math.inf])
    samples = [lag for at, lag in watch.samples if window[0] <= at <= window[1]] or [0]
    unstored = sum(b not in watch.seen_stored for b in mined)
    spread = watch.seen_at_head.get(mined[-1], 0.0) - watch.seen_at_head.get(mined[0], 0.0) if mined else 0.0
    return Lag(
        blocks=len(mined),
        block_interval_s=round(spread / max(1, len(mined) - 1), 2),
        changes_per_block=changes,
        lag_blocks_median=float(statistics.median(samples)),
        lag_blocks_max=max(samples),
        lag_seconds_median=round(statistics.median(seconds or [math.inf]), 2),
        lag_seconds_max=round(max(seconds or [math.inf]), 2),
        lag_seconds_first_third=round(first, 2),
        lag_seconds_last_third=round(last, 2),
        unstored=unstored,
        keeps_up=bool(mined) and unstored == 0 and last <= first + interval,
    )


# --- where the time went -----------------------------------------------------------------------------------------

CLOCK_TICKS: Final = os.sysconf("SC_CLK_TCK")
_METRIC: Final = r"^{name}(?:\{{[^}}]*\}})? (\S+)$"


def cpu_seconds(pid: int, *, group: bool = False) -> float:
    """User + system CPU seconds used so far by process ``pid`` (with ``group``: every live process of its group)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat") if group else [Path(f"/proc/{pid}/stat")]:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rpartition(")")[2].split()  # after the name: state, ppid, pgrp, ...
            if not group or int(fields[2]) == pid:
                total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def machine_busy_seconds() -> float:
    """CPU seconds every core spent busy since boot (/proc/stat: all but idle and iowait)."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / CLOCK_TICKS


def metric_sum(body: str, name: str) -> float:
    """The sum of a metric's samples (every label set) in a Prometheus text body; 0 when absent."""
    return sum(float(v) for v in re.findall(_METRIC.format(name=re.escape(name)), body, re.MULTILINE))


@dataclass(frozen=True, slots=True)
class Usage:
    """One phase: cores used by each part (CPU seconds per wall second) and what the API's cache did."""

    seconds: float
    api_cores: float
    indexer_cores: float
    anvil_cores: float
    machine_busy_cores: float  # everything on the machine, other work included
    cache_builds: int
    cache_build_seconds: float  # wall time of the builds (threads, store waits included)
    cache_hits: int  # answered from the cache at the current version
    stale_answers: int  # the previous block's answer, served while the current one built in the background
    background_builds: int
    shed: int


class Meter:
    """Snapshots of the processes' CPU and the API's /metrics; `since(start)` is a phase's `Usage`."""

    def __init__(self, base: str, api: int, indexer: int, anvil: int) -> None:
        self.base, self.api, self.indexer, self.anvil = base, api, indexer, anvil

    def snapshot(self) -> dict[str, float]:
        body = httpx.get(self.base + "/metrics", timeout=30).text
        return {
            "at": time.monotonic(),
            "api": cpu_seconds(self.api, group=True),
            "indexer": cpu_seconds(self.indexer, group=True),
            "anvil": cpu_seconds(self.anvil),
            "machine": machine_busy_seconds(),
            "builds": metric_sum(body, "defiscope_cache_builds_total"),
            "build_seconds": metric_sum(body, "defiscope_cache_build_seconds_total"),
            "hits": metric_sum(body, "defiscope_cache_hits_total"),
            "stale": metric_sum(body, "defiscope_cache_stale_answers_total"),
            "background": metric_sum(body, "defiscope_cache_background_builds_total"),
            "shed": metric_sum(body, "defiscope_http_shed_total"),
        }

    def since(self, start: dict[str, float]) -> Usage:
        end = self.snapshot()
        d = {k: end[k] - start[k] for k in end}
        wall = max(d["at"], 1e-9)
        return Usage(
            seconds=round(wall, 1),
            api_cores=round(d["api"] / wall, 2),
            indexer_cores=round(d["indexer"] / wall, 2),
            anvil_cores=round(d["anvil"] / wall, 2),
            machine_busy_cores=round(d["machine"] / wall, 2),
            cache_builds=int(d["builds"]),
            cache_build_seconds=round(d["build_seconds"], 2),
            cache_hits=int(d["hits"]),
            stale_answers=int(d["stale"]),
            background_builds=int(d["background"]),
            shed=int(d["shed"]),
        )


@contextlib.contextmanager
def scale_devnet(size: ScaleSize, args: argparse.Namespace, log: Console) -> Iterator[Devnet]:
    """The scale world on chain 1, published in this data dir's run file so that `defiscope index` finds it."""
    runfile.refuse_if_running()
    started = time.perf_counter()
    devnet = start_devnet((CHAIN,), state_dir=args.worlds, scale=size, base=args.base, show_progress=not args.json)
    log.print(f"scale world {size.name} up in {time.perf_counter() - started:.1f} s", highlight=False)
    try:
        runfile.publish(devnet, devnet.chains)
        yield devnet
    finally:
        runfile.release(devnet)


@contextlib.contextmanager
def process(cmd: Sequence[str], env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A child in its own process group, its output in ``log_path``; SIGTERM at the end, SIGKILL after 60 s."""
    with log_path.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield proc
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


# --- the run ------------------------------------------------------------------------------------------------------


def routes(base: str, chain: DevnetChain) -> list[str]:
    """The read mix: /v1 and the compatible APIs, on the protocols and tokens the store holds; each must answer 200."""
    slugs = [p["slug"] for p in httpx.get(base + "/v1/protocols?limit=100", timeout=30).json()["items"]]
    tokens = [devnet_deployment(chain).token(s).address for s in PRICED]
    coins = ",".join(f"ethereum:{a}" for a in tokens)
    top, other = slugs[0], slugs[len(slugs) // 2]
    paths = [
        "/v1/protocols?limit=100",
        f"/v1/protocols/{top}",
        f"/v1/protocols/{other}/tvl",
        "/v1/chains",
        "/v1/yields",
        f"/v1/prices?tokens={coins}",
        "/protocols",
        f"/tvl/{other}",
        "/v2/chains",
        f"/prices/current/{coins}",
        f"/api/v3/simple/token_price/ethereum?contract_addresses={','.join(tokens)}&vs_currencies=usd",
    ]
    for path in paths:
        status = httpx.get(base + path, timeout=30).status_code
        if status != 200:
            raise SystemExit(f"route {path} answered {status}: the mix must be answers, not errors")
    return paths


def indexed_phase(watch: LagWatch, market: Market, args: argparse.Namespace) -> Lag:
    """The market mines for ``--seconds``; the store gets ``--drain`` seconds more to reach its last block (what it
    has not stored by then counts as unstored). Then it is left to catch up, so the next phase starts level."""
    before = len(market.mined)
    started = time.monotonic()
    market.run()
    time.sleep(args.seconds)
    market.stop()
    stopped = time.monotonic()
    mined = market.mined[before:]
    if mined:
        watch.wait_stored(mined[-1], args.drain)
    lag = lag_of(watch, mined, (started, stopped), args.changes, args.block_interval)
    if mined:
        caught_up(watch, mined[-1], args)
    return lag


def caught_up(watch: LagWatch, block: int, args: argparse.Namespace) -> None:
    """Wait for the store to reach ``block`` (``--catch-up-timeout``); the run stops if it does not."""
    if not watch.wait_stored(block, args.catch_up_timeout):
        raise SystemExit(f"the indexer did not store block {block} within {args.catch_up_timeout:.0f} s")


def warm_up(watch: LagWatch, market: Market, args: argparse.Namespace, log: Console) -> None:
    """One block, stored by the indexer's first snapshot (discovery of every pool: minutes at full size; no blocks
    pile up meanwhile), then ``--warmup-blocks`` at the market's pace, all stored."""
    log.print("warm-up: the indexer's first snapshot, then a few blocks ...")
    for blocks in (1, args.warmup_blocks):
        target = len(market.mined) + blocks
        market.run()
        while len(market.mined) < target and market.failure is None:
            time.sleep(0.05)
        market.stop()
        caught_up(watch, market.mined[-1], args)


def child_env(url: str, api_settings: Sequence[str] = ()) -> dict[str, str]:
    """The children's environment; ``api_settings`` ("max_in_flight=1000") become ``DEFISCOPE_API_*`` variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEFISCOPE_")}
    env |= {
        "DEFISCOPE_API_" + name.strip().upper(): value for name, _, value in (s.partition("=") for s in api_settings)
    }
    return env | {
        "DEFISCOPE_DATA_DIR": str(config.data_dir()),
        "DEFISCOPE_DATABASE_URL": url,
        "DEFISCOPE_NETWORK": "devnet",
        "DEFISCOPE_API_RATE_PER_IP": "100000000/minute",  # one load generator is one address
    }


def measure(url: str, args: argparse.Namespace, log: Console, work: Path) -> dict[str, Any]:
    size = ScaleSize(pairs=args.pairs, pools=args.pools)
    repo = Repository.open(url)  # migrated here once: neither child races the other to it
    defiscope = str(Path(sys.executable).with_name("defiscope"))
    env = child_env(url, args.api_setting)
    load = {"start": os.getloadavg()}
    try:
        with (
            scale_devnet(size, args, log) as devnet,
            process([defiscope, "index", "--chain", str(CHAIN)], env, work / "index.log") as indexer,
            LagWatch(devnet.chain(CHAIN).rpc_url, repo) as watch,
        ):
            market = Market(devnet.chain(CHAIN), size, args.changes, args.block_interval, args.seed)
            warm_up(watch, market, args, log)
            api, base = start(env, workers=1)
            try:
                paths = routes(base, devnet.chain(CHAIN))
                log.print(f"capacity over {len(paths)} routes ...")
                found, generator = capacity(base, paths, args, work)
                rate = found.rps * args.load
                meter = Meter(base, api.pid, indexer.pid, devnet.nodes[0].pid)
                with generator_process() as pool:
                    log.print(f"API alone at {rate:.0f} req/s ...")
                    start_of = meter.snapshot()
                    alone = pool.submit(open_loop, base, paths, rate, args.seconds, args.connections).result()
                    usage = {"api_alone": meter.since(start_of)}
                    log.print("indexer alone ...")
                    start_of = meter.snapshot()
                    indexer_alone = indexed_phase(watch, market, args)
                    usage["indexer_alone"] = meter.since(start_of)
                    log.print("API and indexer together ...")
                    run = Together(pool, watch, market, paths, rate, args)
                    together, indexer_loaded, usage["together"] = run.measure(meter)
                    if args.beside:
                        log.print("capacity beside the indexer ...")
                        found_beside = capacity_beside(base, paths, watch, market, args, work)
                        log.print(f"API at {found_beside.rps * args.load:.0f} req/s and indexer together ...")
                        beside = replace(run, rate=found_beside.rps * args.load).measure(
                            Meter(base, api.pid, indexer.pid, devnet.nodes[0].pid)
                        )
                    if args.variant:
                        api.send_signal(signal.SIGTERM)
                        api.wait(20)
                        api, base = start(child_env(url, [*args.api_setting, *args.variant]), workers=1)
                        log.print(f"API ({', '.join(args.variant)}) and indexer together ...")
                        routes(base, devnet.chain(CHAIN))  # each answers 200; the cache is warm as before
                        variant = run.measure(Meter(base, api.pid, indexer.pid, devnet.nodes[0].pid))
            finally:
                api.send_signal(signal.SIGTERM)
                api.wait(20)
    finally:
        repo.close()
    load["end"] = os.getloadavg()
    figures = report(size, paths, found, generator, alone, together, indexer_alone, indexer_loaded, load, args)
    figures["usage"] = {phase: asdict(u) for phase, u in usage.items()}
    if args.variant:
        latency, lag, used = variant
        figures["variant"] = {
            "api_settings": list(args.variant),
            "api_with_indexing": asdict(latency),
            "indexer_with_api": asdict(lag),
            "usage": asdict(used),
        }
    if args.beside:
        latency, lag, used = beside
        figures["beside"] = {
            "capacity": asdict(found_beside),
            "api_with_indexing": asdict(latency),
            "indexer_with_api": asdict(lag),
            "usage": asdict(used),
        }
    return figures


def capacity_beside(
    base: str, paths: Sequence[str], watch: LagWatch, market: Market, args: argparse.Namespace, work: Path
) -> Load:
    """The API's closed-loop capacity (as `capacity`) while the market mines and the indexer follows; then the store
    catches up, so the next phase starts level."""
    market.run()
    try:
        found, _ = capacity(base, paths, args, work)
    finally:
        market.stop()
    if market.mined:
        caught_up(watch, market.mined[-1], args)
    return found


@dataclass(frozen=True, slots=True)
class Together:
    """The together phase: the open-loop load on an API while the indexer follows the market."""

    pool: ProcessPoolExecutor
    watch: LagWatch
    market: Market
    paths: Sequence[str]
    rate: float
    args: argparse.Namespace

    def measure(self, meter: Meter) -> tuple[Latency, Lag, Usage]:
        start_of = meter.snapshot()
        loaded = self.pool.submit(
            open_loop, meter.base, self.paths, self.rate, self.args.seconds, self.args.connections
        )
        lag = indexed_phase(self.watch, self.market, self.args)
        latency = loaded.result()
        return latency, lag, meter.since(start_of)


def report(
    size: ScaleSize,
    paths: Sequence[str],
    found: Load,
    generator: str,
    alone: Latency,
    together: Latency,
    indexer_alone: Lag,
    indexer_loaded: Lag,
    load: dict[str, tuple[float, float, float]],
    args: argparse.Namespace,
) -> dict[str, Any]:
    keeps_up = indexer_loaded.keeps_up
    verdict = (
        f"the indexer {'keeps up' if keeps_up else 'does NOT keep up'} with the API at {args.load:.0%} of capacity: "
        f"lag median {indexer_loaded.lag_seconds_median:g} s / max {indexer_loaded.lag_seconds_max:g} s, "
        f"{indexer_loaded.lag_blocks_median:g} / {indexer_loaded.lag_blocks_max} blocks behind; first third "
        f"{indexer_loaded.lag_seconds_first_third:g} s, last third {indexer_loaded.lag_seconds_last_third:g} s; "
        f"{indexer_loaded.unstored} of {indexer_loaded.blocks} blocks unstored after {args.drain:g} s "
        f"(alone: median {indexer_alone.lag_seconds_median:g} s, max {indexer_alone.lag_seconds_max:g} s); the market "
        f"mined a block every {indexer_loaded.block_interval_s:g} s (asked {args.block_interval:g} s)"
    )
    return {
        "world": {"pairs": size.pairs, "pools": size.pools, "chain": CHAIN},
        "cores": os.cpu_count(),
        "load_average": {k: [round(x, 2) for x in v] for k, v in load.items()},
        "routes": list(paths),
        "connections": args.connections,
        "seconds": args.seconds,
        "capacity": {"generator": generator, "seconds": args.capacity_seconds, **asdict(found)},
        "load_fraction": args.load,
        "api_alone": asdict(alone),
        "api_with_indexing": asdict(together),
        "indexer_alone": asdict(indexer_alone),
        "indexer_with_api": asdict(indexer_loaded),
        "ratios": {
            "p99_loaded_over_alone": _ratio(together.p99_ms, alone.p99_ms),
            "p50_loaded_over_alone": _ratio(together.p50_ms, alone.p50_ms),
            "achieved_rate_loaded_over_alone": _ratio(together.achieved_rps, alone.achieved_rps),
            "lag_seconds_median_loaded_over_alone": _ratio(
                indexer_loaded.lag_seconds_median, indexer_alone.lag_seconds_median
            ),
        },
        "shed_share": {
            "api_alone": _share(alone.shed, alone.requests),
            "api_with_indexing": _share(together.shed, together.requests),
        },
        "keeps_up": keeps_up,
        "verdict": verdict,
    }


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _ratio(a: float, b: float) -> float | None:
    """a / b, or None (JSON null) when either is not a finite positive figure."""
    return round(a / b, 2) if b > 0 and math.isfinite(a) and math.isfinite(b) else None


def finite(value: Any) -> Any:
    """The figures with every non-finite float as None (JSON null: strict parsers refuse NaN and Infinity)."""
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return None if isinstance(value, float) and not math.isfinite(value) else value


def render(figures: dict[str, Any], console: Console) -> None:
    alone, loaded = figures["api_alone"], figures["api_with_indexing"]
    lag_alone, lag_loaded = figures["indexer_alone"], figures["indexer_with_api"]
    found = figures["capacity"]
    console.print(
        f"{figures['cores']} cores, load average {figures['load_average']}; {len(figures['routes'])} routes "
        f"in turn, {figures['connections']} connections; capacity {found['rps']:.0f} req/s ({found['generator']}, "
        f"p99 {found['p99_ms']:.1f} ms, {found['errors']} errors)",
        highlight=False,
    )
    console.print(
        f"{'API at ' + format(alone['target_rps'], '.0f') + ' req/s':<28}{'alone':>12}{'indexing':>12}{'x':>7}"
    )
    keys = ("achieved_rps", "p50_ms", "p90_ms", "p99_ms", "max_ms", "answered_p50_ms", "answered_p99_ms", "errors",
            "shed", "generator_delay_p99_ms")  # fmt: skip
    for key in keys:
        console.print(f"{key:<28}{alone[key]:>12g}{loaded[key]:>12g}{_shown(_ratio(loaded[key], alone[key])):>7}")
    console.print(f"{'indexer':<28}{'alone':>12}{'API loaded':>12}{'x':>7}")
    for key in ("blocks", "block_interval_s", "lag_blocks_median", "lag_blocks_max", "lag_seconds_median",
                "lag_seconds_max", "lag_seconds_first_third", "lag_seconds_last_third", "unstored"):  # fmt: skip
        a, b = lag_alone[key], lag_loaded[key]
        console.print(f"{key:<28}{a:>12g}{b:>12g}{_shown(_ratio(b, a)):>7}")
    console.print(figures["verdict"], highlight=False)
    usage = figures["usage"]
    variant = figures.get("variant")
    if variant:
        other = variant["api_with_indexing"]
        console.print(f"{'together, API as run / with':<28}{'as run':>12}{'variant':>12}{'x':>7}  "
                      f"variant: {', '.join(variant['api_settings'])}")  # fmt: skip
        for key in keys:
            console.print(f"{key:<28}{loaded[key]:>12g}{other[key]:>12g}{_shown(_ratio(other[key], loaded[key])):>7}")
        usage = {**usage, "together_variant": variant["usage"]}
    beside = figures.get("beside")
    if beside:
        found, other = beside["capacity"], beside["api_with_indexing"]
        console.print(f"capacity beside the indexer {found['rps']:.0f} req/s (p99 {found['p99_ms']:.1f} ms, "
                      f"{found['errors']} errors); the together phase at {other['target_rps']:.0f} req/s:")  # fmt: skip
        console.print(f"{'together at 80 % of':<28}{'quiet cap.':>12}{'beside':>12}{'x':>7}")
        for key in keys:
            console.print(f"{key:<28}{loaded[key]:>12g}{other[key]:>12g}{_shown(_ratio(other[key], loaded[key])):>7}")
        lag = beside["indexer_with_api"]
        console.print(
            f"indexer beside it: lag median {lag['lag_seconds_median']:g} s / max {lag['lag_seconds_max']:g} s, "
            f"{lag['unstored']} of {lag['blocks']} blocks unstored, keeps up: {lag['keeps_up']}"
        )
        usage = {**usage, "together_beside": beside["usage"]}
    console.print(f"{'where the time went':<28}" + "".join(f"{phase:>16}" for phase in usage))
    for key in next(iter(usage.values())):
        console.print(f"{key:<28}" + "".join(f"{u[key]:>16g}" for u in usage.values()))


def _shown(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2f}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each measured phase")
    parser.add_argument("--capacity-seconds", type=int, default=5)
    parser.add_argument("--load", type=float, default=0.8, help="share of the measured capacity sent")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--block-interval", type=float, default=2.0, help="seconds between two market blocks")
    parser.add_argument("--changes", type=int, default=200, help="trades per market block")
    parser.add_argument("--pairs", type=int, default=ScaleSize().pairs)
    parser.add_argument("--pools", type=int, default=ScaleSize().pools)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--api-setting", action="append", default=[], metavar="NAME=VALUE",
                        help="a server setting (DEFISCOPE_API_NAME), e.g. max_in_flight=100000")  # fmt: skip
    parser.add_argument(
        "--beside",
        action="store_true",
        help="then the capacity again beside the indexer, and the together phase at 80 %% of it",
    )
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=VALUE",
                        help="then the together phase again with an API also given this setting, e.g. "
                        "stale_seconds=0 (stale answers off: the baseline)")  # fmt: skip
    parser.add_argument("--warmup-blocks", type=int, default=4)
    parser.add_argument("--catch-up-timeout", type=float, default=900.0, help="first snapshot, catching up (s)")
    parser.add_argument("--drain", type=float, default=30.0, help="seconds the store gets to reach the last block")
    parser.add_argument("--worlds", type=Path, default=None, help="cached worlds (default: the data dir's)")
    parser.add_argument("--base", type=Path, default=None, help="a cached standard world to build the scale on")
    parser.add_argument("--database", default=None, help="an empty store of yours (else a temporary one on --pg)")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args(argv)
    configure()  # log lines to stderr: stdout carries only the figures
    console = Console(stderr=args.json)
    work = Path(tempfile.mkdtemp(prefix="load-indexing-"))
    try:
        with contextlib.nullcontext(args.database) if args.database else temporary_database(args.pg) as url:
            figures = measure(url, args, console, work)
    except BaseException:
        console.print(f"logs of the children kept in {work}", highlight=False)
        raise
    shutil.rmtree(work, ignore_errors=True)
    if args.json:
        sys.stdout.write(json.dumps(finite(figures), allow_nan=False) + "\n")
    else:
        render(figures, Console())


if __name__ == "__main__":
    main()
