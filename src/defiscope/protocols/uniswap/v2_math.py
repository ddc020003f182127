"""Uniswap V2-style constant-product swap math, exact, with the fee as data (Uniswap V2, PancakeSwap V2).

Mirrors ``UniswapV2Library.getAmountOut`` / ``getAmountIn`` / ``getAmountsOut`` / ``getAmountsIn``
(v2-periphery) with the constants 997/1000 replaced by the fork's ``V2Fee``, and the pair's own check in
``UniswapV2Pair.swap`` (``balanceAdjusted0 * balanceAdjusted1 >= reserve0 * reserve1 * DENOMINATOR**2``).

    >>> get_amount_out(10**18, 100 * 10**18, 300_000 * 10**6, UNISWAP_V2_FEE)
    2961474103
    >>> get_amount_out(10**18, 100 * 10**18, 300_000 * 10**6, PANCAKESWAP_V2_FEE)
    2962944627
    >>> get_amounts_out(10**18, [(100 * 10**18, 300_000 * 10**6), (300_000 * 10**6, 3 * 10**8)], UNISWAP_V2_FEE)
    [1000000000000000000, 2961474103, 2923813]

Reverts of the Solidity code (zero amounts, empty reserves, draining a reserve, uint256 overflow) raise
``V2MathError`` with the contract's reason string.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from defiscope.errors import DefiscopeError

MAX_UINT256: Final = 2**256 - 1


class V2MathError(DefiscopeError, ValueError):
    """Where the Solidity function would revert; the message is the contract's reason."""


@dataclass(frozen=True, slots=True)
class V2Fee:
    """The swap fee as the contracts write it: ``amountIn * numerator / denominator`` reaches the curve.

    Uniswap V2 keeps 997/1000 (0.3 %), PancakeSwap V2 9975/10000 (0.25 %).
    """

    numerator: int
    denominator: int

    def __post_init__(self) -> None:
        if not 0 < self.numerator <= self.denominator:
            raise V2MathError(f"a V2 fee needs 0 < numerator <= denominator, got {self.numerator}/{self.denominator}")

    @property
    def pips(self) -> int:
        """The fee in hundredths of a basis point (V3 style): 3000 for Uniswap V2, 2500 for PancakeSwap V2."""
        return (self.denominator - self.numerator) * 1_000_000 // self.denominator


UNISWAP_V2_FEE: Final = V2Fee(997, 1000)
PANCAKESWAP_V2_FEE: Final = V2Fee(9975, 10000)

Reserves = tuple[int, int]  # (reserveIn, reserveOut) of one hop


def _mul(a: int, b: int) -> int:
    """SafeMath.mul: reverts on uint256 overflow."""
    product = a * b
    if product > MAX_UINT256:
        raise V2MathError("ds-math-mul-overflow")
    return product


def _add(a: int, b: int) -> int:
    total = a + b
    if total > MAX_UINT256:
        raise V2MathError("ds-math-add-overflow")
    return total


def _sub(a: int, b: int) -> int:
    if b > a:
        raise V2MathError("ds-math-sub-underflow")
    return a - b


def get_amount_out(amount_in: int, reserve_in: int, reserve_out: int, fee: V2Fee = UNISWAP_V2_FEE) -> int:
    """UniswapV2Library.getAmountOut: the most ``reserve_out`` a pair pays for ``amount_in``."""
    if amount_in <= 0:
        raise V2MathError("UniswapV2Library: INSUFFICIENT_INPUT_AMOUNT")
    if reserve_in <= 0 or reserve_out <= 0:
        raise V2MathError("UniswapV2Library: INSUFFICIENT_LIQUIDITY")
    amount_in_with_fee = _mul(amount_in, fee.numerator)
    numerator = _mul(amount_in_with_fee, reserve_out)
    denominator = _add(_mul(reserve_in, fee.denominator), amount_in_with_fee)
    return numerator // denominator


def get_amount_in(amount_out: int, reserve_in: int, reserve_out: int, fee: V2Fee = UNISWAP_V2_FEE) -> int:
    """UniswapV2Library.getAmountIn: the least input that buys ``amount_out`` (rounded up by the +1)."""
    if amount_out <= 0:
        raise V2MathError("UniswapV2Library: INSUFFICIENT_OUTPUT_AMOUNT")
    if reserve_in <= 0 or reserve_out <= 0:
        raise V2MathError("UniswapV2Library: INSUFFICIENT_LIQUIDITY")
    numerator = _mul(_mul(reserve_in, amount_out), fee.denominator)
    denominator = _mul(_sub(reserve_out, amount_out), fee.numerator)
    if denominator == 0:  # amount_out == reserve_out: the EVM's division by zero
        raise V2MathError("UniswapV2Library: cannot buy the whole reserve (division by zero)")
    return _add(numerator // denominator, 1)


def get_amounts_out(amount_in: int, path: Sequence[Reserves], fee: V2Fee = UNISWAP_V2_FEE) -> list[int]:
    """UniswapV2Library.getAmountsOut over hops given as (reserveIn, reserveOut); amounts[0] is the input."""
    if not path:
        raise V2MathError("UniswapV2Library: INVALID_PATH")
    amounts = [amount_in]
    for reserve_in, reserve_out in path:
        amounts.append(get_amount_out(amounts[-1], reserve_in, reserve_out, fee))
    return amounts


def get_amounts_in(amount_out: int, path: Sequence[Reserves], fee: V2Fee = UNISWAP_V2_FEE) -> list[int]:
    """UniswapV2Library.getAmountsIn, walking the hops backwards; amounts[-1] is the output."""
    if not path:
        raise V2MathError("UniswapV2Library: INVALID_PATH")
    amounts = [amount_out]
    for reserve_in, reserve_out in reversed(path):
        amounts.append(get_amount_in(amounts[-1], reserve_in, reserve_out, fee))
    return amounts[::-1]


def pair_accepts(balances: Reserves, reserves: Reserves, amounts_out: Reserves, fee: V2Fee = UNISWAP_V2_FEE) -> bool:
    """UniswapV2Pair.swap's invariant check, for (token0, token1) balances after the transfer in.

    ``balances`` are the pair's token balances before it pays out; the pair credits as input whatever exceeds
    ``reserve - amountOut``, takes the fee from it and requires the product not to fall.
    """
    if not any(amounts_out):
        return False  # UniswapV2: INSUFFICIENT_OUTPUT_AMOUNT
    fee_part = fee.denominator - fee.numerator
    adjusted, amounts_in = [], []
    for balance_before, reserve, out in zip(balances, reserves, amounts_out, strict=True):
        if out >= reserve:
            return False  # UniswapV2: INSUFFICIENT_LIQUIDITY
        balance = balance_before - out
        amount_in = balance - (reserve - out) if balance > reserve - out else 0
        amounts_in.append(amount_in)
        adjusted.append(balance * fee.denominator - amount_in * fee_part)
    if not any(amounts_in):
        return False  # UniswapV2: INSUFFICIENT_INPUT_AMOUNT
    return adjusted[0] * adjusted[1] >= reserves[0] * reserves[1] * fee.denominator**2
