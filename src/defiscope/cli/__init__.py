"""The `defiscope` command line: `defiscope --help` lists every command.

Each command's module is imported only when that command runs (or shows its own help), so `defiscope --help`
or a mistyped option answers without importing web3, FastAPI or SQLAlchemy. The list below is the root help's
listing, in its order; tests/cli checks it against the commands themselves.
"""

from __future__ import annotations

import logging
from typing import Annotated, Final

import typer

from defiscope.cli.lazy import LazyCommand, LazyGroup

COMMANDS: Final = (
    LazyCommand(
        "chains",
        "defiscope.cli.chains",
        "commands",
        "Check the configured RPC endpoints: chain id behind each URL, head block, latency.",
    ),
    LazyCommand(
        "methodology",
        "defiscope.cli.methodology",
        "commands",
        "What each protocol's TVL counts, how its contracts are found, and where it differs from DefiLlama.",
    ),
    LazyCommand(
        "quote",
        "defiscope.cli.quote",
        "commands",
        "Best exact-input route across V2, V3 and Curve pools (multi-hop, split), and a ready-to-sign swap.",
    ),
    LazyCommand(
        "tvl",
        "defiscope.cli.tvl",
        "commands",
        "Rank protocols by TVL, read from the chain at one block (and stored for history).",
    ),
    LazyCommand(
        "explain",
        "defiscope.cli.tvl",
        "commands",
        "Show how a protocol's TVL was obtained: block, every call, balance and price, and the sum.",
    ),
    LazyCommand(
        "serve",
        "defiscope.cli.serve",
        "commands",
        "Run the main job: index the chains (the embedded devnet by default), show the TVL ranking, serve the API.",
    ),
    LazyCommand(
        "index",
        "defiscope.cli.service",
        "commands",
        "Follow new blocks and store every protocol's snapshot, resuming after the last stored block.",
    ),
    LazyCommand(
        "backfill",
        "defiscope.cli.service",
        "commands",
        "Store a protocol's snapshots over a block range; a rerun completes an interrupted one.",
    ),
    LazyCommand(
        "worker",
        "defiscope.cli.jobs",
        "commands",
        "Run broker jobs (backfill, head-following, discovery, alert delivery, grades, indices) until Ctrl-C/SIGTERM.",
    ),
    LazyCommand(
        "scheduler",
        "defiscope.cli.jobs",
        "commands",
        "Send the periodic jobs: a head-follower per chain (a lease), outbox sweeps and retention, until Ctrl-C.",
    ),
    LazyCommand(
        "volume",
        "defiscope.cli.volume",
        "commands",
        "Swap volume and LP fees per pool per UTC day, from V2/V3 Swap and Curve TokenExchange events.",
    ),
    LazyCommand(
        "cluster",
        "defiscope.cli.cluster",
        "cluster_app",
        "A local cluster: workers, a scheduler and API processes.",
        group=True,
    ),
    LazyCommand(
        "delivery",
        "defiscope.cli.alert_delivery",
        "delivery_app",
        "Alert delivery: the outbox worker, test pings, undelivered messages.",
        group=True,
    ),
    LazyCommand("alerts", "defiscope.cli.alerts", "alerts_app", "Alert rules and their backtests.", group=True),
    LazyCommand(
        "devnet", "defiscope.cli.devnet", "devnet_app", "Local anvil chains with the protocols deployed.", group=True
    ),
    LazyCommand(
        "governance",
        "defiscope.cli.governance",
        "governance_app",
        "Governance: proposals, votes, flagged actions.",
        group=True,
    ),
    LazyCommand(
        "grades",
        "defiscope.cli.grades",
        "grades_app",
        "Trader and investor grades 0-100 with their factors, signals, and their evaluation.",
        group=True,
    ),
    LazyCommand(
        "indices",
        "defiscope.cli.indices",
        "indices_app",
        "Rule-based DeFi indices: definitions, live values and backtests.",
        group=True,
    ),
    LazyCommand("keys", "defiscope.cli.keys", "keys_app", "API keys of the HTTP API (defiscope serve).", group=True),
    LazyCommand(
        "risk",
        "defiscope.cli.risk",
        "risk_app",
        "Risk: liquidations of lending protocols, who controls a protocol's contracts, the risk score.",
        group=True,
    ),
    LazyCommand(
        "staking",
        "defiscope.cli.staking",
        "staking_app",
        "Staking and restaking: Lido APR, EigenLayer operators.",
        group=True,
    ),
    LazyCommand(
        "state",
        "defiscope.cli.state",
        "state_app",
        "DEX state followed from events: reconcile it with a full re-read.",
        group=True,
    ),
)


class RootGroup(LazyGroup):
    lazy_commands = COMMANDS


app = typer.Typer(
    name="defiscope", help="DeFi analytics read straight from EVM chains.", no_args_is_help=True, cls=RootGroup
)


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show debug logs.")] = False) -> None:
    # Imported here: structlog is not needed to list the commands.
    from defiscope import logs

    # Logs go to stderr so that stdout stays machine-readable (`info --json`).
    logs.configure(logging.DEBUG if verbose else logging.WARNING)


__all__ = ["COMMANDS", "app"]
