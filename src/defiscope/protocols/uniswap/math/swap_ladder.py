"""Exact-input swaps on one pool state by lookup: the swap's whole steps, computed once per state.

A step of `swap` that reaches its target (the next initialized tick or bitmap-word edge) takes and pays
amounts that depend only on where it starts, its target and the liquidity — not on how much is left to
swap. So for one pool state and direction the run of whole steps is fixed: step k completes exactly when
the input left at its start, ``r``, satisfies ``r * (1e6 - fee) // 1e6 >= amountIn_k`` (that is, ``r >=
ceil(amountIn_k * 1e6 / (1e6 - fee))``, and ``r > 0`` or the loop has already stopped).

`SwapLadder` walks the swap with an unbounded input (as far as asked) and keeps, before each step, the loop's
variables and the input consumed so far; ``thresholds[k]`` is the least input for which steps 0..k all
complete (a running maximum, so it only grows). `ladder_swap` finds by bisection how many whole steps an
amount completes, then runs the one partial step — itself, or through `swap.resume` for the rare step
whose rounding lands exactly on its target — so its result is the loop's, to the wei, in a few µs however
many ticks it crosses. Routers quote many amounts on the state of one block; that is what this is for.

    >>> from defiscope.protocols.uniswap.math.pool_state import V3PoolState
    >>> from defiscope.protocols.uniswap.math.swap import swap
    >>> pool = V3PoolState(2**96, 0, 10**18, 3000, 60).with_ticks({-600: 10**18, 600: -(10**18)})
    >>> ladder = build_ladder(pool, zero_for_one=True)
    >>> ladder_swap(ladder, 10**17) == swap(pool, True, 10**17)
    True
"""

from __future__ import annotations

import math
from bisect import bisect_right
from typing import Final

from defiscope.protocols.uniswap.math.errors import MathRevert
from defiscope.protocols.uniswap.math.pool_state import V3PoolState
from defiscope.protocols.uniswap.math.sqrt_price_math import (
    get_amount0_delta,
    get_amount1_delta,
    get_next_sqrt_price_from_amount0_rounding_up,
    get_next_sqrt_price_from_amount1_rounding_down,
)
from defiscope.protocols.uniswap.math.swap import (
    Checkpoint,
    SwapResult,
    after_step,
    default_price_limit,
    resume,
    step_target,
)
from defiscope.protocols.uniswap.math.swap_math import FEE_DENOMINATOR, compute_swap_step
from defiscope.protocols.uniswap.math.tick_math import (
    MAX_TICK,
    MIN_TICK,
    get_sqrt_ratio_at_tick,
)

#: An input no step can exhaust: every step of the walk reaches its target.
_UNBOUNDED: Final = 2**256
_LN_SQRT_10001: Final = math.log(1.0001) / 2
_LN_Q96: Final = 96 * math.log(2)


class SwapLadder:
    """The whole steps of an exact-input swap on ``state`` in one direction, to the default price limit.

    Built lazily: steps are walked only as far as the largest amount asked for so far, so a ladder costs
    what the largest quote on it would. Index k describes step k; the checkpoint lists have one entry more
    (where the walk stands). Not thread-safe: one ladder per thread, or build before sharing.
    """

    __slots__ = (
        "_last_tick",
        "checkpoints",
        "consumed",
        "finished",
        "limit",
        "produced",
        "state",
        "targets",
        "thresholds",
        "zero_for_one",
    )

    def __init__(self, state: V3PoolState, zero_for_one: bool) -> None:
        self.state, self.zero_for_one = state, zero_for_one
        self.limit = default_price_limit(zero_for_one)
        self.thresholds: list[int] = []  # least input that completes steps 0..k
        self.targets: list[int] = []  # price step k moves to
        self.checkpoints = [Checkpoint(state.sqrt_price_x96, state.tick, state.liquidity, 0)]  # before step k
        self.consumed, self.produced = [0], [0]  # input (amount + fee) used, output paid, by steps before k
        self.finished = state.sqrt_price_x96 == self.limit
        # Past the last initialized tick in this direction the liquidity is 0 and every step is free: the
        # walk jumps straight to the limit (as the loop would, a word at a time, taking and paying nothing).
        ticks = state.liquidity_net.keys()
        self._last_tick = (min(ticks) if zero_for_one else max(ticks)) if ticks else None

    def extend(self, amount_in: int) -> None:
        """Walk on until a step needs more than ``amount_in`` to complete, or the limit is reached."""
        while not self.finished and (not self.thresholds or self.thresholds[-1] <= amount_in):
            self._step()

    def _step(self) -> None:
        state, zero_for_one, limit, last_tick = self.state, self.zero_for_one, self.limit, self._last_tick
        fee = state.fee
        at = self.checkpoints[-1]
        price_start, tick, liquidity = at.price, at.tick, at.liquidity
        beyond = last_tick is None or (tick < last_tick if zero_for_one else tick >= last_tick)
        if liquidity == 0 and beyond:
            tick_next, initialized, target, price_next = tick, False, limit, 0
            step_in = step_out = step_fee = 0
            price = limit
        else:
            tick_next, initialized, price_next, target = step_target(state, tick, zero_for_one, limit)
            price, step_in, step_out, step_fee = compute_swap_step(price_start, target, liquidity, _UNBOUNDED, fee)
        # The least remaining input r with r * (1e6 - fee) // 1e6 >= step_in, and r > 0.
        need = max(-(-step_in * FEE_DENOMINATOR // (FEE_DENOMINATOR - fee)), 1)
        self.thresholds.append(max(self.thresholds[-1] if self.thresholds else 0, self.consumed[-1] + need))
        self.targets.append(target)
        tick, liquidity, crossed = after_step(
            state, zero_for_one, price, price_start, price_next, tick_next, initialized, at
        )
        self.checkpoints.append(Checkpoint(price, tick, liquidity, crossed))
        self.consumed.append(self.consumed[-1] + step_in + step_fee)
        self.produced.append(self.produced[-1] + step_out)
        self.finished = price == limit


def build_ladder(state: V3PoolState, zero_for_one: bool, up_to: int | None = None) -> SwapLadder:
    """A ladder walked for amounts up to ``up_to`` (None: all the way to the price limit)."""
    ladder = SwapLadder(state, zero_for_one)
    ladder.extend(_UNBOUNDED if up_to is None else up_to)
    return ladder


def ladder_swap(ladder: SwapLadder, amount_in: int) -> SwapResult:
    """Equals ``swap(ladder.state, ladder.zero_for_one, amount_in)`` for an exact input (> 0)."""
    if amount_in <= 0:
        raise MathRevert("UniswapV3Pool.swap: AS (the amount must be positive for an exact input)")
    if not ladder.finished and (not ladder.thresholds or ladder.thresholds[-1] <= amount_in):
        ladder.extend(amount_in)
    k = bisect_right(ladder.thresholds, amount_in)  # steps 0..k-1 complete
    price, tick, liquidity, crossed = ladder.checkpoints[k]
    remaining = amount_in - ladder.consumed[k]
    out = ladder.produced[k]
    zero_for_one = ladder.zero_for_one
    if remaining and k < len(ladder.thresholds):
        # Step k cannot reach its target (remaining < its threshold, so liquidity > 0): the rest of the
        # input is spent inside the range, the part past the step's own input being the fee.
        less_fee = remaining * (FEE_DENOMINATOR - ladder.state.fee) // FEE_DENOMINATOR
        if zero_for_one:
            after = get_next_sqrt_price_from_amount0_rounding_up(price, liquidity, less_fee, True)
        else:
            after = get_next_sqrt_price_from_amount1_rounding_down(price, liquidity, less_fee, True)
        if after == ladder.targets[k]:
            # Rounding landed on the target after all: the loop treats that as a completed step.
            at = Checkpoint(price, tick, liquidity, crossed)
            return resume(ladder.state, zero_for_one, amount_in, ladder.limit, at, remaining, -out)
        if zero_for_one:
            out += get_amount1_delta(after, price, liquidity, False)
        else:
            out += get_amount0_delta(price, after, liquidity, False)
        if after != price:
            tick = tick_at_sqrt_ratio(after)
        price, remaining = after, 0
    used = amount_in - remaining
    if zero_for_one:
        return SwapResult(used, -out, price, tick, liquidity, crossed)
    return SwapResult(-out, used, price, tick, liquidity, crossed)


def tick_at_sqrt_ratio(sqrt_price_x96: int) -> int:
    """`get_tick_at_sqrt_ratio`, by its defining property instead of the contract's fixed-point log.

    The contract returns the greatest tick whose ratio is <= the price (v3-core's TickMath echidna test
    asserts ``getSqrtRatioAtTick(t) <= price < getSqrtRatioAtTick(t + 1)``). A float log lands within a
    tick of it; integer comparisons with the (memoised) exact ratios settle it.
    """
    tick = math.floor((math.log(sqrt_price_x96) - _LN_Q96) / _LN_SQRT_10001)
    tick = min(max(tick, MIN_TICK), MAX_TICK - 1)
    while tick > MIN_TICK and get_sqrt_ratio_at_tick(tick) > sqrt_price_x96:
        tick -= 1
    while tick < MAX_TICK - 1 and get_sqrt_ratio_at_tick(tick + 1) <= sqrt_price_x96:
        tick += 1
    return tick
