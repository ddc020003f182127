"""Honest evaluation of factors, grades and strategies: cross-sectional skill, purged walk-forward splits, and
Sharpe ratios deflated for the number of variants tried."""

from defiscope.analytics.quant.evaluation.crosssection import (
    ICSummary,
    hit_rate,
    ic_summary,
    information_coefficients,
    quantile_spreads,
)
from defiscope.analytics.quant.evaluation.sharpe import (
    DeflatedSharpe,
    deflated_sharpe_of_returns,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    sharpe_ratio_std,
)
from defiscope.analytics.quant.evaluation.splits import Split, purged_walk_forward

__all__ = [
    "DeflatedSharpe",
    "ICSummary",
    "Split",
    "deflated_sharpe_of_returns",
    "deflated_sharpe_ratio",
    "expected_max_sharpe",
    "hit_rate",
    "ic_summary",
    "information_coefficients",
    "probabilistic_sharpe_ratio",
    "purged_walk_forward",
    "quantile_spreads",
    "sharpe_ratio_std",
]
