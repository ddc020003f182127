"""`defiscope index` and `defiscope backfill`: fill the store from the chains.

defiscope index                          # follow every configured chain until Ctrl-C / SIGTERM
defiscope index --chain 1 --every 10 --once
defiscope backfill uniswap-v2 --from-block 19000000 --to-block 19010000 --step 100 --json
defiscope backfill uniswap-v2 --from-block 19000000 --to-block 19010000 --chunk 500 --wait  # on `defiscope worker`s

`--network devnet` (env DEFISCOPE_NETWORK) reads the running devnet even when RPC endpoints are configured.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from collections.abc import Mapping
from typing import Annotated, Final

import structlog
import typer

from defiscope import logs
from defiscope.cli.common import block_progress, err, one_line_errors, out
from defiscope.config import load_settings
from defiscope.service.backfill import (
    DEFAULT_CONCURRENCY,
    BackfillInputError,
    BackfillResult,
    backfill,
    check_arguments,
    check_head,
)
from defiscope.service.block_hooks import index_hooks
from defiscope.service.context import NETWORK_ENV, NETWORKS, Network, NoChainsConfigured, open_runtime
from defiscope.service.indexer import IndexedBlock, Indexer, IndexerOptions
from defiscope.service.jobs.specs import BackfillChunk, backfill_chunks
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine

#: The top-level commands of this module; the root group imports it only to run one of them.
commands = typer.Typer()

NetworkOption = Annotated[
    str,
    typer.Option(
        "--network",
        envvar=NETWORK_ENV,
        help="Where to read: auto (RPC endpoints if configured, else the running devnet), mainnet or devnet.",
    ),
]
CHAIN_HELP: Final = "Chain id or name (needed when the protocol runs on several chains)."
_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)
log = structlog.get_logger(__name__)


@commands.command("index")
@one_line_errors
def index(
    chain: Annotated[list[str] | None, typer.Option("--chain", "-c", help="Chain id or name (repeatable).")] = None,
    every: Annotated[int, typer.Option("--every", help="Index blocks whose number is a multiple of N.")] = 1,
    once: Annotated[bool, typer.Option("--once", help="Index each chain's current head once and exit.")] = False,
    poll_interval: Annotated[
        float | None, typer.Option("--poll-interval", help="Seconds between head polls (default: block time).")
    ] = None,
    network: NetworkOption = "auto",
) -> None:
    """Follow new blocks and store every protocol's snapshot, resuming after the last stored block."""
    options = IndexerOptions(every=every, poll_interval=poll_interval)
    if not once:
        _show_block_logs()
    indexed = asyncio.run(_index(chain, options, _network(network), once=once))
    for block in indexed:
        out.print(
            f"chain {block.block.chain_id} block {block.block.number} ({block.block.hash}): "
            f"stored {', '.join(block.stored) or 'nothing'}",
            highlight=False,
            soft_wrap=True,
        )
        for failure in block.failures:
            err.print(
                f"[yellow]warning:[/yellow] {failure.slug} not stored: {failure.reason}",
                highlight=False,
                soft_wrap=True,
            )


@commands.command("backfill")
@one_line_errors
def backfill_command(
    slug: Annotated[str, typer.Argument(help="Protocol slug, e.g. uniswap-v2.")],
    from_block: Annotated[int, typer.Option("--from-block", help="First block.")],
    to_block: Annotated[int, typer.Option("--to-block", help="Last block (inclusive).")],
    step: Annotated[int, typer.Option("--step", help="Every STEP-th block from --from-block.")] = 1,
    chain: Annotated[str | None, typer.Option("--chain", "-c", help=CHAIN_HELP)] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", help=f"Blocks computed at once (default {DEFAULT_CONCURRENCY}).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary on stdout.")] = False,
    network: NetworkOption = "auto",
    chunk: Annotated[
        int | None,
        typer.Option("--chunk", help="Send the range to `defiscope worker`s as jobs of N blocks each (no local work)."),
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="With --chunk: wait until the workers are done.")] = False,
) -> None:
    """Store a protocol's snapshots over a block range; a rerun completes an interrupted one."""
    if chunk is not None:
        from defiscope.cli.jobs import enqueue_chunks  # the broker's client only when jobs are asked for

        chunks = asyncio.run(_chunks(slug, from_block, to_block, step, chunk, chain, _network(network)))
        enqueue_chunks(chunks, wait=wait, quiet=as_json)
        return
    if wait:
        raise BackfillInputError("--wait needs --chunk (without it the backfill runs here and is waited for)")
    result = asyncio.run(
        _backfill(slug, from_block, to_block, step, chain, concurrency, _network(network), quiet=as_json)
    )
    if as_json:
        sys.stdout.write(json.dumps(result.to_json()) + "\n")
        return
    out.print(
        f"{result.slug} on chain {result.chain_id}: stored {result.stored} blocks, skipped {result.skipped} "
        f"already stored, in {result.seconds:.1f} s ({result.blocks_per_second:.1f} blocks/s)",
        highlight=False,
        soft_wrap=True,
    )


def _show_block_logs() -> None:
    """A following indexer's output is its per-block log lines (INFO): show them unless -v shows more."""
    if structlog.get_logger().bind().get_effective_level() > logging.INFO:
        logs.configure(logging.INFO)


def _network(value: str) -> Network:
    for network in NETWORKS:
        if value == network:
            return network
    raise NoChainsConfigured(f"unknown network {value!r}; choose one of {', '.join(NETWORKS)}")


async def _index(
    chains: list[str] | None, options: IndexerOptions, network: Network, *, once: bool
) -> list[IndexedBlock]:
    repo = await asyncio.to_thread(Repository.open)
    try:
        settings = load_settings()
        async with open_runtime(settings, chains, network=network) as runtime:
            hooks = index_hooks(repo, runtime.engines, settings)
            indexer = Indexer(runtime.engines, repo, options, hooks=hooks.hooks)
            if once:
                indexed = await indexer.run_once()
                await hooks.idle()
                return indexed
            # Follow on from the last stored block of each chain, so a restart leaves no hole in the history.
            for chain_id, block in sorted((await indexer.resume()).items()):
                log.info("indexer.resumed", chain_id=chain_id, after_block=block.number)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in _SIGNALS:
                loop.add_signal_handler(sig, stop.set)
            try:
                await indexer.run(stop)
            finally:
                for sig in _SIGNALS:
                    loop.remove_signal_handler(sig)
            await hooks.idle()
            return []
    finally:
        repo.close()


async def _backfill(
    slug: str,
    from_block: int,
    to_block: int,
    step: int,
    chain: str | None,
    concurrency: int | None,
    network: Network,
    *,
    quiet: bool,
) -> BackfillResult:
    settings = load_settings()
    repo = await asyncio.to_thread(Repository.open)
    try:
        async with open_runtime(settings, None if chain is None else [chain], network=network) as runtime:
            engine = _engine_for(runtime.engines, slug)
            workers = concurrency or min(DEFAULT_CONCURRENCY, settings.rpc.max_concurrency)
            with block_progress("backfill", disable=quiet) as report:
                return await backfill(
                    engine, repo, slug, from_block, to_block, step, concurrency=workers, on_progress=report
                )
    finally:
        repo.close()


async def _chunks(
    slug: str, from_block: int, to_block: int, step: int, chunk: int, chain: str | None, network: Network
) -> list[BackfillChunk]:
    """The range's chunks, once the input is known to be good (the protocol, the range, the head)."""
    async with open_runtime(load_settings(), None if chain is None else [chain], network=network) as runtime:
        engine = _engine_for(runtime.engines, slug)
        check_arguments(engine, slug, from_block, to_block, step, 1)
        await check_head(engine, to_block)
        return backfill_chunks(engine.client.chain_id, slug, from_block, to_block, step=step, chunk=chunk)


def _engine_for(engines: Mapping[int, TvlEngine], slug: str) -> TvlEngine:
    """The one chain that runs `slug` (with --chain there is only one chain to choose from)."""
    having = [engine for engine in engines.values() if slug in engine.slugs]
    if len(having) == 1:
        return having[0]
    if having:
        chains = ", ".join(str(e.client.chain_id) for e in having)
        raise BackfillInputError(f"{slug} runs on chains {chains}: pick one with --chain")
    if len(engines) == 1:
        return next(iter(engines.values()))  # backfill() names the protocols this chain has
    known = ", ".join(sorted({s for e in engines.values() for s in e.slugs})) or "none"
    raise BackfillInputError(f"unknown protocol {slug!r}; known: {known}")
