"""`defiscope devnet simulate --days N`: the data dir's devnet fast-forwarded through N simulated days, indexed.

    defiscope devnet simulate --days 30 --seed 7                  # a tick and a sample per simulated day
    defiscope devnet simulate --days 7 --tick 1h --sample-every 6h --json

The devnet comes up as `serve` brings it (`service.resume.open_devnet`: the saved devnet continued, or a fresh
world; refused with exit 2 when the store's history would not continue on it), the market runs
(`service.simulated_history`) with a progress bar per chain, and the devnet is saved at the end
(`save_for_next_start`), so a second run, or `serve`, continues the same chain and history. Ctrl-C or SIGTERM
ends the run after the current tick: the head is indexed and the devnet saved all the same.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from defiscope.cli.common import err, on_signals, out
from defiscope.cli.devnet_save import save_devnet
from defiscope.config import load_settings
from defiscope.devnet import runfile
from defiscope.devnet.errors import DevnetError
from defiscope.devnet.fast_forward import FastForwardPlan
from defiscope.devnet.manager import Devnet
from defiscope.service.resume import open_devnet
from defiscope.service.simulated_history import History, OnTick, simulate_history
from defiscope.store import Repository


class SimulateNeedsDevnet(DevnetError):
    """`--days` asked while DEFISCOPE_RPC_<CHAINID> is set: there is no embedded devnet to fast-forward."""


def simulate_days(plan: FastForwardPlan, seed: int, *, as_json: bool) -> History:
    """Bring up (or resume) the data dir's devnet, fast-forward and index it, save it; print the summary."""
    if load_settings().chain_rpcs:
        raise SimulateNeedsDevnet("--days fast-forwards the embedded devnet: unset DEFISCOPE_RPC_<CHAINID> to use it")
    repo = Repository.open()
    try:
        devnet = open_devnet(repo)
        try:
            history = asyncio.run(_run(devnet, repo, plan, seed, quiet=as_json))
        finally:
            runfile.release(devnet)
    finally:
        repo.close()
    if as_json:
        sys.stdout.write(json.dumps(history.to_json()) + "\n")
    else:
        _print(history)
    return history


async def _run(devnet: Devnet, repo: Repository, plan: FastForwardPlan, seed: int, *, quiet: bool) -> History:
    stop = asyncio.Event()
    try:
        with on_signals(stop.set), _progress(devnet, plan, disable=quiet) as on_tick:
            return await simulate_history(devnet, repo, plan, seed=seed, stop=stop, on_tick=on_tick)
    finally:
        await _save(devnet)


async def _save(devnet: Devnet) -> None:
    await save_devnet(devnet, run="run", report=err, on_signal=lambda: None)


@contextmanager
def _progress(devnet: Devnet, plan: FastForwardPlan, *, disable: bool) -> Iterator[OnTick]:
    columns = (
        TextColumn("chain {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("ticks, {task.fields[day]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, disable=disable) as progress:
        bars: dict[int, TaskID] = {
            c.chain_id: progress.add_task(str(c.chain_id), total=plan.ticks, day="starting") for c in devnet.chains
        }

        def on_tick(chain_id: int, tick: int, timestamp: int) -> None:
            day = f"{_utc(timestamp)} (day {(tick - 1) * plan.tick_seconds // 86_400 + 1} of {plan.days})"
            progress.update(bars[chain_id], completed=tick, day=day)

        yield on_tick


def _utc(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _print(history: History) -> None:
    for chain_id, chain in sorted(history.chains.items()):
        span = (
            f"blocks {chain.first_block.number} to {chain.last_block.number} "
            f"({_utc(chain.first_block.timestamp)} to {_utc(chain.last_block.timestamp)})"
            if chain.first_block is not None and chain.last_block is not None
            else "no block"
        )
        out.print(f"chain {chain_id}: {chain.ticks} ticks, {chain.samples} blocks indexed, {span}", highlight=False)
        if chain.failed_ticks:
            err.print(
                f"[yellow]warning:[/yellow] chain {chain_id}: {chain.failed_ticks} ticks failed (see the log)",
                highlight=False,
            )
        for slug, reason in sorted(chain.failures.items()):
            err.print(f"[yellow]warning:[/yellow] chain {chain_id}: {slug} not stored: {reason}", highlight=False)
    days = history.simulated_days
    pace = f" ({history.seconds / days:.1f} s per simulated day)" if days else ""
    stopped = " (stopped early)" if history.stopped else ""
    out.print(f"{days:g} simulated days in {history.seconds:.1f} s{pace}{stopped}", highlight=False)
