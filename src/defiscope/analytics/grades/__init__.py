"""Trader and investor grades 0-100 of the seed protocols and their tokens, from point-in-time factors.

Methodology, weights and versioning: docs/grades.md. Pure math (no I/O) except the factor computation:

- `catalog`: what is graded (protocol families and their tokens) and the factors, with their horizon and sign
- `formula`: the versioned grade formula (percentile ranks, published weights) with each grade's breakdown
- `signals`: bullish / bearish / neutral on grade transitions with hysteresis, and what moved the grade
- `panel`: grades over blocks as arrays, and forward returns
- `calibration`: the optional learned map from percentiles to forward returns, fitted walk-forward
- `evaluation`: purged walk-forward evaluation (IC and t, hit rate, top-minus-bottom, turnover, deflated Sharpe)
- `walkforward`: one grade evaluated end to end with its calibrations, and its JSON document
"""
