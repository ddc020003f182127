"""Uniswap V3 `SwapMath.computeSwapStep` (v3-core `libraries/SwapMath.sol`): one step of a swap.

Within one tick range liquidity is constant; a step moves the price from ``sqrt_ratio_current`` toward
``sqrt_ratio_target`` until the target or the remaining amount is exhausted. ``amount_remaining`` is
positive for exact input, negative for exact output (the pool's convention). The fee is taken on the
input: the contract's rounding (fee rounded up, or the whole remainder when the step ends inside the range)
is kept.

    >>> step = compute_swap_step(2**96, 2**96 * 101 // 100, 10**18, 10**15, 3000)
    >>> step.amount_in, step.amount_out, step.fee_amount
    (997000000000000, 996006981039903, 3000000000000)
"""

from __future__ import annotations

from typing import Final, NamedTuple

from defiscope.protocols.uniswap.math.full_math import mul_div_rounding_up
from defiscope.protocols.uniswap.math.sqrt_price_math import (
    get_amount0_delta,
    get_amount1_delta,
    get_next_sqrt_price_from_input,
    get_next_sqrt_price_from_output,
)

FEE_DENOMINATOR: Final = 1_000_000  # fees are in hundredths of a basis point ("pips")


class SwapStep(NamedTuple):
    """`computeSwapStep`'s return values, in its order."""

    sqrt_ratio_next_x96: int
    amount_in: int
    amount_out: int
    fee_amount: int


def compute_swap_step(
    sqrt_ratio_current_x96: int,
    sqrt_ratio_target_x96: int,
    liquidity: int,
    amount_remaining: int,
    fee_pips: int,
) -> SwapStep:
    """Mirrors `SwapMath.computeSwapStep(uint160,uint160,uint128,int256,uint24)`."""
    zero_for_one = sqrt_ratio_current_x96 >= sqrt_ratio_target_x96
    exact_in = amount_remaining >= 0
    amount_in = amount_out = 0

    if exact_in:
        # mulDiv(amountRemaining, 1e6 - fee, 1e6) <= amountRemaining: no overflow to check.
        amount_remaining_less_fee = amount_remaining * (FEE_DENOMINATOR - fee_pips) // FEE_DENOMINATOR
        amount_in = (
            get_amount0_delta(sqrt_ratio_target_x96, sqrt_ratio_current_x96, liquidity, True)
            if zero_for_one
            else get_amount1_delta(sqrt_ratio_current_x96, sqrt_ratio_target_x96, liquidity, True)
        )
        if amount_remaining_less_fee >= amount_in:
            sqrt_ratio_next_x96 = sqrt_ratio_target_x96
        else:
            sqrt_ratio_next_x96 = get_next_sqrt_price_from_input(
                sqrt_ratio_current_x96, liquidity, amount_remaining_less_fee, zero_for_one
            )
    else:
        amount_out = (
            get_amount1_delta(sqrt_ratio_target_x96, sqrt_ratio_current_x96, liquidity, False)
            if zero_for_one
            else get_amount0_delta(sqrt_ratio_current_x96, sqrt_ratio_target_x96, liquidity, False)
        )
        if -amount_remaining >= amount_out:
            sqrt_ratio_next_x96 = sqrt_ratio_target_x96
        else:
            sqrt_ratio_next_x96 = get_next_sqrt_price_from_output(
                sqrt_ratio_current_x96, liquidity, -amount_remaining, zero_for_one
            )

    reached = sqrt_ratio_target_x96 == sqrt_ratio_next_x96
    # Recompute whichever amount the branch above did not fix, from the price actually reached.
    if zero_for_one:
        if not (reached and exact_in):
            amount_in = get_amount0_delta(sqrt_ratio_next_x96, sqrt_ratio_current_x96, liquidity, True)
        if not (reached and not exact_in):
            amount_out = get_amount1_delta(sqrt_ratio_next_x96, sqrt_ratio_current_x96, liquidity, False)
    else:
        if not (reached and exact_in):
            amount_in = get_amount1_delta(sqrt_ratio_current_x96, sqrt_ratio_next_x96, liquidity, True)
        if not (reached and not exact_in):
            amount_out = get_amount0_delta(sqrt_ratio_current_x96, sqrt_ratio_next_x96, liquidity, False)

    # The output never exceeds what was asked for.
    if not exact_in and amount_out > -amount_remaining:
        amount_out = -amount_remaining

    if exact_in and sqrt_ratio_next_x96 != sqrt_ratio_target_x96:
        # The target was not reached: the rest of the input is the fee.
        fee_amount = amount_remaining - amount_in
    else:
        fee_amount = mul_div_rounding_up(amount_in, fee_pips, FEE_DENOMINATOR - fee_pips)
    return SwapStep(sqrt_ratio_next_x96, amount_in, amount_out, fee_amount)
