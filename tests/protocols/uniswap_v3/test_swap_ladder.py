"""The swap ladder equals the swap loop (itself proven against the pools in test_swap.py) to the wei.

Pools are drawn as sets of positions (so liquidityNet and the in-range liquidity agree, as on chain), on
every tick spacing, around any price; amounts include each ladder threshold and its neighbours, where a
step switches from partial to whole, and amounts beyond all liquidity.
"""

from __future__ import annotations

import doctest

from hypothesis import given, settings
from hypothesis import strategies as st

import defiscope.protocols.uniswap.math.swap_ladder as swap_ladder_module
from defiscope.protocols.uniswap.math.errors import MathRevert
from defiscope.protocols.uniswap.math.pool_state import V3PoolState
from defiscope.protocols.uniswap.math.swap import swap
from defiscope.protocols.uniswap.math.swap_ladder import SwapLadder, build_ladder, ladder_swap, tick_at_sqrt_ratio
from defiscope.protocols.uniswap.math.tick_math import (
    MAX_SQRT_RATIO,
    MAX_TICK,
    MIN_SQRT_RATIO,
    MIN_TICK,
    get_sqrt_ratio_at_tick,
    get_tick_at_sqrt_ratio,
)

FEES = {1: 100, 10: 500, 50: 2500, 60: 3000, 200: 10000}


@st.composite
def pool_states(draw: st.DrawFn) -> V3PoolState:
    # Spacing 1 walks 7,000 bitmap words to drain a pool: drawn less often, it would dominate the time.
    spacing = draw(st.sampled_from([10, 50, 60, 200, 10, 60, 200, 1]))
    fee = FEES[spacing]
    lowest, highest = -(MAX_TICK // spacing), MAX_TICK // spacing
    centre = draw(st.one_of(st.integers(-3000, 3000), st.integers(lowest + 50, highest - 50)))
    positions = draw(
        st.lists(
            st.tuples(
                st.integers(max(lowest, centre - 60), min(highest, centre + 60)),
                st.integers(1, 40),
                st.one_of(st.integers(1, 10**24), st.integers(1, 2**100)),
            ),
            min_size=0,
            max_size=12,
        )
    )
    full_range = draw(st.booleans())
    if full_range:
        positions.append((lowest, highest - lowest, draw(st.integers(1, 10**22))))
    net: dict[int, int] = {}
    bounds = []
    for start, width, amount in positions:
        lower, upper = start * spacing, min(start + width, highest) * spacing
        if lower >= upper:
            continue
        net[lower] = net.get(lower, 0) + amount
        net[upper] = net.get(upper, 0) - amount
        bounds.append((lower, upper, amount))
    net = {t: n for t, n in net.items() if n != 0}
    # Any price between the ticks, or exactly on one (where a zero-length first step crosses it).
    if draw(st.booleans()) and net:
        tick = draw(st.sampled_from(sorted(net)))
        price = min(get_sqrt_ratio_at_tick(tick), MAX_SQRT_RATIO - 2)
    else:
        tick = centre * spacing + draw(st.integers(0, spacing - 1))
        tick = min(max(tick, MIN_TICK), MAX_TICK - 1)
        low, high = get_sqrt_ratio_at_tick(tick), get_sqrt_ratio_at_tick(tick + 1)
        price = draw(st.integers(low, high - 1))
    tick = get_tick_at_sqrt_ratio(price)
    liquidity = sum(amount for lower, upper, amount in bounds if lower <= tick < upper)
    # Ticks whose net cancelled to 0 stay initialized on chain only if some gross remains; dropping them
    # keeps the drawn state one a pool could hold.
    return V3PoolState(price, tick, liquidity, fee, spacing).with_ticks(net)


def _outcome(state: V3PoolState, zero_for_one: bool, amount: int) -> object:
    try:
        return swap(state, zero_for_one, amount)
    except MathRevert as exc:
        return type(exc)


def _ladder_outcome(state: V3PoolState, zero_for_one: bool, amount: int) -> object:
    try:
        return ladder_swap(build_ladder(state, zero_for_one), amount)
    except MathRevert as exc:
        return type(exc)


@settings(max_examples=200, deadline=None)
@given(state=pool_states(), zero_for_one=st.booleans(), data=st.data())
def test_ladder_equals_the_loop(state: V3PoolState, zero_for_one: bool, data: st.DataObject) -> None:
    limit_ok = state.sqrt_price_x96 > MIN_SQRT_RATIO + 1 if zero_for_one else state.sqrt_price_x96 < MAX_SQRT_RATIO - 1
    if not limit_ok:
        return
    ladder = build_ladder(state, zero_for_one)
    edges = [t + d for t in ladder.thresholds for d in (-1, 0, 1) if t + d > 0]
    amounts = data.draw(
        st.lists(
            st.one_of(
                st.sampled_from(edges) if edges else st.just(1),
                st.integers(1, 1000),
                st.integers(1, 10**30),
                st.integers(1, 2**255 - 1),
            ),
            min_size=4,
            max_size=8,
        )
    )
    lazy = SwapLadder(state, zero_for_one)  # walked only as far as each amount needs, in drawn order
    for amount in amounts:
        expected = swap(state, zero_for_one, amount)
        assert ladder_swap(ladder, amount) == expected, amount
        assert ladder_swap(lazy, amount) == expected, amount


def test_ladder_crossing_many_ticks_and_draining_the_pool() -> None:
    spacing = 10
    # 39 positions [-30i, 30i]: buying token0 crosses all 39 upper ticks and leaves no liquidity.
    net = {t: n for i in range(1, 40) for t, n in ((-30 * i, 10**18), (30 * i, -(10**18)))}
    state = V3PoolState(2**96, 0, 39 * 10**18, 500, spacing).with_ticks(net)
    ladder = build_ladder(state, zero_for_one=False)
    for amount in (1, 10**6, 10**18, 10**19, 3 * 10**19, 10**40):
        assert ladder_swap(ladder, amount) == swap(state, False, amount)
    drained = ladder_swap(ladder, 10**40)
    assert drained.liquidity == 0
    assert drained.ticks_crossed == 39
    assert drained.sqrt_price_x96 == MAX_SQRT_RATIO - 1


def test_zero_amount_reverts_as_the_pool() -> None:
    state = V3PoolState(2**96, 0, 10**18, 3000, 60).with_ticks({-600: 10**18, 600: -(10**18)})
    assert _outcome(state, True, 0) is MathRevert
    assert _ladder_outcome(state, True, 0) is MathRevert


@settings(max_examples=2000, deadline=None)
@given(
    price=st.one_of(
        st.integers(MIN_SQRT_RATIO, MAX_SQRT_RATIO - 1),
        st.integers(MIN_TICK, MAX_TICK - 1).map(get_sqrt_ratio_at_tick),
        st.integers(MIN_TICK + 1, MAX_TICK - 1).map(lambda t: get_sqrt_ratio_at_tick(t) - 1),
        st.integers(MIN_SQRT_RATIO, MIN_SQRT_RATIO + 10**6),
        st.integers(MAX_SQRT_RATIO - 10**6, MAX_SQRT_RATIO - 1),
    )
)
def test_tick_by_its_property_equals_the_contracts_log(price: int) -> None:
    assert tick_at_sqrt_ratio(price) == get_tick_at_sqrt_ratio(price)


def test_doctests() -> None:
    assert doctest.testmod(swap_ladder_module).failed == 0
