"""Live index tracking: the time of one step (one new block) after 1x and 10x the stored history, in one run.

A tracker must not slow down as the history grows: each step reads only the blocks it steps (and the newest
quotes and snapshots before them), and a restarted tracker resumes from the state stored with the last rebalance
instead of replaying. This writes a synthetic daily history (`synthetic.SyntheticMarket`: eight governance
tokens, their TVL, a WETH pair each, router quotes on them) of `--days` and of 10x `--days` into two SQLite
stores, tracks a weekly market-cap index through each (untimed), then times `--steps` single-block advances at
the end of each history, and a restarted tracker's first step (restore + one block).

Printed: median ms per step and per restarted step at 1x and 10x, and the 10x/1x ratios (target: about 1);
beside them, the time of tracking the whole history from its first block (what a restart cost when the tracker
replayed: it grows with the history).

    .venv/bin/python benchmarks/index_tracking.py [--days 60] [--steps 15]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from defiscope.analytics.indices.history import StoreHistory
from defiscope.analytics.indices.live import IndexTracker
from defiscope.analytics.indices.loader import parse_definition
from defiscope.analytics.indices.synthetic import SyntheticMarket, SyntheticVenue
from defiscope.analytics.indices.venue import decimals_of
from defiscope.store import Repository
from defiscope.store.indices import IndexValueStore

DEFINITION = parse_definition(
    """
id = "bench-weekly"
name = "Bench weekly"
description = "The graded tokens by market cap, capped at 30 %, every Monday; 3 days of age."
base_value = 100
base_date = 2025-01-01

[eligibility]
categories = ["Dexes", "Lending", "CDP", "Liquid Staking", "Restaking"]
max_members = 6
min_age_days = 3

[weighting]
method = "mcap"
cap = 0.3

[rebalance]
kind = "calendar"
every = "weekly"
day = 1
""",
    source="benchmarks/index_tracking.py",
)
#: Blocks per untimed catch-up advance, as the serve hook steps (`hooks.CATCH_UP_BLOCKS`).
CATCH_UP = 500


@dataclass(frozen=True, slots=True)
class Timing:
    history_blocks: int
    replay_s: float  # tracking the whole history from its first block: what every restart cost before 0022
    step_ms: float  # median
    step_min_ms: float  # fastest: the step's own cost, least disturbed by other load on the machine
    restart_ms: float


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(
        f"synthetic daily history (no devnet holds months): {args.days} and {10 * args.days} stored blocks, "
        f"then {args.steps} single-block steps each; index {DEFINITION.id} (weekly, market cap, router quotes)"
    )
    with tempfile.TemporaryDirectory() as scratch:
        base = _measure(Path(scratch) / "1x.db", args.days, args.steps, args.seed)
        tenfold = _measure(Path(scratch) / "10x.db", 10 * args.days, args.steps, args.seed)
    for timing in (base, tenfold):
        print(
            f"history {timing.history_blocks:>6} blocks: step {timing.step_ms:8.2f} ms median, "
            f"{timing.step_min_ms:8.2f} ms fastest; "
            f"restarted tracker's first step {timing.restart_ms:8.2f} ms; "
            f"a replay from the first block (a restart before run states were kept) {timing.replay_s:6.2f} s"
        )
    step, fastest = tenfold.step_ms / base.step_ms, tenfold.step_min_ms / base.step_min_ms
    restart, replay = tenfold.restart_ms / base.restart_ms, tenfold.replay_s / base.replay_s
    print(f"ratio 10x/1x: step {step:.2f} median, {fastest:.2f} fastest; restart {restart:.2f}; replay {replay:.2f}")


def _measure(path: Path, history_days: int, steps: int, seed: int) -> Timing:
    market = SyntheticMarket.generate(days=history_days + 2 * steps, seed=seed)
    repo = Repository.open(f"sqlite:///{path}")
    try:
        market.write(repo)
        blocks = [p.block for p in market.points]
        tracker = _tracker(repo, market)
        started = time.perf_counter()
        for head in [*blocks[CATCH_UP - 1 : history_days : CATCH_UP], blocks[history_days - 1]]:
            tracker.advance(head)
        replay_s = time.perf_counter() - started
        step_ms = []
        for head in blocks[history_days : history_days + steps]:
            started = time.perf_counter()
            tracker.advance(head)
            step_ms.append((time.perf_counter() - started) * 1000)
        restart_ms = []
        for head in blocks[history_days + steps :]:
            restarted = _tracker(repo, market)  # as after a restart: nothing in memory
            started = time.perf_counter()
            restarted.advance(head)
            restart_ms.append((time.perf_counter() - started) * 1000)
        stored = IndexValueStore(repo.engine).history(DEFINITION.id, 1)
        if len(stored) != len(blocks) or stored[-1].value is None:
            raise SystemExit(f"tracking stored {len(stored)} of {len(blocks)} blocks: not a valid measurement")
        return Timing(history_days, replay_s, statistics.median(step_ms), min(step_ms), statistics.median(restart_ms))
    finally:
        repo.close()


def _tracker(repo: Repository, market: SyntheticMarket) -> IndexTracker:
    deployment = market.deployment()
    listings, hub = market.listings(DEFINITION), market.hub_listing()

    def opened(first: int | None, last: int | None) -> StoreHistory:
        return StoreHistory.load(repo, deployment, listings, first, last, market.supply, extra=[hub])

    values = IndexValueStore(repo.engine)
    return IndexTracker(DEFINITION, 1, opened, SyntheticVenue(market), decimals_of(deployment), values)


if __name__ == "__main__":
    main()
