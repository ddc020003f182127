"""Backfill throughput of 1, 2 and 4 worker processes behind the provider simulator (100 ms per request).

One devnet chain (chain 1) is served through `devnet.provider_proxy` with only latency added (no rate limit, so
the figure is what the workers make of a slow provider); each worker has a simulator process of its own, as a
hosted provider is not one Python thread shared by every client (one shared simulator thread, itself waiting for
a CPU on a loaded machine, capped four workers at about 2.5x). `--blocks` blocks are mined after the world's load
block; for each worker count, in the same run: a fresh PostgreSQL database, that many `defiscope worker`
processes (one job at a time each) on a RabbitMQ queue of the run's own; first four warm-up blocks, one job each
(each worker's one-time start: workers are long-lived; its time is reported as `warm_up_seconds`), then the range
sent as chunks of `--chunk` blocks, timed from the first send until the job ledger has every chunk done. The
digest is a SHA-256 of what was stored (every snapshot's block, totals and tokens, in order): it must be the same
for every worker count. Also reported: the workers' CPU seconds.

    .venv/bin/python benchmarks/scale_out.py [--json] [--blocks 96] [--chunk 4] [--slug uniswap-v2] [--repeat 1]

Target (noted, not asserted): 4 workers >= 3x one worker. The work is I/O-bound (each block waits on several
100 ms round trips), so worker processes scale past the machine's two cores.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

import pika
from sqlalchemy import text

from defiscope.devnet import Devnet, DevnetChain, runfile
from defiscope.devnet.anvil import rpc
from defiscope.devnet.manager import start_devnet
from defiscope.devnet.provider_proxy import ProviderProfile, ProviderProxy
from defiscope.logs import configure
from defiscope.service.jobs.actors import Jobs, open_broker
from defiscope.service.jobs.backfill import enqueue_backfill, wait_for_chunks
from defiscope.service.jobs.ledger import JobLedger
from defiscope.service.jobs.settings import DEFAULT_BROKER_URL, QUEUES, JobSettings
from defiscope.service.jobs.specs import BackfillChunk, backfill_chunks
from defiscope.store import Repository, create_engine

LATENCY_MS: Final = 100
WORKER_COUNTS: Final = (1, 2, 4)
TARGET: Final = 3.0
PG_SERVER: Final = os.environ.get("DEFISCOPE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BLOCK_SECONDS: Final = 12
#: Blocks before the timed range, one job each, sent first: with one message in hand per worker, each of the up to
#: four workers takes one and pays its one-time start (engine, discovery loaded, token metadata) outside the timer.
#: The same blocks in every run, so the digests compare.
WARM_UP_BLOCKS: Final = max(WORKER_COUNTS)
#: What the digest covers: the snapshot's identity and totals, then each token row, in a fixed order.
DIGEST_QUERY: Final = text(
    """
    SELECT s.slug, s.chain_id, s.block_number, s.block_hash, s.block_timestamp, s.tvl_usd, s.borrowed_usd,
           s.staking_usd, s.pool2_usd, s.unpriced_count, s.uncounted_count,
           t.ordinal, t.token, t.kind, t.amount, t.price_usd, t.value_usd, t.unpriced_reason
    FROM tvl_snapshots s LEFT JOIN snapshot_tokens t ON t.snapshot_id = s.id
    ORDER BY s.slug, s.chain_id, s.block_number, t.ordinal
    """
)


@dataclass(frozen=True, slots=True)
class Run:
    workers: int
    blocks: int
    seconds: float
    blocks_per_second: float
    result_digest: str
    warm_up_seconds: float  # the untimed first blocks, one per worker: each worker's engine built and warmed
    worker_cpu_seconds: float  # CPU the workers used in all (start, warm-up and timed range)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--blocks", type=int, default=96)
    parser.add_argument("--chunk", type=int, default=4, help="blocks per job")
    parser.add_argument("--slug", default="uniswap-v2")
    parser.add_argument("--repeat", type=int, default=1, help="runs per worker count; the fastest is kept")
    parser.add_argument("--serve-proxy", metavar="UPSTREAM", help=argparse.SUPPRESS)  # one simulator process
    args = parser.parse_args(argv)
    configure(logging.WARNING)  # logs on stderr: stdout carries the figures (JSON with --json)
    if args.serve_proxy:
        serve_proxy(args.serve_proxy)
        return
    with (
        tempfile.TemporaryDirectory(prefix="defiscope-scale-out-") as temporary,
        start_devnet((1,), show_progress=False) as devnet,  # the world cached in the caller's data dir
        ExitStack() as proxies,
    ):
        chain = devnet.chain(1)
        rpc(chain.rpc_url, "anvil_mine", [hex(args.blocks + WARM_UP_BLOCKS), hex(BLOCK_SECONDS)])
        top = int(rpc(chain.rpc_url, "eth_blockNumber"), 16)
        first = top - args.blocks + 1
        homes = []
        for i in range(max(WORKER_COUNTS)):
            url = proxies.enter_context(proxy_process(chain.rpc_url))
            homes.append(publish_run_file(Path(temporary) / f"worker{i}", devnet, chain.with_rpc_url(url)))
        runs = [
            best_of(args.repeat, lambda n=n: measure(n, args.slug, first, top, args.chunk, homes[:n]))
            for n in WORKER_COUNTS
        ]
    report(runs, as_json=args.json)


@contextmanager
def proxy_process(upstream: str) -> Iterator[str]:
    """A provider simulator in a process of its own (this script with --serve-proxy); its URL."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve-proxy", upstream], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        assert child.stdout is not None
        url = child.stdout.readline().decode().strip()
        if not url.startswith("http"):
            raise SystemExit(f"the provider simulator for {upstream} did not start")
        yield url
    finally:
        child.terminate()
        child.wait(timeout=30)


def serve_proxy(upstream: str) -> None:
    """Serve `upstream` through the simulator with LATENCY_MS per request until SIGTERM; print the URL first."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with ProviderProxy(upstream, ProviderProfile("latency", latency=LATENCY_MS / 1000)) as proxy:
        print(proxy.url, flush=True)
        stop.wait()


def publish_run_file(home: Path, devnet: Devnet, chain: DevnetChain) -> Path:
    """A data dir whose running devnet is `chain` as served by one simulator (`$DATA_DIR/devnet/run.json`)."""
    info = runfile.RunInfo(owner_pid=os.getpid(), detached=True, nodes=devnet.nodes, chains=(chain,))
    path = home / "devnet" / "run.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(info.to_json()))
    return home


def best_of(times: int, run: Callable[[], Run]) -> Run:
    """The fastest of `times` runs: the machine is shared, and other load only ever slows a run down."""
    return min((run() for _ in range(times)), key=lambda r: r.seconds)


def measure(workers: int, slug: str, first: int, top: int, chunk: int, homes: Sequence[Path]) -> Run:
    settings = JobSettings(
        broker_url=os.environ.get("DEFISCOPE_BROKER_URL", DEFAULT_BROKER_URL),
        queue_prefix=f"bench{secrets.token_hex(4)}",
    )
    with fresh_database() as url, queues_removed(settings):
        repo = Repository.open(url)
        broker = open_broker(settings)
        env = {
            **os.environ,
            "DEFISCOPE_DATABASE_URL": url,
            "DEFISCOPE_NETWORK": "devnet",
            "DEFISCOPE_BROKER_URL": settings.broker_url,
            "DEFISCOPE_JOBS_QUEUE_PREFIX": settings.queue_prefix,
        }
        command = [sys.executable, "-m", "defiscope.cli", "worker", "--queues", "backfill", "--concurrency", "1"]
        children = [
            subprocess.Popen(command, env={**env, "DEFISCOPE_DATA_DIR": str(home)}, stderr=subprocess.DEVNULL)
            for home in homes
        ]
        try:
            wait_for_consumers(settings, workers)
            ledger = JobLedger(repo.engine)
            send = Jobs(broker, settings).backfill_chunk.send
            warm = backfill_chunks(1, slug, first - WARM_UP_BLOCKS, first - 1, step=1, chunk=1)
            warm_seconds = run_chunks(send, ledger, warm, settings)
            seconds = run_chunks(send, ledger, backfill_chunks(1, slug, first, top, step=1, chunk=chunk), settings)
            with repo.engine.connect() as conn:
                digest = hashlib.sha256(repr(conn.execute(DIGEST_QUERY).all()).encode()).hexdigest()
            cpu = sum(cpu_seconds(child.pid) for child in children)
        finally:
            for child in children:
                child.terminate()
            for child in children:
                child.wait(timeout=60)
            broker.close()
            repo.close()
    blocks = top - first + 1
    return Run(
        workers,
        blocks,
        round(seconds, 3),
        round(blocks / seconds, 3),
        digest,
        round(warm_seconds, 3),
        round(cpu, 2),
    )


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far (Linux: /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_chunks(
    send: Callable[[dict[str, object]], object], ledger: JobLedger, chunks: list[BackfillChunk], settings: JobSettings
) -> float:
    """Send the chunks, wait until every one is done; the seconds that took."""
    started = time.perf_counter()
    enqueue_backfill(send, ledger, chunks)
    outcome = wait_for_chunks(ledger, chunks, retries=settings.chunk_retries, timeout=1800)
    if outcome.failed:
        raise SystemExit(f"chunks failed: {outcome.failed}")
    return time.perf_counter() - started


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new PostgreSQL database for one run, dropped after it."""
    admin = create_engine(PG_SERVER)
    name = f"defiscope_bench_{secrets.token_hex(4)}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def queues_removed(settings: JobSettings) -> Iterator[None]:
    try:
        yield
    finally:
        connection = pika.BlockingConnection(pika.URLParameters(settings.broker_url))
        channel = connection.channel()
        for queue in QUEUES:
            for suffix in ("", ".DQ", ".XQ"):
                channel.queue_delete(settings.queue(queue) + suffix)
        connection.close()


def wait_for_consumers(settings: JobSettings, count: int, within: float = 120.0) -> None:
    """Until `count` workers consume the backfill queue (so the timer starts with every worker up)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        connection = pika.BlockingConnection(pika.URLParameters(settings.broker_url))
        try:
            declared = connection.channel().queue_declare(settings.queue("backfill"), passive=True)
            if declared.method.consumer_count >= count:
                return
        except pika.exceptions.ChannelClosedByBroker:
            pass  # not declared yet
        finally:
            if connection.is_open:
                connection.close()
        time.sleep(0.2)
    raise SystemExit(f"{count} workers did not start consuming within {within:.0f} s")


def report(runs: Sequence[Run], *, as_json: bool) -> None:
    base = runs[0].blocks_per_second
    same = len({r.result_digest for r in runs}) == 1
    if as_json:
        print(json.dumps({"latency_ms": LATENCY_MS, "runs": [asdict(r) for r in runs]}))
    else:
        print(f"backfill behind a provider with {LATENCY_MS} ms per request")
        for r in runs:
            print(
                f"  {r.workers} worker(s): {r.blocks} blocks in {r.seconds:.1f} s = {r.blocks_per_second:.2f} blocks/s"
                f"  ({r.blocks_per_second / base:.2f}x one worker)  digest {r.result_digest[:16]}"
            )
        four = runs[-1].blocks_per_second / base
        print(f"  target {runs[-1].workers} workers >= {TARGET}x one worker: {'met' if four >= TARGET else 'NOT met'}")
    if not same:
        raise SystemExit("the stored results differ between runs: " + ", ".join(r.result_digest for r in runs))


if __name__ == "__main__":
    main()
