"""PancakeSwap: Uniswap V2 and V3 forks on BNB Chain, as data over the Uniswap implementations."""
