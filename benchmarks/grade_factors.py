"""Factor computation for the eight graded families at one block, against a plain store read in the same run.

A SQLite store is filled with `--days` days of history at `--per-day` blocks a day on chain 1 (every graded adapter
with `--tokens` token rows and `--markets` yield rows a block, quotes of every graded token each block, a risk score
of every graded adapter at every block, as an hourly risk hook would store at most), and the
factors are computed at the last block (`compute_factors`, no chain connection: supplies are reported missing).
Baseline: `Repository.latest_snapshots()` on the same store (what a protocol list reads). Printed: median ms of
each over `--repeat` runs and their ratio.

    .venv/bin/python benchmarks/grade_factors.py [--days 100] [--per-day 4] [--tokens 10] [--markets 20] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from decimal import Decimal
from fractions import Fraction

from defiscope.analytics.grades.catalog import GRADED
from defiscope.analytics.grades.compute import compute_factors
from defiscope.analytics.grades.market import TokenRef
from defiscope.chain.block import BlockRef
from defiscope.protocols.yields import Yield, YieldKind
from defiscope.store import Repository
from defiscope.store.risk import RiskStore, ScoredBlock
from defiscope.tvl.model import BalanceKind, PriceQuote, ProtocolSnapshot, TokenValue
from timing import median_ms  # benchmarks/ is the script's folder

START = 1_750_000_000
KINDS = (YieldKind.SUPPLY, YieldKind.BORROW, YieldKind.LP_FEE, YieldKind.STAKING)


def address(n: int) -> str:
    return "0x" + f"{n:040x}"


TOKENS = {e.token: TokenRef(e.token, 1, address(10_000 + i), 18) for i, e in enumerate(GRADED.values())}


def fill(repo: Repository, days: int, per_day: int, tokens: int, markets: int) -> int:
    slugs = sorted({slug for e in GRADED.values() for slug in e.members})
    step = 86_400 // per_day
    number = 0
    risk = RiskStore(repo.engine)
    for number in range(1, days * per_day + 1):
        block = BlockRef(1, number, "0x" + f"{number:064x}", START + number * step)
        wobble = Decimal(1) + Decimal(number % 17) / 100
        snapshots = [
            ProtocolSnapshot(
                slug,
                1,
                block,
                tuple(
                    TokenValue(address(t), "T", 18, kind, 10**18, None, Decimal(1000 + t) * wobble)
                    for t in range(tokens)
                    for kind in (BalanceKind.TVL, BalanceKind.BORROWED)
                ),
            )
            for slug in slugs
        ]
        repo.save_snapshots(snapshots)
        rates = [
            Yield(slug, address(m), address(m % tokens), "T", kind, Decimal("0.03") * wobble, Decimal("0.031"), "b")
            for slug in slugs
            for m in range(markets)
            for kind in KINDS
        ]
        repo.save_yields(block, rates)
        repo.save_prices(
            PriceQuote(1, t.address, Decimal(5) * wobble, "bench", block.timestamp, 0.9, number)
            for t in TOKENS.values()
        )
        for slug in slugs:
            risk.save(ScoredBlock(slug, 1, number, "bench", 40 + number % 50, {}, {}), [])
    return number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--per-day", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=10)
    parser.add_argument("--markets", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        repo = Repository.open(f"sqlite:///{folder}/bench.db")
        started = time.perf_counter()
        last = fill(repo, args.days, args.per_day, args.tokens, args.markets)
        print(
            f"store: {last} blocks x {len({s for e in GRADED.values() for s in e.members})} adapters "
            f"filled in {time.perf_counter() - started:.1f} s"
        )
        shares = {"aave-v3": Fraction(1, 10)}
        factors = median_ms(
            lambda: asyncio.run(compute_factors(repo, lambda b: None, last, tokens=TOKENS, revenue_shares=shares)),
            args.repeat,
        )
        baseline = median_ms(repo.latest_snapshots, args.repeat)
        values = asyncio.run(compute_factors(repo, lambda b: None, last, tokens=TOKENS, revenue_shares=shares))
        known = sum(1 for v in values if v.value is not None)
        print(
            f"factors of {len(GRADED)} families at block {last}: {factors:.1f} ms ({known}/{len(values)} with a value)"
        )
        print(f"baseline latest_snapshots(): {baseline:.1f} ms; ratio {factors / baseline:.1f}x")
        repo.close()


if __name__ == "__main__":
    main()
