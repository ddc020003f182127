"""`defiscope devnet ...`: local anvil chains with the protocols deployed.

defiscope devnet up --detach      # anvils for chains 1 and 56 keep running
defiscope devnet info --json      # registry and RPC URLs
defiscope devnet down
"""

from __future__ import annotations

import json
import signal
import sys
import time
from typing import Annotated

import typer

from defiscope.cli.common import app, err, one_line_errors, out
from defiscope.devnet import DEFAULT_CHAIN_IDS, runfile
from defiscope.devnet.display import render_chains
from defiscope.devnet.simulation import SimulationConfig, run_simulations
from defiscope.devnet.world import chains_to_json

devnet_app = typer.Typer(help="Local anvil chains with the protocols deployed.", no_args_is_help=True)
app.add_typer(devnet_app, name="devnet")


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


@devnet_app.command("simulate")
@one_line_errors
def devnet_simulate(
    ticks: Annotated[
        int, typer.Option("--ticks", "-n", min=1, help="Market steps to run (each mines ~20 blocks).")
    ] = 10,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same chain.")] = 7,
    chain: ChainOption = None,
) -> None:
    """Run the seeded market simulation on the running devnet: feeds move, arbitrage, trades, LPs."""
    info = runfile.read_run()
    chains = [c for c in info.chains if not chain or c.chain_id in chain]
    reports = run_simulations(chains, SimulationConfig(seed=seed), ticks)
    for c, chain_reports in zip(chains, reports, strict=True):
        last = chain_reports[-1]
        moves = ", ".join(f"{pair} {float(price):,.2f}" for pair, price in sorted(last.prices.items())[:4])
        out.print(f"{c.name}: {ticks} ticks to block {last.last_block} ({last.regime}); {moves}", highlight=False)
