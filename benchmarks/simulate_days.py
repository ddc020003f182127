"""`devnet simulate --days`: seconds per simulated day, and the projection for 30 and 365 days.

Two runs of `service.simulated_history` (what the command runs), each on a fresh data dir holding a copy of
the cached world (chains 1 and 56 side by side), for `--days` simulated days at the same tick step:

- baseline: the market alone (the chains are indexed only at the start and after the last tick);
- indexed: the same, with every chain's head indexed every `--sample-every` (TVL, prices, yields, events).

A day's seconds are taken from the wall clock at the tick that ends each simulated day (the slower chain's),
days 2.. only: the first day also pays the first snapshot's discovery and the agents' set-up, counted apart
as the fixed cost. Projection for N days: fixed + N x per day. The targets: 30 days <= 5 min, 365 <= 1 h.

    .venv/bin/python benchmarks/simulate_days.py [--days 6] [--tick 1d] [--sample-every 1d] [--world-from DIR]

`--world-from`: a data dir whose devnet world cache is copied (default: $DEFISCOPE_DATA_DIR, else the default
data dir); without a cached world the first run deploys it (minutes, not counted).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from defiscope import logs
from defiscope.devnet import runfile
from defiscope.devnet.cache import world_key
from defiscope.devnet.fast_forward import DAY, DEFAULT_SAMPLE, DEFAULT_TICK, FastForwardPlan, parse_duration
from defiscope.devnet.manager import DEFAULT_CHAIN_IDS
from defiscope.devnet.paths import data_dir, devnet_dir
from defiscope.service.resume import open_devnet, save_for_next_start
from defiscope.service.simulated_history import simulate_history
from defiscope.store import Repository

TARGETS = {30: 300.0, 365: 3_600.0}  # simulated days -> seconds allowed


@dataclass(frozen=True, slots=True)
class Pace:
    per_day: float  # seconds per simulated day, days 2..
    fixed: float  # the rest of the command: devnet start, discovery, the first day's set-up, the save
    samples: int

    def projected(self, days: int) -> float:
        return self.fixed + self.per_day * days


@contextmanager
def fresh_data_dir(world: Path | None) -> Iterator[Path]:
    """A temporary DEFISCOPE_DATA_DIR holding a copy of the cached world `world` (if any)."""
    before = os.environ.get("DEFISCOPE_DATA_DIR")
    with tempfile.TemporaryDirectory(prefix="simulate-days-") as home:
        os.environ["DEFISCOPE_DATA_DIR"] = home
        if world is not None:
            shutil.copytree(world, devnet_dir() / world.name)
        try:
            yield Path(home)
        finally:
            if before is None:
                os.environ.pop("DEFISCOPE_DATA_DIR", None)
            else:
                os.environ["DEFISCOPE_DATA_DIR"] = before


def run(plan: FastForwardPlan, seed: int, world: Path | None) -> Pace:
    """One fast-forward on a fresh data dir, as the command runs it (devnet start, run, save)."""
    with fresh_data_dir(world):
        repo = Repository.open()
        began = time.perf_counter()
        devnet = open_devnet(repo)
        try:
            days_ended: dict[int, float] = {}  # day -> when its last tick ended (the slower chain's, called last)

            def on_tick(chain_id: int, tick: int, timestamp: int) -> None:
                if (tick * plan.tick_seconds) % DAY == 0:
                    days_ended[tick * plan.tick_seconds // DAY] = time.perf_counter()

            stop = asyncio.Event()
            history = asyncio.run(simulate_history(devnet, repo, plan, seed=seed, stop=stop, on_tick=on_tick))
            save_for_next_start(devnet)
            total = time.perf_counter() - began
        finally:
            runfile.release(devnet)
            repo.close()
    ended = [days_ended[day] for day in sorted(days_ended)]
    per_day = statistics.mean(later - earlier for earlier, later in itertools.pairwise(ended))
    return Pace(per_day, total - per_day * plan.days, sum(c.samples for c in history.chains.values()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=6, help="simulated days per run (at least 2)")
    parser.add_argument("--tick", default=DEFAULT_TICK)
    parser.add_argument("--sample-every", default=DEFAULT_SAMPLE)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--world-from", type=Path, default=None)
    args = parser.parse_args()
    logs.configure(logging.WARNING)  # the run's per-block lines would drown the figures
    if args.days < 2:
        parser.error("--days must be at least 2 (day 1 is the fixed cost)")
    source = args.world_from or data_dir()
    tick = parse_duration(args.tick, "--tick")
    world = _cached_world(source)
    baseline_plan = FastForwardPlan.of(days=args.days, tick=tick, sample=args.days * DAY)
    plan = FastForwardPlan.of(days=args.days, tick=tick, sample=parse_duration(args.sample_every, "--sample-every"))
    baseline = run(baseline_plan, args.seed, world)
    indexed = run(plan, args.seed, world)
    print(f"chains {', '.join(map(str, DEFAULT_CHAIN_IDS))}; {args.days} simulated days per run, tick {args.tick}")
    for name, pace in (("baseline (market only)", baseline), (f"indexed every {args.sample_every}", indexed)):
        print(f"{name:<26} {pace.per_day:6.2f} s per simulated day, fixed {pace.fixed:5.1f} s, {pace.samples} samples")
    print(f"indexing adds {indexed.per_day / baseline.per_day - 1:.0%} per day over the baseline")
    for days, allowed in TARGETS.items():
        projected = indexed.projected(days)
        verdict = "ok" if projected <= allowed else "OVER"
        print(f"projected {days:>3} days: {projected:7.0f} s (target <= {allowed:.0f} s: {verdict})")


def _cached_world(home: Path) -> Path | None:
    world = home / "devnet" / world_key(DEFAULT_CHAIN_IDS)
    return world if world.is_dir() else None


if __name__ == "__main__":
    main()
