"""HTTP API throughput and latency against a minimal FastAPI endpoint serving a static body of the same size.

Both servers run as uvicorn processes on loopback (one worker each, production settings: no reload, no
access log, log level warning), one at a time, with wrk beside them at 64 connections. The store is a
SQLite file with 100 protocols (3 tokens each, two blocks of history) and the prices of 5 tokens.
The per-IP rate limit is raised for the run (one load generator = one address); everything else is the
default `ApiSettings`. The servers are measured alternately, a few rounds each, and the median run
of each is shown (other processes on a shared machine disturb single runs). Printed per endpoint:
requests/s, p50, p99, errors, and the ratios to the minimal endpoint
(targets: >= 0.7x throughput, p99 <= 1.5x, zero errors).

    apt-get install -y wrk            # the load generator (Debian); this script installs nothing
    .venv/bin/python benchmarks/api_load.py [--seconds 5] [--rounds 3] [--connections 64]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
from fastapi import FastAPI
from starlette.responses import Response

from defiscope.chain.block import BlockRef
from defiscope.deployments.mainnet import mainnet
from defiscope.protocols.base import BalanceKind
from defiscope.store import Repository
from defiscope.tvl.model import PriceQuote, ProtocolSnapshot, TokenValue

PROTOCOLS = 100
SYMBOLS = ("WETH", "USDC", "DAI", "WBTC", "LINK")
BODY_ENV = "API_LOAD_BODIES"


def minimal_app() -> FastAPI:
    """The baseline: FastAPI returning pre-serialized bytes (one route per body, read at start)."""
    app = FastAPI()
    bodies = {p.stem: p.read_bytes() for p in Path(os.environ[BODY_ENV]).glob("*.json")}

    @app.get("/static/{name}")
    async def static(name: str) -> Response:
        return Response(bodies[name], media_type="application/json")

    return app


def fill_store(url: str) -> list[str]:
    """100 protocols over two blocks, prices of 5 tokens; returns the priced tokens as chain:address."""
    eth = mainnet(1)
    repo = Repository.open(url)
    now = int(time.time())
    quotes = {}
    try:
        for n, ts in ((1000, now - 7200), (1300, now - 60)):
            block = BlockRef(1, n, "0x" + f"{n:064x}", ts)
            for i, symbol in enumerate(SYMBOLS):
                info = eth.token(symbol)
                quotes[symbol] = PriceQuote(
                    1, info.address, Decimal(1 + i * 997) + Decimal(n) / 7, "chainlink", ts, 0.99, n
                )
            repo.save_prices(quotes.values())
            for p in range(PROTOCOLS):
                tokens = []
                for k in range(3):
                    symbol = SYMBOLS[(p + k) % len(SYMBOLS)]
                    info, q = eth.token(symbol), quotes[symbol]
                    amount = (p + 1) * 10**info.decimals * (k + 3) * n
                    value = Decimal(amount) / 10**info.decimals * q.usd
                    tokens.append(TokenValue(info.address, symbol, info.decimals, BalanceKind.TVL, amount, q, value))
                repo.save_snapshot(ProtocolSnapshot(f"bench-protocol-{p:03d}", 1, block, tuple(tokens)))
    finally:
        repo.close()
    return [f"ethereum:{eth.token(s).address}" for s in SYMBOLS]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    target: str, env: dict[str, str], app_dir: str | None = None, *, quiet: bool = False
) -> tuple[subprocess.Popen[bytes], str]:
    """uvicorn serving the app factory `target` on a free port, once it answers; `quiet` drops its stderr."""
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "--factory", target, "--host", "127.0.0.1", "--port", str(port),
           "--no-access-log", "--log-level", "warning"]  # fmt: skip
    if app_dir:
        cmd += ["--app-dir", app_dir]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL if quiet else None)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(base + "/openapi.json", timeout=1)
            return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server {target} did not start")


@dataclass(frozen=True, slots=True)
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def median(loads: list[Load]) -> Load:
    """The run with the median throughput (a whole run, so its latencies belong to it)."""
    return sorted(loads, key=lambda load: load.rps)[len(loads) // 2]


def wrk(url: str, seconds: int, connections: int, script: Path | None = None) -> Load:
    """wrk's figures for `url`; `script`, a Lua file, may choose each request (e.g. a mix of paths)."""
    lua = ["-s", str(script)] if script is not None else []
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", *lua, url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Load(rps, p50, p99, errors + (int(non2xx.group(1)) if non2xx else 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs per endpoint; the median is shown")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: install it with `apt-get install -y wrk` (Debian), then run again")
    work = Path(tempfile.mkdtemp(prefix="api-load-"))
    url = f"sqlite:///{work / 'bench.db'}"
    tokens = fill_store(url)
    paths = {
        "v1_protocols": "/v1/protocols?limit=100",
        "llama_protocols": "/protocols",
        "v1_prices": "/v1/prices?tokens=" + ",".join(tokens),
    }
    env = {**os.environ, "DEFISCOPE_DATABASE_URL": url, "DEFISCOPE_API_RATE_PER_IP": "100000000/minute"}
    bodies = work / "bodies"
    bodies.mkdir()
    api, api_base = start_server("defiscope.api.app:create_app", env)
    servers = [api]
    try:
        for name, path in paths.items():
            (bodies / f"{name}.json").write_bytes(httpx.get(api_base + path).content)
        minimal, min_base = start_server(
            "api_load:minimal_app", {**env, BODY_ENV: str(bodies)}, str(Path(__file__).parent)
        )
        servers.append(minimal)
        results: dict[str, Load] = {}
        baseline: dict[str, Load] = {}
        for name, path in paths.items():
            ours, theirs = api_base + path, f"{min_base}/static/{name}"
            wrk(ours, 2, args.connections)  # warm-up: caches, connections, worker threads
            wrk(theirs, 2, args.connections)
            # Alternate the two, so load from other processes on the machine hits both alike; keep the median.
            runs = [(wrk(ours, args.seconds, args.connections), wrk(theirs, args.seconds, args.connections))
                    for _ in range(args.rounds)]  # fmt: skip
            results[name] = median([r for r, _ in runs])
            baseline[name] = median([b for _, b in runs])
    finally:
        for proc in servers:
            proc.terminate()
            proc.wait(10)
    load = os.getloadavg()[0]
    print(f"{args.connections} connections, {args.rounds} x {args.seconds} s each (median), wrk on loopback, "
          f"{os.cpu_count()} cores, load average {load:.1f}")  # fmt: skip
    print(f"{'endpoint':<34}{'bytes':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
          f"{'| min req/s':>12}{'min p99':>9}{'| x thr':>8}{'x p99':>7}")  # fmt: skip
    for name, path in paths.items():
        r, b = results[name], baseline[name]
        size = (bodies / f"{name}.json").stat().st_size
        print(f"{path[:33]:<34}{size:>8}{r.rps:>9.0f}{r.p50_ms:>9.1f}{r.p99_ms:>9.1f}{r.errors:>8}"
              f"{b.rps:>12.0f}{b.p99_ms:>9.1f}{r.rps / b.rps:>8.2f}{r.p99_ms / b.p99_ms:>7.2f}")  # fmt: skip
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
