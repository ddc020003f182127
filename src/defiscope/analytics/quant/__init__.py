"""Statistics for grades, signals and index backtests: pure math on arrays, no I/O.

- `returns`: simple and log returns, annualisation from irregular block timestamps
- `performance`: CAGR, volatility, Sharpe, Sortino, Calmar, max drawdown, turnover, tracking error
- `factors`: momentum, volatility and drawdown over a window, point in time by construction
- `evaluation`: information coefficient and its t-statistic, hit rate, top-minus-bottom spread,
  purged walk-forward splits, probabilistic and deflated Sharpe ratios

Inputs are float arrays (or anything `numpy.asarray` takes, Decimals included); USD figures become floats here,
at the valuation step, as DESIGN.md allows. A statistic that has no value for the data given (no variance, too
short a series) raises `Undefined` with the reason, for the caller to report; it is never returned as 0.
"""
