"""`defiscope devnet ...`: local anvil chains with the protocols deployed.

defiscope devnet up --detach      # anvils for chains 1 and 56 keep running
defiscope devnet up --world scale --scale-changes 200   # chain 1 with 51,040 V2 pairs and 5,000 V3 pools, trading
defiscope devnet up --provider-limits free --fault-rate 0.02   # each anvil behind a provider simulator
defiscope devnet info --json      # registry and RPC URLs
defiscope devnet simulate --ticks 20              # the market on the running devnet
defiscope devnet simulate --days 30 --seed 7      # the data dir's devnet fast-forwarded 30 days, indexed, saved
defiscope devnet down
"""

from __future__ import annotations

import json
import signal
import sys
import time
from contextlib import ExitStack
from typing import Annotated, Final

import typer

from defiscope.cli.common import err, one_line_errors, out
from defiscope.devnet import DEFAULT_CHAIN_IDS, runfile
from defiscope.devnet.display import render_chains
from defiscope.devnet.errors import DevnetError
from defiscope.devnet.fast_forward import (
    DEFAULT_SAMPLE,
    DEFAULT_TICK,
    BadFastForward,
    FastForwardPlan,
    parse_duration,
)
from defiscope.devnet.provider_proxy import PROFILES, Faults, profile, serve_through_simulator
from defiscope.devnet.scale import ScaleSize
from defiscope.devnet.scale_sim import ScaleSimulation
from defiscope.devnet.simulation import SimulationConfig, run_simulations
from defiscope.devnet.world import chains_to_json

devnet_app = typer.Typer(help="Local anvil chains with the protocols deployed.", no_args_is_help=True)


#: Market steps of `devnet simulate` on the running devnet when neither --ticks nor --days is given.
DEFAULT_TICKS: Final = 10
#: Pace of the scale world's market when `devnet up --scale-changes` runs it.
SCALE_BLOCK_SECONDS: Final = 2.0

ChainOption = Annotated[
    list[int] | None, typer.Option("--chain", "-c", help="Chain id to start (repeatable); default 1 and 56.")
]


@devnet_app.command("up")
@one_line_errors
def devnet_up(
    chain: ChainOption = None,
    detach: Annotated[bool, typer.Option("--detach", "-d", help="Return and leave the nodes running.")] = False,
    provider_limits: Annotated[
        str | None,
        typer.Option(
            "--provider-limits",
            help=f"Serve each chain through a provider simulator with this profile ({', '.join(PROFILES)}).",
        ),
    ] = None,
    fault_rate: Annotated[
        float, typer.Option("--fault-rate", min=0.0, max=1.0, help="Share of answers the simulator garbles.")
    ] = 0.0,
    fault_seed: Annotated[int, typer.Option("--fault-seed", help="Seed of the fault injection.")] = 0,
    world: Annotated[
        str, typer.Option("--world", help="standard, or scale: chain 1 with tens of thousands of Uniswap pools.")
    ] = "standard",
    scale_pairs: Annotated[int, typer.Option("--scale-pairs", min=1, help="V2 pairs of the scale world.")] = (
        ScaleSize().pairs
    ),
    scale_pools: Annotated[int, typer.Option("--scale-pools", min=0, help="V3 pools of the scale world.")] = (
        ScaleSize().pools
    ),
    scale_changes: Annotated[
        int, typer.Option("--scale-changes", min=0, help="Scale world: mine a block of this many trades every 2 s.")
    ] = 0,
) -> None:
    """Start the devnet (deploying it on first use) and print where it listens."""
    if world not in ("standard", "scale"):
        raise DevnetError(f"unknown world {world!r}: choose standard or scale")
    scale = ScaleSize(pairs=scale_pairs, pools=scale_pools) if world == "scale" else None
    chain_ids = tuple(chain or ((1,) if scale else DEFAULT_CHAIN_IDS))
    plan = profile(provider_limits) if provider_limits is not None else None
    if plan is None and fault_rate:
        raise DevnetError("--fault-rate needs --provider-limits (the simulator injects the faults)")
    if scale_changes and scale is None:
        raise DevnetError("--scale-changes needs --world scale")
    if detach:
        if plan is not None:
            raise DevnetError("--provider-limits runs the simulator in this process: start without --detach")
        if scale_changes:
            raise DevnetError("--scale-changes runs the market in this process: start without --detach")
        info = runfile.up_detached(chain_ids, scale=scale)
        render_chains(out, info.chains)
        out.print("devnet runs in the background: `defiscope devnet down` stops it")
        return
    devnet = runfile.up_attached(chain_ids, scale=scale)
    # SIGTERM ends the wait like Ctrl-C does, so the nodes are stopped and the run file removed. SIGINT is set too:
    # a process started from a script's background job inherits it ignored, and then `kill -INT` would not stop it.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.default_int_handler)
    with ExitStack() as proxies:
        try:
            chains = devnet.chains
            if plan is not None:
                chains = serve_through_simulator(chains, plan, Faults(rate=fault_rate, seed=fault_seed), proxies)
                runfile.publish(devnet, chains)
            render_chains(out, chains)
            if plan is not None:
                out.print(f"each chain is served through the {plan.name!r} provider simulator", highlight=False)
            out.print("devnet runs: Ctrl-C stops it")
            market = ScaleSimulation(devnet.chain(1), scale) if scale and scale_changes else None
            while all(node.is_running() for node in devnet.nodes):
                if market is not None:
                    report = market.step(scale_changes)
                    out.print(f"scale block {report.block}: {len(report.touched)} pools changed", highlight=False)
                time.sleep(SCALE_BLOCK_SECONDS if market is not None else 0.5)
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
        int | None,
        typer.Option("--ticks", "-n", min=1, help="On the running devnet: market steps to run (default 10)."),
    ] = None,
    days: Annotated[
        int | None,
        typer.Option(
            "--days",
            min=1,
            help="Bring up (or continue) the data dir's devnet, fast-forward N simulated days, index them, save it.",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same chain.")] = 7,
    chain: ChainOption = None,
    tick: Annotated[
        str | None, typer.Option("--tick", help=f"--days: simulated time per tick (default {DEFAULT_TICK}).")
    ] = None,
    sample_every: Annotated[
        str | None,
        typer.Option("--sample-every", help=f"--days: index the chains every DURATION (default {DEFAULT_SAMPLE})."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="--days: print the run's summary as JSON.")] = False,
) -> None:
    """Run the seeded market simulation: --ticks on the running devnet, or --days fast-forwarded and indexed."""
    if days is None:
        _refuse_days_options(ticks, tick=tick, sample_every=sample_every, as_json=as_json)
        _simulate_ticks(ticks or DEFAULT_TICKS, seed, chain)
        return
    if ticks is not None:
        raise BadFastForward("--ticks and --days exclude each other: --ticks steps a running devnet", field="--ticks")
    if chain:
        raise BadFastForward("--days fast-forwards every chain of the data dir's devnet: drop --chain", field="--chain")
    plan = FastForwardPlan.of(
        days=days,
        tick=parse_duration(tick or DEFAULT_TICK, "--tick"),
        sample=parse_duration(sample_every or DEFAULT_SAMPLE, "--sample-every"),
    )
    from defiscope.cli.simulate_days import simulate_days  # the store and the indexer: --days only

    simulate_days(plan, seed, as_json=as_json)


def _refuse_days_options(ticks: int | None, *, tick: str | None, sample_every: str | None, as_json: bool) -> None:
    given = [name for name, value in (("--tick", tick), ("--sample-every", sample_every)) if value is not None]
    given += ["--json"] if as_json else []
    if given:
        raise BadFastForward(f"{given[0]} goes with --days (a fast-forward), not --ticks", field=given[0])


def _simulate_ticks(ticks: int, seed: int, chain: list[int] | None) -> None:
    info = runfile.read_run()
    chains = [c for c in info.chains if not chain or c.chain_id in chain]
    reports = run_simulations(chains, SimulationConfig(seed=seed), ticks)
    for c, chain_reports in zip(chains, reports, strict=True):
        last = chain_reports[-1]
        moves = ", ".join(f"{pair} {float(price):,.2f}" for pair, price in sorted(last.prices.items())[:4])
        out.print(f"{c.name}: {ticks} ticks to block {last.last_block} ({last.regime}); {moves}", highlight=False)
