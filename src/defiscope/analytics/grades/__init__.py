"""Trader and investor grades 0-100 of the seed protocols and their tokens, from point-in-time factors.

- `catalog`: what is graded (protocol families and their tokens) and the factors, with their horizon and sign
"""
