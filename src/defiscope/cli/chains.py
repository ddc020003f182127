"""`defiscope chains`: check the configured RPC endpoints."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from defiscope.chain.health import ChainReport, check_chains
from defiscope.cli.common import one_line_errors, out
from defiscope.config import load_settings
from defiscope.errors import DefiscopeError

#: The top-level commands of this module; the root group imports it only to run one of them.
commands = typer.Typer()


@commands.command("chains")
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
