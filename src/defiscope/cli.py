"""The ``defiscope`` command line. Commands stay thin: they parse options and call library functions.

Example::

    defiscope devnet up --detach      # anvils for chains 1 and 56 keep running
    defiscope devnet info --json      # registry and RPC URLs
    defiscope devnet down

Errors print one line on stderr and exit with code 2; no traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Annotated, ParamSpec, TypeVar

import structlog
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from defiscope.chain.health import ChainReport, check_chains
from defiscope.config import load_settings
from defiscope.devnet import DEFAULT_CHAIN_IDS, runfile
from defiscope.devnet.display import render_chains
from defiscope.devnet.world import chains_to_json
from defiscope.errors import DefiscopeError

app = typer.Typer(name="defiscope", help="DeFi analytics read straight from EVM chains.", no_args_is_help=True)
devnet_app = typer.Typer(help="Local anvil chains with the protocols deployed.", no_args_is_help=True)
app.add_typer(devnet_app, name="devnet")

out = Console()
err = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show debug logs.")] = False) -> None:
    # Logs go to stderr so that stdout stays machine-readable (`info --json`).
    structlog.configure(
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG if verbose else logging.WARNING),
    )


def one_line_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a DefiscopeError into one line on stderr and exit code 2."""

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except DefiscopeError as exc:
            # escape(): messages carry "[chain 1, endpoint ...]", which Rich would take for markup.
            err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper


ChainOption = Annotated[
    list[int] | None, typer.Option("--chain", "-c", help="Chain id to start (repeatable); default 1 and 56.")
]


@devnet_app.command("up")
@one_line_errors
def devnet_up(
    chain: ChainOption = None,
    detach: Annotated[bool, typer.Option("--detach", "-d", help="Return and leave the nodes running.")] = False,
) -> None:
    """Start the devnet (deploying it on first use) and print where it listens."""
    chain_ids = tuple(chain or DEFAULT_CHAIN_IDS)
    if detach:
        info = runfile.up_detached(chain_ids)
        render_chains(out, info.chains)
        out.print("devnet runs in the background: `defiscope devnet down` stops it")
        return
    devnet = runfile.up_attached(chain_ids)
    # SIGTERM ends the wait like Ctrl-C does, so the nodes are stopped and the run file removed.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        render_chains(out, devnet.chains)
        out.print("devnet runs: Ctrl-C stops it")
        while all(node.is_running() for node in devnet.nodes):
            time.sleep(0.5)
        err.print("a devnet node stopped; shutting down")
    except KeyboardInterrupt:
        pass
    finally:
        runfile.release(devnet)
    out.print("devnet stopped")


@devnet_app.command("down")
@one_line_errors
def devnet_down() -> None:
    """Stop the devnet started by `devnet up`."""
    info = runfile.down()
    if info is None:
        out.print("no devnet runs; nothing to stop")
        return
    pids = ", ".join(str(node.pid) for node in info.nodes)
    out.print(f"devnet stopped (anvil pids {pids})")


@devnet_app.command("info")
@one_line_errors
def devnet_info(
    as_json: Annotated[bool, typer.Option("--json", help="Print the registry as JSON.")] = False,
) -> None:
    """Print the running devnet's RPC URLs, contracts, tokens and pools."""
    info = runfile.read_run()
    if as_json:
        sys.stdout.write(json.dumps(chains_to_json(info.chains), indent=2) + "\n")
    else:
        render_chains(out, info.chains)


@app.command("serve")
@one_line_errors
def serve() -> None:
    """The main job. Today: bring up the embedded devnet and keep it running until Ctrl-C."""
    devnet_up(chain=None, detach=False)


@app.command("chains")
@one_line_errors
def chains(
    as_json: Annotated[bool, typer.Option("--json", help="Print the reports as JSON.")] = False,
) -> None:
    """Check the configured RPC endpoints: chain id behind each URL, head block, latency."""
    settings = load_settings()
    if not settings.chain_rpcs:
        raise DefiscopeError(
            "no RPC endpoint configured: set DEFISCOPE_RPC_<CHAINID> (e.g. DEFISCOPE_RPC_1=https://...) "
            f"or add [chains.1] rpc = [...] to {settings.data_dir / 'config.toml'}"
        )
    reports = asyncio.run(check_chains(settings.chain_rpcs, settings.rpc))
    if as_json:
        sys.stdout.write(json.dumps([_report_json(r) for r in reports], indent=2) + "\n")
        return
    table = Table("chain", "head block", "block time (UTC)", "endpoints")
    for report in reports:
        when = datetime.fromtimestamp(report.head.timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S")
        urls = ", ".join(f"{e.url} ({e.latency_ms:.0f} ms)" for e in report.endpoints)
        table.add_row(f"{report.name} ({report.chain_id})", str(report.head.number), when, urls)
    out.print(table)


def _report_json(report: ChainReport) -> dict[str, object]:
    return {
        "chain_id": report.chain_id,
        "name": report.name,
        "head": {"number": report.head.number, "hash": report.head.hash, "timestamp": report.head.timestamp},
        "endpoints": [
            {"url": e.url, "requests": e.requests, "errors": e.errors, "latency_ms": round(e.latency_ms, 3)}
            for e in report.endpoints
        ],
    }


if __name__ == "__main__":
    app()
