"""`defiscope serve`: the main job.

With no RPC configured it brings up the embedded devnet (from the saved world), binds the HTTP API
(`--host`/`--port`, default 127.0.0.1:8000), then takes the first snapshot of every chain (discovery runs in
it: minutes at mainnet's size) and prints the TVL table, then follows new blocks, all in one event loop, until
Ctrl-C or SIGTERM stops them. The API answers from the start: /v1/health and the dashboard show each chain's
progress (`service.progress`: discovering, catching up, following; percent and ETA), data endpoints what the
store holds. With `DEFISCOPE_RPC_<CHAINID>` set it indexes those
chains instead and starts no devnet. On the devnet a seeded market simulation moves prices and trades, and
the dashboard at / shows it live.

A second `serve` on the same data dir resumes where the first stopped. On a clean stop (Ctrl-C, SIGTERM)
the simulation stops, the indexer catches up with the head, and the devnet is saved in the data dir
(`devnet.persist`); the next start continues that chain (same blocks and hashes) and the indexer continues
after the last stored block (`Indexer.resume`), with a progress bar when far behind. If the store's
history does not continue on the devnet (saved devnet removed or damaged, or the last serve was killed
before saving), `serve` stops with exit 2 and touches nothing; `--reset` drops that history and starts anew.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import replace
from typing import Annotated, Final

import structlog
import typer
import uvicorn
from fastapi import FastAPI
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from defiscope import tracing
from defiscope.alerts.delivery.settings import DeliverySettings
from defiscope.alerts.delivery.worker import open_worker
from defiscope.alerts.outbox import OutboxSink
from defiscope.alerts.stream import StreamHub
from defiscope.alerts.wakeup import Bell
from defiscope.analytics.rankings import rank
from defiscope.api import ApiSettings, Live, create_app
from defiscope.api.alerts import indexer_pools
from defiscope.api.context import ChainProgress
from defiscope.api.quotes import quote_chains, share_dex_states
from defiscope.chain.feed import LogFeed
from defiscope.cli.api_only import ApiProcessesRefused, serve_api_only
from defiscope.cli.common import err, on_signals, one_line_errors, out
from defiscope.cli.devnet_save import save_devnet
from defiscope.cli.tvl import print_table
from defiscope.config import Settings, load_settings
from defiscope.devnet import runfile
from defiscope.devnet.fast_forward import WarpedMarket
from defiscope.devnet.manager import Devnet
from defiscope.devnet.provider_proxy import PROFILES, Faults, profile, serve_through_simulator
from defiscope.devnet.simulation import DEFAULT_TICK_SECONDS
from defiscope.errors import DefiscopeError
from defiscope.memory import release_free_heap
from defiscope.protocols.base import ProtocolInfo
from defiscope.service.block_hooks import IndexHooks, index_hooks
from defiscope.service.context import Runtime, open_runtime, resolve_targets
from defiscope.service.indexer import ChainStatus, Indexer, IndexerOptions
from defiscope.service.progress import SyncBoard, SyncProgress, SyncWatcher
from defiscope.service.resume import open_devnet
from defiscope.service.snapshots import snapshot_and_store
from defiscope.store import Repository
from defiscope.tvl.engine import ChainTvl, TvlEngine
from defiscope.tvl.totals import aggregate

#: The top-level commands of this module; the root group imports it only to run one of them.
commands = typer.Typer()

#: Blocks behind at the start worth a progress bar while the indexer catches up.
LARGE_BACKLOG: Final = 50
#: Seconds the first snapshot may take before the terminal shows a discovery bar per chain.
DISCOVERY_BAR_AFTER: Final = 1.0
#: At most this long to index up to the head before the devnet is saved (the rest is a gap next time).
DRAIN_SECONDS: Final = 60.0
log = structlog.get_logger(__name__)


class PortInUse(DefiscopeError):
    """The API's address cannot be bound."""


class ResetNeedsDevnet(DefiscopeError):
    """`--reset` asked while serving configured RPC endpoints (there is no devnet to reset)."""


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


async def _run_api(server: uvicorn.Server, sock: socket.socket, stop: asyncio.Event, streams: StreamHub) -> None:
    task = asyncio.create_task(server.serve(sockets=[sock]))
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    streams.close()  # uvicorn waits for open responses: live alert streams end first
    server.should_exit = True
    stopping.cancel()
    await task


async def _simulate(devnet: Devnet, stop: asyncio.Event, seed: int, every: float) -> None:
    """The devnet's market, one tick per chain every `every` seconds until stopped; a failed tick is logged."""
    sims = [(await asyncio.to_thread(WarpedMarket.open, chain, seed=seed)).simulation for chain in devnet.chains]
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


async def _stopped(stop: asyncio.Event, seconds: float) -> bool:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()


async def _show_catch_up(indexer: Indexer, stop: asyncio.Event) -> None:
    """A progress bar per chain that resumed at least LARGE_BACKLOG blocks behind, until caught up or stopped."""
    while any(chain.resuming for chain in indexer.chains.values()):  # each chain's first step sizes its backlog
        if await _stopped(stop, 0.25):
            return
    behind = {
        chain_id: catch_up
        for chain_id, chain in indexer.chains.items()
        if (catch_up := chain.chain_status.catch_up) is not None and catch_up.total >= LARGE_BACKLOG
    }
    if not behind:
        return
    columns = (TextColumn("catching up {task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err) as progress:
        bars = {chain_id: progress.add_task(f"chain {chain_id}", total=c.total) for chain_id, c in behind.items()}
        while True:
            for chain_id, catch_up in behind.items():
                progress.update(bars[chain_id], completed=catch_up.done)
            if all(c.done >= c.total for c in behind.values()) or await _stopped(stop, 0.25):
                return


async def _drain(indexer: Indexer) -> None:
    """Index up to the head before the devnet is saved (a resumed node serves the head's state only);
    a second Ctrl-C skips it, and what is left becomes a gap the next start reports."""
    out.print("indexing up to the head before saving the devnet (Ctrl-C again skips)", highlight=False)
    skip = asyncio.Event()
    with on_signals(skip.set):
        draining = asyncio.create_task(indexer.drain(DRAIN_SECONDS))
        skipping = asyncio.create_task(skip.wait())
        await asyncio.wait({draining, skipping}, return_when=asyncio.FIRST_COMPLETED)
        skipping.cancel()
        if not draining.done():
            draining.cancel()
            log.warning("serve.drain_skipped")
        with contextlib.suppress(asyncio.CancelledError):
            await draining


async def _cancel_background(hooks: IndexHooks, stop: asyncio.Event) -> None:
    """On stop, the risk scoring still running is cancelled at once: under a slow provider it holds the request
    budget the last step and the drain wait for (a minute on the `free` profile); the next start scores again."""
    await stop.wait()
    await hooks.risk.cancel()


async def _save(devnet: Devnet) -> None:
    await save_devnet(
        devnet, run="serve", report=out, on_signal=lambda: log.warning("serve.saving_devnet_ignores_signal")
    )


async def _serve(
    repo: Repository,
    host: str,
    port: int,
    devnet: Devnet | None,
    simulation: tuple[int, float] | None,
    hosted: Sequence[str] = (),
) -> None:
    try:
        async with open_runtime(_as_hosted(load_settings(), hosted)) as runtime:
            await _serve_runtime(runtime, repo, host, port, devnet, simulation)
    finally:
        if devnet is not None:
            await _save(devnet)


def _as_hosted(settings: Settings, urls: Sequence[str]) -> Settings:
    """``urls`` (the provider simulator's, on loopback) read with a hosted provider's default limits
    (`[rpc.limits]`), as the URL of the provider it stands for would be, not as a local node's (none)."""
    if not urls:
        return settings
    endpoints = {**{url: settings.rpc.limits for url in urls}, **settings.rpc.endpoints}
    return replace(settings, rpc=replace(settings.rpc, endpoints=endpoints))


async def _first_snapshot(engine: TvlEngine, repo: Repository, watcher: SyncWatcher) -> ChainTvl | None:
    """Store one chain's TVL at its head (discovery runs in it); None if it failed: the indexer retries it.

    The chain moves on while this runs (minutes on mainnet at first): a chain that did not resume older history
    is followed from this block on, so the blocks mined meanwhile are caught up, not skipped. The block itself is
    indexed again (idempotent, and cheap once discovery is done) so that the per-block work (oracle reports) runs
    for it as for every other."""
    chain_id = engine.client.chain_id
    follower = watcher.indexer.chains[chain_id]
    try:
        head = await engine.client.block("latest")
        # /v1/health shows this head beside the block stored from it, before the follower's first step.
        follower.chain_status.head, follower.chain_status.head_time = head.number, head.timestamp
        watcher.discovering(chain_id, engine.adapters, head.number)
        result = await snapshot_and_store(engine, repo, head.number)
    except DefiscopeError as exc:
        log.warning("serve.first_snapshot_failed", chain_id=chain_id, error=str(exc))
        err.print(
            f"[yellow]chain {chain_id}: the first snapshot failed ({escape(str(exc))}); the indexer retries[/yellow]",
            highlight=False,
        )
        return None
    if follower.cursor is None:
        follower.resume_after(result.block.number - 1)
    watcher.stored(chain_id)
    return result


async def _first_table(
    runtime: Runtime, repo: Repository, watcher: SyncWatcher, infos: dict[str, ProtocolInfo]
) -> None:
    """Store and print every chain's TVL at the head (while the API already answers, /v1/health `syncing`)."""
    results = await asyncio.gather(*(_first_snapshot(e, repo, watcher) for e in runtime.engines.values()))
    stored = [r for r in results if r is not None]
    if not stored:
        return
    snapshots = [s for r in stored for s in r.snapshots]
    print_table(
        rank(snapshots, infos, repo.tvl_before),
        [f for r in stored for f in r.failures],
        aggregate(snapshots),
    )


async def _show_discovery(board: SyncBoard, first: asyncio.Task[None]) -> None:
    """A bar per chain while its first snapshot discovers, once that takes longer than DISCOVERY_BAR_AFTER."""
    await asyncio.wait({first}, timeout=DISCOVERY_BAR_AFTER)
    if first.done():
        return
    columns = (TextColumn("discovering {task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err) as progress:
        bars = {chain_id: progress.add_task(f"chain {chain_id}", total=None) for chain_id in sorted(board.chains)}
        while not first.done():
            for chain_id, view in board.view().items():
                if chain_id in bars and view.phase == "discovering":
                    progress.update(bars[chain_id], completed=view.done, total=view.total or None)
                elif chain_id in bars:
                    progress.update(bars[chain_id], completed=1, total=1)
            await asyncio.wait({first}, timeout=0.25)


async def _index(
    runtime: Runtime,
    repo: Repository,
    indexer: Indexer,
    watcher: SyncWatcher,
    infos: dict[str, ProtocolInfo],
    stop: asyncio.Event,
) -> bool:
    """The first snapshot of every chain and its table, then follow the chains; the API answers meanwhile.
    Returns False when stopped during the first snapshot."""
    first = asyncio.create_task(_first_table(runtime, repo, watcher, infos))
    shown = asyncio.create_task(_show_discovery(watcher.board, first))
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({first, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if not first.done():
        first.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await first
    await shown  # ends with the first snapshot
    if first.cancelled():
        log.info("serve.stopped_during_first_snapshot")
        return False
    first.result()
    _freeze_first_state()
    await asyncio.gather(indexer.run(stop), _show_catch_up(indexer, stop))
    return True


def _freeze_first_state() -> None:
    """The first snapshots' state (pools, holdings, cursors, token book: millions of objects at mainnet's size)
    lives as long as `serve`: moved out of the collector's reach (`gc.freeze`), so that its full passes stop
    walking it (`benchmarks/mainnet_scale.py` measures the per-block time both ways). Collected first, so that
    no garbage is frozen with it; then the heap's free pages (the first snapshot's parsed JSON) go back to the
    system (`memory.release_free_heap`: half the resident-set growth at 56,050 pools)."""
    gc.collect()
    gc.freeze()
    release_free_heap()


def _progress(status: ChainStatus, sync: SyncProgress | None) -> ChainProgress:
    return ChainProgress(
        head_time=status.head_time,
        last_indexed=status.last_indexed,
        last_error=status.last_error,
        failing_since=status.failing_since,
        sync=sync,
    )


def _api(
    runtime: Runtime,
    repo: Repository,
    indexer: Indexer,
    board: SyncBoard,
    infos: dict[str, ProtocolInfo],
    streams: StreamHub,
) -> FastAPI:
    engines = runtime.engines

    def progress() -> dict[int, ChainProgress]:
        # Also read from API worker threads (503 syncing answers): only the fixed map of chains is iterated.
        syncs = board.view()
        return {cid: _progress(chain.chain_status, syncs.get(cid)) for cid, chain in indexer.chains.items()}

    live = Live(
        heads=lambda: {cid: status.head for cid, status in indexer.status().chains.items()},
        rpc=lambda: {cid: engine.client.rpc.stats() for cid, engine in engines.items()},
        gaps=lambda: {
            cid: [(g.from_block, g.to_block, g.blocks, g.reason) for g in status.gaps]
            for cid, status in indexer.status().chains.items()
        },
        progress=progress,
    )
    quoting = quote_chains(engines)  # /v1/quote reads on clients of its own
    return create_app(
        ApiSettings.from_env(),
        repo=repo,
        deployments=[e.deployment for e in engines.values()],
        infos=infos,
        live=live,
        quoting=quoting,
        alert_stream=streams,
        snapshot=load_settings().snapshot,
        pools=indexer_pools(engines, quoting),  # pool-scope backtests: the indexer's discovery, on those clients
    )


async def _serve_runtime(
    runtime: Runtime,
    repo: Repository,
    host: str,
    port: int,
    devnet: Devnet | None,
    simulation: tuple[int, float] | None,
) -> None:
    for engine in runtime.engines.values():  # the indexer and /v1/quote read a block's logs once
        engine.feed = engine.feed or LogFeed(engine.client.chain_id)
    # One DEX state per chain, advanced by the indexer's snapshots and read by /v1/quote (no copy of its own).
    share_dex_states(runtime.engines)
    streams, delivery_bell = StreamHub(), Bell()
    # Rule evaluation hands alerts to this sink inside its transaction; the commit rings the delivery worker and
    # the live streams, which look at once instead of at their next poll.
    alert_sink = OutboxSink(bells=(delivery_bell, streams.bell))
    settings = load_settings()
    # `index`'s hooks (alerts around the grades publisher, risk scoring in the background), plus the indices, which
    # follow the stored blocks on their own thread (service/indices.py: a tracker per index and chain).
    targets = resolve_targets(settings, list(runtime.engines))
    hooks = index_hooks(repo, runtime.engines, settings, alert_sink=alert_sink, index_targets=targets)
    indexer = Indexer(runtime.engines, repo, IndexerOptions(), hooks=hooks.hooks)
    # Before the first table stores the head: the resume point is the last block stored before this start.
    for chain_id, block in sorted((await indexer.resume()).items()):
        out.print(f"chain {chain_id}: indexing resumes after stored block {block.number}", highlight=False)
    watcher = SyncWatcher(SyncBoard(), indexer)
    infos = {a.info.slug: a.info for e in runtime.engines.values() for a in e.adapters}
    # The API first: health, docs, the dashboard and what the store holds answer while discovery runs.
    sock = _bind(host, port)
    server = _EmbeddedServer(
        uvicorn.Config(
            _api(runtime, repo, indexer, watcher.board, infos, streams), log_level="warning", access_log=False
        )
    )
    out.print(
        f"API on http://{host}:{sock.getsockname()[1]} (docs: /docs; /v1/health shows indexing progress); "
        "following new blocks: Ctrl-C stops",
        highlight=False,
    )
    stop = asyncio.Event()
    try:
        with on_signals(stop.set):
            async with open_worker(repo.engine, DeliverySettings.from_env(), bell=delivery_bell) as deliveries:
                indexing = _index(runtime, repo, indexer, watcher, infos, stop)
                tasks = [
                    indexing,
                    _run_api(server, sock, stop, streams),
                    watcher.run(stop),
                    deliveries.run(stop),
                    _cancel_background(hooks, stop),
                ]
                if devnet is not None and simulation is not None:
                    tasks.append(_simulate(devnet, stop, *simulation))
                followed = (await asyncio.gather(*tasks))[0]
    finally:
        sock.close()
    # Stopped during the first snapshot: no drain (it would be that whole snapshot again); what the simulation
    # mined meanwhile becomes a gap the next start reports.
    if devnet is not None and followed:
        await _drain(indexer)
    await hooks.finish(catch_up=False)  # the index run in progress; the risk scoring still running is cancelled


@commands.command("serve")
@one_line_errors
def serve(
    host: Annotated[str, typer.Option("--host", help="Address the API listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port of the API.")] = 8000,
    simulate: Annotated[
        bool, typer.Option("--simulate/--no-simulate", help="On the devnet, run the seeded market simulation.")
    ] = True,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the market simulation.")] = 7,
    tick: Annotated[
        float, typer.Option("--tick", min=0.1, help="Seconds between market steps.")
    ] = DEFAULT_TICK_SECONDS,
    reset: Annotated[
        bool,
        typer.Option(
            "--reset",
            help="Drop all the store holds for chains 1 and 56 and the saved devnet; start a fresh world.",
        ),
    ] = False,
    provider_limits: Annotated[
        str | None,
        typer.Option(
            "--provider-limits",
            help=f"On the devnet, read through a provider simulator with this profile ({', '.join(PROFILES)}).",
        ),
    ] = None,
    api_only: Annotated[
        bool,
        typer.Option(
            "--api-only",
            help="Serve the API only (no devnet, no indexer) over the configured store; see --workers.",
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            help="With --api-only: API processes behind the port (more than 1 needs PostgreSQL and Redis).",
        ),
    ] = 1,
) -> None:
    """Run the main job: index the chains (the embedded devnet by default), show the TVL ranking, serve the API."""
    if api_only:
        if reset or provider_limits is not None:
            raise ApiProcessesRefused("--reset and --provider-limits are for the indexer; --api-only runs none")
        # A busy port is one line, not N workers failing (checked after the configuration, before any worker).
        serve_api_only(host, port, workers, check_port=lambda: _bind(host, port).close())
        return
    if workers != 1:
        raise ApiProcessesRefused("--workers is for --api-only: the embedded serve is one process")
    on_devnet = not load_settings().chain_rpcs
    traces = tracing.TraceSettings.from_env()
    tracing.check(traces)
    if reset and not on_devnet:
        raise ResetNeedsDevnet("--reset is for the embedded devnet; with DEFISCOPE_RPC_<CHAINID> set there is none")
    plan = profile(provider_limits) if provider_limits is not None else None
    repo = Repository.open()
    try:
        devnet = open_devnet(repo, reset=reset) if on_devnet else None
        try:
            with ExitStack() as proxies:
                hosted: tuple[str, ...] = ()
                if devnet is not None and plan is not None:
                    # The indexer and API read through the simulator; the market simulation writes directly.
                    served = serve_through_simulator(devnet.chains, plan, Faults(), proxies)
                    runfile.publish(devnet, served)
                    hosted = tuple(chain.rpc_url for chain in served)
                tracing.configure(traces)  # API requests and RPC calls (the indexer's are roots of their own)
                try:
                    asyncio.run(_serve(repo, host, port, devnet, (seed, tick) if simulate else None, hosted))
                finally:
                    tracing.shutdown()
        finally:
            if devnet is not None:
                runfile.release(devnet)
    finally:
        repo.close()
    out.print("stopped", highlight=False)
