"""A backtest's performance: growth, risk, drawdown with its dates, turnover, costs, tracking error (pure).

Return statistics use `quant.performance` on the index levels of the blocks where the holdings could be
valued, annualised by those blocks' own timestamps. A metric that has no value (a series that never falls has
no Calmar ratio) is `None` in `values` and its reason is in `undefined`, never 0.

- turnover: one-way turnover (half the summed weight changes) of the rebalances after the initial construction,
  per year of the backtest
- slippage_usd, gas_usd: summed over every trade, the initial construction's included, in USD of the capital
- tracking_error: annualised volatility of the index's return less each benchmark's (equal weight; WETH)
- deflated Sharpe (`deflated_sharpe`): when several variants were run, the probability that the best one's
  Sharpe ratio is not luck of the trials (Bailey & Lopez de Prado 2014)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from defiscope.analytics.indices.backtest import Backtest, SeriesPoint
from defiscope.analytics.quant.errors import InvalidSeries, Undefined
from defiscope.analytics.quant.evaluation.sharpe import DeflatedSharpe, deflated_sharpe_of_returns
from defiscope.analytics.quant.performance import (
    Drawdown,
    cagr,
    calmar_ratio,
    max_drawdown,
    sharpe_ratio,
    sortino_ratio,
    tracking_error,
    volatility,
)
from defiscope.analytics.quant.returns import SECONDS_PER_YEAR, periods_per_year, simple_returns

Figure = float | None


@dataclass(frozen=True, slots=True)
class DrawdownDates:
    """Where the deepest fall began (peak), bottomed (trough) and was made good (recovery; None if not yet)."""

    peak: tuple[int, int]  # (block, timestamp)
    trough: tuple[int, int]
    recovery: tuple[int, int] | None


@dataclass(frozen=True, slots=True)
class Metrics:
    cagr: Figure
    volatility: Figure
    sharpe: Figure
    sortino: Figure
    calmar: Figure
    max_drawdown: Figure
    drawdown_dates: DrawdownDates | None
    turnover: Figure
    slippage_usd: Fraction
    gas_usd: Fraction
    tracking_error_equal_weight: Figure
    tracking_error_weth: Figure
    undefined: dict[str, str]


def metrics_of(backtest: Backtest) -> Metrics:
    """Every metric of the backtest; the ones without a value say why in `undefined`."""
    series = _one_per_time(backtest.series)
    valued = [p for p in series if p.level is not None]
    levels = [float(p.level) for p in valued if p.level is not None]
    times = [p.timestamp for p in valued]
    undefined: dict[str, str] = {}

    def figure(name: str, compute: Callable[[], float]) -> Figure:
        if per_year is None:
            undefined[name] = f"{len(levels)} valued blocks at distinct times: return statistics need 2"
            return None
        try:
            return compute()
        except (Undefined, InvalidSeries) as exc:
            undefined[name] = str(exc)
            return None

    per_year = periods_per_year(times) if len(levels) >= 2 else None
    yearly = per_year or 0.0
    returns = simple_returns(levels) if per_year else np.array([])
    drawdown = max_drawdown(levels) if levels else None
    rebalances = backtest.rebalances
    return Metrics(
        cagr=figure("cagr", lambda: cagr(levels, times)),
        volatility=figure("volatility", lambda: volatility(returns, yearly)),
        sharpe=figure("sharpe", lambda: sharpe_ratio(returns, yearly)),
        sortino=figure("sortino", lambda: sortino_ratio(returns, yearly)),
        calmar=figure("calmar", lambda: calmar_ratio(levels, times)),
        max_drawdown=None if drawdown is None else drawdown.depth,
        drawdown_dates=None if drawdown is None else _dates(valued, drawdown),
        turnover=figure("turnover", lambda: _yearly_turnover(backtest, times)),
        slippage_usd=sum((r.result.slippage_usd for r in rebalances), Fraction(0)),
        gas_usd=sum((r.result.gas_usd for r in rebalances), Fraction(0)),
        tracking_error_equal_weight=figure(
            "tracking_error.equal_weight", lambda: _tracking(series, "equal_weight", yearly)
        ),
        tracking_error_weth=figure("tracking_error.weth", lambda: _tracking(series, "weth", yearly)),
        undefined=undefined,
    )


def _one_per_time(series: Sequence[SeriesPoint]) -> list[SeriesPoint]:
    """The last point of each timestamp: blocks mined in the same second are one observation for returns."""
    last: dict[int, SeriesPoint] = {}
    for point in series:
        last[point.timestamp] = point
    return list(last.values())


def _dates(valued: Sequence[SeriesPoint], drawdown: Drawdown) -> DrawdownDates:
    recovery = drawdown.recovery_index
    return DrawdownDates(
        _at(valued[drawdown.peak_index]),
        _at(valued[drawdown.trough_index]),
        None if recovery is None else _at(valued[recovery]),
    )


def deflated_sharpe(selected: Backtest, trials: Sequence[Backtest]) -> DeflatedSharpe:
    """The deflated Sharpe ratio of `selected` among every variant tried (`trials`, the selected one included)."""
    return deflated_sharpe_of_returns(_returns(selected), [_per_period_sharpe(t) for t in trials])


def _returns(backtest: Backtest) -> np.ndarray:
    return simple_returns([float(p.level) for p in backtest.series if p.level is not None])


def _per_period_sharpe(backtest: Backtest) -> float:
    returns = _returns(backtest)
    spread = float(np.std(returns, ddof=1))
    if spread == 0:
        raise Undefined(f"the returns of a {backtest.index} variant do not vary: no Sharpe ratio to compare")
    return float(np.mean(returns)) / spread


def _yearly_turnover(backtest: Backtest, times: Sequence[int]) -> float:
    elapsed = times[-1] - times[0]
    if elapsed <= 0:
        raise Undefined("the valued blocks span no time: turnover has no yearly rate")
    moved = sum((r.result.turnover for r in backtest.rebalances[1:]), Fraction(0))
    return float(moved) * SECONDS_PER_YEAR / elapsed


def _tracking(series: Sequence[SeriesPoint], benchmark: str, per_year: float) -> float:
    pairs = [(p.level, getattr(p, benchmark)) for p in series]
    known = [(float(a), float(b)) for a, b in pairs if a is not None and b is not None]
    if len(known) < 3:
        raise Undefined(f"{len(known)} blocks value both the index and the {benchmark} benchmark: need 3")
    index, reference = zip(*known, strict=True)
    return tracking_error(simple_returns(index), simple_returns(reference), per_year)


def _at(point: SeriesPoint) -> tuple[int, int]:
    return point.block, point.timestamp
