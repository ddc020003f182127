"""Rule-based DeFi indices: definitions as data, weights, rebalances with exact quotes, backtests (issue 17).

- `definition`: the validated model of an index definition (eligibility, weighting, cap, rebalance schedule, base)
- `loader`: reads the TOML files under `definitions/` (the only module here that touches files)
- `weights`: the eligibility screen with a reason for each exclusion, target weights by market cap, square root
  of market cap, TVL, grade, equal or fixed weights, and the cap with pro-rata redistribution (the DPI rule)
- `rebalance`: the trades from holdings to target weights through an injected quoter, gas at the block's base fee
- `quoting`: the router's exact quotes on one block's pool states as a quoter (`routing.search`)
- `schedule`, `backtest`, `metrics`, `report`: when to rebalance, the backtest loop, its metrics, its JSON
- I/O edges: `history` (the store, answered as of each block), `venue` (a node: pools, base fee, supply at a
  block), `synthetic` (a made-up year of stored history for benchmarks and tests), `live` (an index stepped at
  each new stored block by the backtest's engine, its values stored) and `hooks` (the `BlockHook` running the
  trackers off the event loop; `service.indices` wires it into `serve`)

Weights are exact `Fraction`s that sum to exactly 1; USD figures come in as `Decimal`s; token amounts are raw
integers. Only the I/O edges read a chain or the store; they feed the pure modules point-in-time figures.
"""
