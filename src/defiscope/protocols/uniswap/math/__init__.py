"""Uniswap's Solidity math libraries ported to Python ints, one module per library, same constants and order."""
