"""Rule-based DeFi indices: definitions as data and the pure weighting math (issue 17, deliverable 1).

- `definition`: the validated model of an index definition (eligibility, weighting, cap, rebalance schedule, base)
- `loader`: reads the TOML files under `definitions/` (the only module here that touches files)
- `weights`: the eligibility screen with a reason for each exclusion, target weights by market cap, square root
  of market cap, TVL, grade, equal or fixed weights, and the cap with pro-rata redistribution (the DPI rule)

Weights are exact `Fraction`s that sum to exactly 1; USD figures come in as `Decimal`s. Nothing here reads a chain
or the store: later stages feed point-in-time figures in.
"""
