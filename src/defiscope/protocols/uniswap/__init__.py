"""Uniswap V2/V3: exact math ports (`math/`) and, later, the adapters."""
