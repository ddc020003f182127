"""`defiscope serve`: the main job.

With no RPC configured it brings up the embedded devnet (from the saved world), indexes it, prints the
TVL table, then serves the HTTP API (`--host`/`--port`, default 127.0.0.1:8000) while following new blocks,
in one event loop, until Ctrl-C or SIGTERM stops both. With `DEFISCOPE_RPC_<CHAINID>` set it indexes those
chains instead and starts no devnet. On the devnet a seeded market simulation moves prices and trades, and
the dashboard at / shows it live.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Iterator
from typing import Annotated, Final

import structlog
import typer
import uvicorn

from defiscope.analytics.rankings import rank
from defiscope.api import ApiSettings, Live, create_app
from defiscope.cli.common import app, one_line_errors, out
from defiscope.cli.tvl import print_table
from defiscope.config import load_settings
from defiscope.devnet import runfile
from defiscope.devnet.manager import Devnet
from defiscope.devnet.simulation import Simulation, SimulationConfig
from defiscope.errors import DefiscopeError
from defiscope.service.context import open_runtime
from defiscope.service.indexer import Indexer, IndexerOptions
from defiscope.service.snapshots import snapshot_and_store
from defiscope.store import Repository
from defiscope.tvl.totals import aggregate

_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)
log = structlog.get_logger(__name__)


class PortInUse(DefiscopeError):
    """The API's address cannot be bound."""


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: `serve` owns SIGINT/SIGTERM and stops indexer and API together."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    """Bind before anything starts, so a busy port is one clear error instead of uvicorn's exit."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PortInUse(f"cannot serve the API on {host}:{port}: {exc.strerror}; choose another --port") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


async def _run_api(server: uvicorn.Server, sock: socket.socket, stop: asyncio.Event) -> None:
    task = asyncio.create_task(server.serve(sockets=[sock]))
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    stopping.cancel()
    await task


async def _simulate(devnet: Devnet, stop: asyncio.Event, seed: int, every: float) -> None:
    """The devnet's market, one tick per chain every `every` seconds until stopped; a failed tick is logged."""
    sims = [Simulation(chain, SimulationConfig(seed=seed + chain.chain_id)) for chain in devnet.chains]
    for sim in sims:
        await asyncio.to_thread(sim.start)
    try:
        while not stop.is_set():
            for sim in sims:
                try:
                    await asyncio.to_thread(sim.tick)
                except Exception as exc:
                    log.warning("simulation.tick_failed", chain_id=sim.chain.chain_id, error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
    finally:
        for sim in sims:
            try:
                await asyncio.to_thread(sim.stop)
            except Exception as exc:
                log.info("simulation.stop_skipped", chain_id=sim.chain.chain_id, error=str(exc))


async def _serve(host: str, port: int, simulation: tuple[Devnet, int, float] | None) -> None:
    repo = await asyncio.to_thread(Repository.open)
    try:
        async with open_runtime(load_settings()) as runtime:
            results = await asyncio.gather(*(snapshot_and_store(e, repo) for e in runtime.engines.values()))
            infos = {a.info.slug: a.info for e in runtime.engines.values() for a in e.adapters}
            snapshots = [s for r in results for s in r.snapshots]
            print_table(
                rank(snapshots, infos, repo.snapshot_before),
                [f for r in results for f in r.failures],
                aggregate(snapshots),
            )
            indexer = Indexer(runtime.engines, repo, IndexerOptions())
            engines = runtime.engines
            live = Live(
                heads=lambda: {cid: status.head for cid, status in indexer.status().chains.items()},
                rpc=lambda: {cid: engine.client.rpc.stats() for cid, engine in engines.items()},
            )
            api = create_app(
                ApiSettings.from_env(),
                repo=repo,
                deployments=[e.deployment for e in engines.values()],
                infos=infos,
                live=live,
            )
            sock = _bind(host, port)
            server = _EmbeddedServer(uvicorn.Config(api, log_level="warning", access_log=False))
            bound = sock.getsockname()[1]
            out.print(
                f"API on http://{host}:{bound} (docs: /docs); following new blocks: Ctrl-C stops", highlight=False
            )
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in _SIGNALS:
                loop.add_signal_handler(sig, stop.set)
            try:
                tasks = [indexer.run(stop), _run_api(server, sock, stop)]
                if simulation is not None:
                    tasks.append(_simulate(simulation[0], stop, simulation[1], simulation[2]))
                await asyncio.gather(*tasks)
            finally:
                sock.close()
                for sig in _SIGNALS:
                    loop.remove_signal_handler(sig)
    finally:
        repo.close()


@app.command("serve")
@one_line_errors
def serve(
    host: Annotated[str, typer.Option("--host", help="Address the API listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port of the API.")] = 8000,
    simulate: Annotated[
        bool, typer.Option("--simulate/--no-simulate", help="On the devnet, run the seeded market simulation.")
    ] = True,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the market simulation.")] = 7,
    tick: Annotated[float, typer.Option("--tick", min=0.1, help="Seconds between market steps.")] = 2.0,
) -> None:
    """Run the main job: index the chains (the embedded devnet by default), show the TVL ranking, serve the API."""
    devnet: Devnet | None = None
    if not load_settings().chain_rpcs:
        devnet = runfile.up_attached()
    try:
        asyncio.run(_serve(host, port, (devnet, seed, tick) if devnet is not None and simulate else None))
    finally:
        if devnet is not None:
            runfile.release(devnet)
    out.print("stopped", highlight=False)
