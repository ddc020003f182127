"""What OpenTelemetry tracing costs the API: requests/s with tracing off vs on, same store, same run.

Three `defiscope serve --api-only` app processes (the worker factory, `defiscope.api.process:app_from_env`)
over one SQLite store filled as `api_load.py` fills it: one with tracing off (the default), one with
`DEFISCOPE_TRACE_EXPORTER=console` (every span built, batched and serialized to JSON; its stderr goes to
/dev/null), and one recording a tenth of the traces (`DEFISCOPE_TRACE_SAMPLE=0.1`). wrk drives them
alternately, a few rounds each, and the median run of each is shown with its ratio to tracing off. Off is
one flag check per request and per RPC call; `api_load.py` compares it to a bare FastAPI endpoint.

    apt-get install -y wrk            # the load generator (Debian); this script installs nothing
    .venv/bin/python benchmarks/tracing_cost.py [--seconds 5] [--rounds 3] [--connections 64]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from api_load import Load, fill_store, median, start_server, wrk

FACTORY = "defiscope.api.process:app_from_env"
#: The baseline first: tracing off (the default), then on with every trace recorded, then one in ten.
VARIANTS = {
    "off": {"DEFISCOPE_TRACE_EXPORTER": "off"},
    "console, all": {"DEFISCOPE_TRACE_EXPORTER": "console"},
    "console, 10 %": {"DEFISCOPE_TRACE_EXPORTER": "console", "DEFISCOPE_TRACE_SAMPLE": "0.1"},
}


def start(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    return start_server(FACTORY, env, quiet=True)  # the console exporter writes to stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: install it with `apt-get install -y wrk` (Debian), then run again")
    work = Path(tempfile.mkdtemp(prefix="tracing-cost-"))
    url = f"sqlite:///{work / 'bench.db'}"
    tokens = fill_store(url)
    paths = {"v1_protocols": "/v1/protocols?limit=100", "v1_prices": "/v1/prices?tokens=" + ",".join(tokens)}
    env = {**os.environ, "DEFISCOPE_DATABASE_URL": url, "DEFISCOPE_API_RATE_PER_IP": "100000000/minute"}
    env.pop("DEFISCOPE_REDIS_URL", None)
    servers = [start({**env, **extra}) for extra in VARIANTS.values()]
    results: dict[str, list[Load]] = {}
    try:
        for name, path in paths.items():
            for _, base in servers:
                wrk(base + path, 2, args.connections)  # warm-up: caches, connections, worker threads
            # Alternate the variants, so load from other processes hits them alike; keep each one's median.
            runs = [
                [wrk(base + path, args.seconds, args.connections) for _, base in servers] for _ in range(args.rounds)
            ]
            results[name] = [median([run[i] for run in runs]) for i in range(len(servers))]
    finally:
        for proc, _ in servers:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    print(f"{args.connections} connections, {args.rounds} x {args.seconds} s each (median), wrk on loopback, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"{'endpoint':<26}{'tracing':<18}{'req/s':>8}{'p99 ms':>8}{'errors':>8}{'x off':>7}")
    for name, loads in results.items():
        for variant, load in zip(VARIANTS, loads, strict=True):
            print(f"{paths[name][:25]:<26}{variant:<18}{load.rps:>8.0f}{load.p99_ms:>8.1f}{load.errors:>8}"
                  f"{load.rps / loads[0].rps:>7.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
