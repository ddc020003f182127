"""A backtest as JSON: the issue's interface, exact amounts as decimal strings, ratios as JSON numbers (pure).

    {"index", "from_block", "to_block",
     "metrics": {"cagr", "volatility", "sharpe", "sortino", "calmar", "max_drawdown", "turnover",
                 "slippage_usd", "gas_usd", "tracking_error",
                 "tracking_error_by_benchmark": {"equal_weight", "weth"}},
     "rebalances": [{"block", "trades": [{"sell", "buy", "amount_in", "amount_out", "route"}]}],
     "series": [{"block", "timestamp", "value"}]}

`tracking_error` is the one number the issue's interface names: the tracking error against the equal-weight
benchmark (the same members, so it measures the weighting); `tracking_error_by_benchmark` has it against each.
Beside those keys, for a reader who asks why: `undefined` (metric -> why it has no value), `max_drawdown_dates`,
each rebalance's `targets`, `shortfalls` (members it could not bring to target) and `excluded` candidates (with
why their figures were `unknown`, when they were), `skipped` rebalances, each trade's gas and slippage, and each
series point's benchmarks (and `reason` when the holdings could not be valued there).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any, Final

from defiscope.analytics.indices.backtest import Backtest, Rebalance, SeriesPoint
from defiscope.analytics.indices.metrics import Metrics, metrics_of
from defiscope.analytics.indices.rebalance import Trade
from defiscope.analytics.indices.weights import Exclusion

#: Decimal places of USD figures and levels shown (exact fractions are kept until here).
SHOWN_PLACES: Final = 6


def backtest_json(backtest: Backtest, metrics: Metrics | None = None) -> dict[str, Any]:
    figures = metrics or metrics_of(backtest)
    return {
        "index": backtest.index,
        "from_block": backtest.from_block,
        "to_block": backtest.to_block,
        "cost_model": backtest.cost_model,
        "capital_usd": str(backtest.options.capital_usd),
        "base_value": str(backtest.base_value),
        "metrics": _metrics(figures),
        "undefined": figures.undefined,
        "max_drawdown_dates": _dates(figures),
        "rebalances": [_rebalance(r) for r in backtest.rebalances],
        "skipped": [{"block": s.block, "timestamp": s.timestamp, "reason": s.reason} for s in backtest.skipped],
        "series": [_point(p) for p in backtest.series],
    }


def decimal_text(value: Fraction) -> str:
    """A fraction rounded half-even to `SHOWN_PLACES` decimals, as a plain decimal string."""
    return str(round(Decimal(value.numerator) / Decimal(value.denominator), SHOWN_PLACES))


def _metrics(m: Metrics) -> dict[str, Any]:
    return {
        "cagr": m.cagr,
        "volatility": m.volatility,
        "sharpe": m.sharpe,
        "sortino": m.sortino,
        "calmar": m.calmar,
        "max_drawdown": m.max_drawdown,
        "turnover": m.turnover,
        "slippage_usd": decimal_text(m.slippage_usd),
        "gas_usd": decimal_text(m.gas_usd),
        "tracking_error": m.tracking_error_equal_weight,
        "tracking_error_by_benchmark": {"equal_weight": m.tracking_error_equal_weight, "weth": m.tracking_error_weth},
    }


def _dates(m: Metrics) -> dict[str, Any] | None:
    if m.drawdown_dates is None:
        return None
    dates = m.drawdown_dates

    def at(where: tuple[int, int] | None) -> dict[str, int] | None:
        return None if where is None else {"block": where[0], "timestamp": where[1]}

    return {"peak": at(dates.peak), "trough": at(dates.trough), "recovery": at(dates.recovery)}


def _rebalance(r: Rebalance) -> dict[str, Any]:
    return {
        "block": r.block,
        "timestamp": r.timestamp,
        "targets": {s: decimal_text(w) for s, w in sorted(r.result.targets.items())},
        "trades": [_trade(t) for t in r.result.trades],
        "holdings": {s: str(a) for s, a in sorted(r.result.holdings.items())},
        "shortfalls": [{"symbol": s.symbol, "reason": s.reason} for s in r.result.shortfalls],
        "excluded": [_excluded(e, r.unknown) for e in r.excluded],
    }


def _excluded(exclusion: Exclusion, unknown: Mapping[str, str]) -> dict[str, Any]:
    entry: dict[str, Any] = {"symbol": exclusion.symbol, "reasons": list(exclusion.reasons)}
    if exclusion.symbol in unknown:
        entry["unknown"] = unknown[exclusion.symbol]
    return entry


def _trade(t: Trade) -> dict[str, Any]:
    return {
        "sell": t.sell,
        "buy": t.buy,
        "amount_in": str(t.amount_in),
        "amount_out": str(t.amount_out),
        "route": [
            {
                "path": list(leg.path),
                "pools": list(leg.pools),
                "amount_in": str(leg.amount_in),
                "amount_out": str(leg.amount_out),
            }
            for leg in t.fill.legs
        ],
        "gas_units": t.fill.gas_units,
        "gas_usd": decimal_text(t.gas_usd),
        "slippage_usd": decimal_text(t.slippage_usd),
    }


def _point(p: SeriesPoint) -> dict[str, Any]:
    point: dict[str, Any] = {
        "block": p.block,
        "timestamp": p.timestamp,
        "value": None if p.level is None else decimal_text(p.level),
        "equal_weight": None if p.equal_weight is None else decimal_text(p.equal_weight),
        "weth": None if p.weth is None else decimal_text(p.weth),
    }
    if p.reason is not None:
        point["reason"] = p.reason
    return point
