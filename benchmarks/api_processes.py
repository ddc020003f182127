"""API requests/s of `defiscope serve --api-only` with N worker processes vs one process, same store, same run.

A PostgreSQL database filled as `api_load.py` fills its store (100 protocols, prices of 5 tokens). Three
configurations run one after the other, alternating over a few rounds, each under wrk at 64 connections:

- baseline: one process, limits and cache in the process (no Redis: today's single-process API);
- one process with Redis (shared limits: one Redis round trip per request, `api.rate_limits`; the shared cache
  level);
- `--workers 2` with Redis (both cores; the machine has 2).

    apt-get install -y wrk            # the load generator (Debian); this script installs nothing
    .venv/bin/python benchmarks/api_processes.py [--seconds 5] [--rounds 3] [--pg postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from api_load import Load, fill_store, free_port, median, wrk
from defiscope.store.scratch import scratch_database

REDIS_URL = "redis://127.0.0.1:6379/0"
PATHS = {"v1_protocols": "/v1/protocols?limit=100", "llama_protocols": "/protocols"}


def temporary_database(server_url: str) -> contextlib.AbstractContextManager[str]:
    """A fresh database on the PostgreSQL server of `server_url` for the run (its URL), dropped after."""
    return scratch_database(server_url, "defiscope_bench")


def start(env: dict[str, str], workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cmd = [str(Path(sys.executable).with_name("defiscope")), "serve", "--api-only", "--port", str(port),
           "--workers", str(workers)]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180  # a loaded 2-core machine takes a while to import and migrate
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/openapi.json", timeout=2).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit("serve --api-only did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: install it with `apt-get install -y wrk` (Debian), then run again")
    with temporary_database(args.pg) as url:
        fill_store(url)
        name = make_url(url).database
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("DEFISCOPE_")}
        base_env |= {"DEFISCOPE_DATABASE_URL": url, "DEFISCOPE_API_RATE_PER_IP": "100000000/minute"}
        shared = base_env | {"DEFISCOPE_REDIS_URL": REDIS_URL, "DEFISCOPE_API_RATE_PREFIX": f"bench-{name}"}
        variants = {
            "1 process, no Redis": (base_env, 1),
            "1 process, Redis": (shared, 1),
            "2 workers, Redis": (shared, 2),
        }
        servers: list[tuple[subprocess.Popen[bytes], str]] = []
        results: dict[str, list[Load]] = {}
        try:
            for env, workers in variants.values():  # inside the try: the ones started are stopped if one fails
                servers.append(start(env, workers))
            for label, path in PATHS.items():
                for _, base in servers:
                    wrk(base + path, 2, args.connections)  # warm-up
                runs = [[wrk(b + path, args.seconds, args.connections) for _, b in servers] for _ in range(args.rounds)]
                results[label] = [median([run[i] for run in runs]) for i in range(len(servers))]
        finally:
            for proc, _ in servers:
                proc.send_signal(signal.SIGTERM)
                proc.wait(20)
    print(f"{args.connections} connections, {args.rounds} x {args.seconds} s each (median), wrk on loopback, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"{'endpoint':<26}{'processes':<22}{'req/s':>8}{'p99 ms':>8}{'errors':>8}{'x base':>8}")
    for label, loads in results.items():
        for variant, load in zip(variants, loads, strict=True):
            print(f"{PATHS[label]:<26}{variant:<22}{load.rps:>8.0f}{load.p99_ms:>8.1f}{load.errors:>8}"
                  f"{load.rps / loads[0].rps:>8.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
