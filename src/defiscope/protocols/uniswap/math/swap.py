"""The swap loop of `UniswapV3Pool.swap` (v3-core `UniswapV3Pool.sol`), run on a `V3PoolState`.

Steps from one initialized tick (or bitmap-word edge) to the next with `computeSwapStep`, crossing ticks
(liquidity += liquidityNet, negated when moving left) until the amount is spent or the price limit is
hit. PancakeSwap V3's loop is the same (its protocol-fee and farming hooks do not change amounts).
Fee-growth, oracle and protocol-fee bookkeeping are left out: they never change the amounts.

    >>> from defiscope.protocols.uniswap.math.pool_state import V3PoolState
    >>> pool = V3PoolState(2**96, 0, 10**18, 3000, 60).with_ticks({-600: 10**18, 600: -(10**18)})
    >>> result = swap(pool, zero_for_one=True, amount_specified=10**15)
    >>> result.amount0, result.amount1, result.ticks_crossed
    (1000000000000000, -996006981039903, 0)
"""

from __future__ import annotations

from typing import NamedTuple

from defiscope.protocols.uniswap.math.errors import MathRevert
from defiscope.protocols.uniswap.math.liquidity_math import add_delta
from defiscope.protocols.uniswap.math.pool_state import V3PoolState
from defiscope.protocols.uniswap.math.swap_math import compute_swap_step
from defiscope.protocols.uniswap.math.tick_bitmap import next_initialized_tick_within_one_word
from defiscope.protocols.uniswap.math.tick_math import (
    MAX_SQRT_RATIO,
    MAX_TICK,
    MIN_SQRT_RATIO,
    MIN_TICK,
    get_sqrt_ratio_at_tick,
    get_tick_at_sqrt_ratio,
)


class SwapResult(NamedTuple):
    """Pool deltas (positive: paid into the pool; negative: paid out) and the state after the swap."""

    amount0: int
    amount1: int
    sqrt_price_x96: int
    tick: int
    liquidity: int
    ticks_crossed: int


def default_price_limit(zero_for_one: bool) -> int:
    """The limit routers and the Quoter use when none is given: one step inside the valid range."""
    return MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1


def swap(
    state: V3PoolState,
    zero_for_one: bool,
    amount_specified: int,
    sqrt_price_limit_x96: int | None = None,
) -> SwapResult:
    """Mirrors `UniswapV3Pool.swap(recipient, zeroForOne, amountSpecified, sqrtPriceLimitX96, data)`.

    ``amount_specified`` > 0 is an exact input, < 0 an exact output. Reverts (`MathRevert`) as the pool
    does: "AS" for a zero amount, "SPL" for a limit on the wrong side of the price or out of range.
    """
    if amount_specified == 0:
        raise MathRevert("UniswapV3Pool.swap: AS (the amount must not be zero)")
    limit = default_price_limit(zero_for_one) if sqrt_price_limit_x96 is None else sqrt_price_limit_x96
    price = state.sqrt_price_x96
    valid = MIN_SQRT_RATIO < limit < price if zero_for_one else price < limit < MAX_SQRT_RATIO
    if not valid:
        raise MathRevert(f"UniswapV3Pool.swap: SPL (price limit {limit} invalid for price {price})")

    start = Checkpoint(price, state.tick, state.liquidity, 0)
    return resume(state, zero_for_one, amount_specified, limit, start, amount_specified, 0)


class Checkpoint(NamedTuple):
    """The loop's variables between two steps: where a swap stands."""

    price: int
    tick: int
    liquidity: int
    crossed: int


def resume(
    state: V3PoolState,
    zero_for_one: bool,
    amount_specified: int,
    limit: int,
    at: Checkpoint,
    remaining: int,
    calculated: int,
) -> SwapResult:
    """The swap loop from ``at`` with ``remaining`` still to swap and ``calculated`` so far (`swap_ladder`
    resumes here after skipping the steps it precomputed)."""
    exact_input = amount_specified > 0
    price, tick, liquidity, crossed = at
    fee = state.fee

    while remaining != 0 and price != limit:
        price_start = price
        tick_next, initialized, price_next, target = step_target(state, tick, zero_for_one, limit)
        price, amount_in, amount_out, fee_amount = compute_swap_step(price, target, liquidity, remaining, fee)
        if exact_input:
            remaining -= amount_in + fee_amount
            calculated -= amount_out
        else:
            remaining += amount_out
            calculated += amount_in + fee_amount
        tick, liquidity, crossed = after_step(
            state,
            zero_for_one,
            price,
            price_start,
            price_next,
            tick_next,
            initialized,
            Checkpoint(price, tick, liquidity, crossed),
        )

    if zero_for_one == exact_input:
        amount0, amount1 = amount_specified - remaining, calculated
    else:
        amount0, amount1 = calculated, amount_specified - remaining
    return SwapResult(amount0, amount1, price, tick, liquidity, crossed)


def step_target(state: V3PoolState, tick: int, zero_for_one: bool, limit: int) -> tuple[int, bool, int, int]:
    """Where the step from ``tick`` heads: (next tick, whether it is initialized, its price, the target
    price — the tick's, or the limit if that comes first)."""
    tick_next, initialized = next_initialized_tick_within_one_word(state.words, tick, state.tick_spacing, zero_for_one)
    tick_next = min(max(tick_next, MIN_TICK), MAX_TICK)
    price_next = get_sqrt_ratio_at_tick(tick_next)
    target = limit if (price_next < limit if zero_for_one else price_next > limit) else price_next
    return tick_next, initialized, price_next, target


def after_step(
    state: V3PoolState,
    zero_for_one: bool,
    price: int,
    price_start: int,
    price_next: int,
    tick_next: int,
    initialized: bool,
    at: Checkpoint,
) -> tuple[int, int, int]:
    """(tick, liquidity, ticks crossed) once a step from ``at`` left the price at ``price``."""
    _, tick, liquidity, crossed = at
    if price == price_next:
        if initialized:
            net = state.liquidity_net[tick_next]
            liquidity = add_delta(liquidity, -net if zero_for_one else net)
            crossed += 1
        tick = tick_next - 1 if zero_for_one else tick_next
    elif price != price_start:
        # Moved inside the range without reaching its end: the tick follows the price.
        tick = get_tick_at_sqrt_ratio(price)
    return tick, liquidity, crossed
