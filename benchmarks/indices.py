"""A one-year daily-rebalance index backtest with exact router quotes vs the same under a fixed fee, in one run.

No devnet holds a year of history, so this builds one (said on the first line it prints): a block a day for
`--warmup` + `--days` days, the eight governance tokens' prices as seeded random walks, their families' TVL,
and a Uniswap V2 WETH pair per token holding a fixed USD depth at each day's price (`synthetic.SyntheticMarket`),
written into a real SQLite store. The backtest reads it back through `StoreHistory` (point in time, as for
indexed history) and runs `defi-pulse` (market-cap weights capped at 25 %) rebalanced DAILY over the last
`--days` days (the warm-up gives the tokens the 180 days of age the definition asks), twice:

- exact: every trade quoted by the router's route search on that day's pair states, gas at a 10 gwei base fee
- fixed: every trade at the day's price less `--fee-bp` (30 bp), no gas, as backtests elsewhere assume

Printed: each run's seconds and metrics, the slippage and gas each charged, and what exact quoting changes
(final level, CAGR, costs), and the deflated Sharpe ratio of the better variant among the two.
Target: the exact backtest of a year in at most 30 s.

    .venv/bin/python benchmarks/indices.py [--days 365] [--warmup 200] [--fee-bp 30] [--capital 1000000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from defiscope.analytics.indices.backtest import Backtest, BacktestOptions, Venue, run_backtest
from defiscope.analytics.indices.history import StoreHistory
from defiscope.analytics.indices.loader import load_definitions
from defiscope.analytics.indices.metrics import Metrics, deflated_sharpe, metrics_of
from defiscope.analytics.indices.report import decimal_text
from defiscope.analytics.indices.schedule import Daily
from defiscope.analytics.indices.synthetic import SyntheticMarket, SyntheticVenue
from defiscope.analytics.indices.venue import FixedFeeVenue, decimals_of
from defiscope.store import Repository

TARGET_SECONDS = 30.0
INDEX = "defi-pulse"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--fee-bp", type=int, default=30)
    parser.add_argument("--capital", type=Decimal, default=Decimal(1_000_000))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(f"synthetic history (no devnet holds a year): {args.warmup} + {args.days} daily blocks, seed {args.seed}")

    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        market = SyntheticMarket.generate(days=args.warmup + args.days, seed=args.seed)
        repo = Repository.open(f"sqlite:///{Path(scratch) / 'history.db'}")
        market.write(repo)
        print(f"store written: {time.perf_counter() - started:.1f} s")
        definition = load_definitions()[INDEX]
        started = time.perf_counter()
        history = StoreHistory.load(
            repo,
            market.deployment(),
            market.listings(definition),
            market.points[args.warmup].block,
            None,
            market.supply,
            extra=[market.hub_listing()],
        )
        points = history.points()
        repo.close()
        print(f"history read: {len(points)} blocks, {time.perf_counter() - started:.2f} s")
        options = BacktestOptions(capital_usd=args.capital, schedule=Daily())
        decimals = decimals_of(market.deployment())
        runs: dict[str, tuple[Backtest, Metrics, float]] = {}
        venues: dict[str, Venue] = {
            "exact": SyntheticVenue(market),
            "fixed": FixedFeeVenue(Fraction(args.fee_bp, 10_000)),
        }
        for name, venue in venues.items():
            started = time.perf_counter()
            result = run_backtest(definition, points, decimals, history, venue, options)
            figures = metrics_of(result)
            runs[name] = (result, figures, time.perf_counter() - started)
    _report(runs, args.fee_bp)


def _report(runs: dict[str, tuple[Backtest, Metrics, float]], fee_bp: int) -> None:
    for name, (result, figures, seconds) in runs.items():
        level = result.series[-1].level
        trades = sum(len(r.result.trades) for r in result.rebalances)
        print(
            f"{name:<6} {seconds:6.2f} s  {len(result.rebalances)} rebalances, {trades} trades, "
            f"final level {_shown(level)}"
        )
        print(
            f"       cagr {_pct(figures.cagr)}  vol {_pct(figures.volatility)}  sharpe {_num(figures.sharpe)}  "
            f"sortino {_num(figures.sortino)}  calmar {_num(figures.calmar)}  max dd {_pct(figures.max_drawdown)}"
        )
        print(
            f"       turnover {_num(figures.turnover)}/yr  slippage {decimal_text(figures.slippage_usd)} USD  "
            f"gas {decimal_text(figures.gas_usd)} USD  tracking error vs equal "
            f"{_pct(figures.tracking_error_equal_weight)}, vs WETH {_pct(figures.tracking_error_weth)}"
        )
    exact, fixed = runs["exact"], runs["fixed"]
    exact_costs = exact[1].slippage_usd + exact[1].gas_usd
    fixed_costs = fixed[1].slippage_usd + fixed[1].gas_usd
    print(
        f"exact vs fixed {fee_bp} bp: costs {decimal_text(exact_costs)} vs {decimal_text(fixed_costs)} USD "
        f"(x{float(exact_costs / fixed_costs):.2f}), final level {_shown(exact[0].series[-1].level)} vs "
        f"{_shown(fixed[0].series[-1].level)}, CAGR {_pct(exact[1].cagr)} vs {_pct(fixed[1].cagr)}"
    )
    best = max(runs.values(), key=lambda run: run[1].sharpe or float("-inf"))[0]
    dsr = deflated_sharpe(best, [run[0] for run in runs.values()])
    print(f"deflated Sharpe of the better variant among {dsr.n_trials}: {dsr.probability:.3f}")
    seconds = exact[2]
    verdict = "within" if seconds <= TARGET_SECONDS else "OVER"
    print(f"exact one-year daily backtest: {seconds:.2f} s, {verdict} the {TARGET_SECONDS:.0f} s target")


def _shown(value: Fraction | None) -> str:
    return "n/a" if value is None else decimal_text(value)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.2f} %"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    main()
