"""The pure event appliers against independent models.

V3: any sequence of Mints and Burns applied one by one equals the state rebuilt from the open positions
alone (gross = sum of |liquidity| touching a tick, net = lower +, upper -, bitmap from the ticks,
in-range liquidity = positions containing the tick). Curve: events built from what `curve.math` says the
pool does apply to the same balances, and a log that disagrees with our math raises `CannotApply`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

import pytest
from eth_abi import encode
from hypothesis import given, settings
from hypothesis import strategies as st

from defiscope.protocols.curve.events import CurveBook, apply_curve
from defiscope.protocols.curve.math import (
    A_PRECISION,
    AmpRamp,
    StableSwap,
    add_liquidity,
    exchange,
    remove_liquidity_one_coin,
)
from defiscope.protocols.pool_events import CannotApply, PoolLog, topic
from defiscope.protocols.uniswap.events import V3_BURN, V3_MINT, apply_v2, apply_v3, modify_position
from defiscope.protocols.uniswap.math.pool_state import V3PoolState

SPACING = 10
Position = tuple[int, int]


def tick_word(tick: int) -> str:
    return "0x" + tick.to_bytes(32, "big", signed=True).hex()


def v3_log(kind: str, lower: int, upper: int, amount: int) -> PoolLog:
    owner = "0x" + "00" * 32
    if kind == "mint":
        data = encode(["address", "uint128", "uint256", "uint256"], ["0x" + "11" * 20, amount, 1, 1])
        return PoolLog("0xP", 1, 0, "0xh", (V3_MINT, owner, tick_word(lower), tick_word(upper)), data, None)
    data = encode(["uint128", "uint256", "uint256"], [amount, 0, 0])
    return PoolLog("0xP", 1, 0, "0xh", (V3_BURN, owner, tick_word(lower), tick_word(upper)), data, None)


def rebuilt(base: V3PoolState, positions: dict[Position, int]) -> V3PoolState:
    gross: dict[int, int] = defaultdict(int)
    net: dict[int, int] = defaultdict(int)
    for (lower, upper), liquidity in positions.items():
        if liquidity:
            gross[lower] += liquidity
            gross[upper] += liquidity
            net[lower] += liquidity
            net[upper] -= liquidity
    live = {t: g for t, g in gross.items() if g}
    in_range = sum(liq for (lower, upper), liq in positions.items() if lower <= base.tick < upper)
    state = V3PoolState(base.sqrt_price_x96, base.tick, in_range, base.fee, base.tick_spacing)
    return replace(state.with_ticks({t: net[t] for t in live}), liquidity_gross=live)


ranges = st.tuples(st.integers(-30, 29), st.integers(1, 20)).map(
    lambda r: (r[0] * SPACING * 30, (r[0] + r[1]) * SPACING * 30)
)
actions = st.lists(st.tuples(ranges, st.integers(1, 10**20), st.booleans(), st.integers(1, 4)), max_size=25)


@settings(max_examples=200, deadline=None)
@given(actions=actions, tick=st.integers(-9000, 9000))
def test_mints_and_burns_equal_the_state_rebuilt_from_positions(
    actions: list[tuple[Position, int, bool, int]], tick: int
) -> None:
    base = V3PoolState(2**96, tick, 0, 500, SPACING)
    state, positions = base, defaultdict[Position, int](int)
    for position, amount, burn, share in actions:
        if burn and positions[position]:
            amount = positions[position] // share  # a part, or all (share 1) of the position
            state = apply_v3(state, v3_log("burn", *position, amount))
            positions[position] -= amount
        else:
            state = apply_v3(state, v3_log("mint", *position, amount))
            positions[position] += amount
    assert state == rebuilt(base, positions)


def test_burning_more_than_the_tick_holds_cannot_apply() -> None:
    state = modify_position(V3PoolState(2**96, 0, 0, 500, SPACING), -100, 100, 5)
    with pytest.raises(CannotApply, match="by -6"):
        modify_position(state, -100, 100, -6)


def test_v2_sync_sets_the_reserves_and_nothing_else_does() -> None:
    sync = PoolLog("0xP", 1, 0, "0xh", (topic("Sync(uint112,uint112)"),), encode(["uint112"] * 2, [7, 9]), None)
    other = PoolLog("0xP", 1, 1, "0xh", (topic("Transfer(address,address,uint256)"),), b"", None)
    assert apply_v2((1, 2), sync) == (7, 9)
    assert apply_v2((1, 2), other) == (1, 2)


PARAMS = StableSwap.of(decimals=(18, 6, 6), fee=1_000_000, admin_fee=5 * 10**9)
BOOK = CurveBook(PARAMS, (45 * 10**24, 60 * 10**12, 70 * 10**12), AmpRamp.fixed(2000 * A_PRECISION), 175 * 10**24)
N = 3


def curve_log(signature: str, types: list[str], values: list[object]) -> PoolLog:
    return PoolLog("0xC", 1, 0, "0xh", (topic(signature),), encode(types, values), 0)


@settings(max_examples=60, deadline=None)
@given(i=st.integers(0, N - 1), j=st.integers(0, N - 1), units=st.integers(1, 5 * 10**6))
def test_exchange_event_applies_the_math_state(i: int, j: int, units: int) -> None:
    if i == j:
        return
    dx = units * 10 ** (18 if i == 0 else 6)
    dy, after = exchange(PARAMS, BOOK.state_at(0), i, j, dx)
    log = curve_log("TokenExchange(address,int128,uint256,int128,uint256)", ["int128", "uint256"] * 2, [i, dx, j, dy])
    assert apply_curve(BOOK, log).balances == after.balances
    wrong = curve_log(
        "TokenExchange(address,int128,uint256,int128,uint256)", ["int128", "uint256"] * 2, [i, dx, j, dy - 1]
    )
    with pytest.raises(CannotApply):
        apply_curve(BOOK, wrong)


@settings(max_examples=40, deadline=None)
@given(amounts=st.tuples(*(st.integers(0, 10**6) for _ in range(N))).filter(any))
def test_add_liquidity_event_keeps_the_non_admin_fees(amounts: tuple[int, ...]) -> None:
    raw = [a * 10**d for a, d in zip(amounts, (18, 6, 6), strict=True)]
    deposit = add_liquidity(PARAMS, BOOK.state_at(0), raw)
    d1 = 0  # the invariant field is not used by the update
    log = curve_log(
        "AddLiquidity(address,uint256[3],uint256[3],uint256,uint256)",
        ["uint256[3]", "uint256[3]", "uint256", "uint256"],
        [raw, list(deposit.fees), d1, BOOK.supply + deposit.minted],  # type: ignore[operator]
    )
    after = apply_curve(BOOK, log)
    assert (after.balances, after.supply) == (deposit.state.balances, deposit.state.supply)


@pytest.mark.parametrize("with_supply", [True, False])
@pytest.mark.parametrize("coin", range(N))
def test_remove_one_finds_its_coin_from_the_amount(coin: int, with_supply: bool) -> None:
    burnt = 3 * 10**24
    paid, after = remove_liquidity_one_coin(PARAMS, BOOK.state_at(0), burnt, coin)
    if with_supply:  # our devnet pool and newer pools: token_supply after
        log = curve_log(
            "RemoveLiquidityOne(address,uint256,uint256,uint256)", ["uint256"] * 3, [burnt, paid, after.supply]
        )
    else:  # the 3pool's form: the supply comes from the book
        log = curve_log("RemoveLiquidityOne(address,uint256,uint256)", ["uint256"] * 2, [burnt, paid])
    result = apply_curve(BOOK, log)
    assert (result.balances, result.supply) == (after.balances, after.supply)
    with pytest.raises(CannotApply, match="0 coins match"):
        apply_curve(BOOK, curve_log("RemoveLiquidityOne(address,uint256,uint256)", ["uint256"] * 2, [burnt, paid + 7]))


def test_ramp_events_set_the_ramp_and_exchange_needs_the_block_time_while_ramping() -> None:
    ramp = curve_log("RampA(uint256,uint256,uint256,uint256)", ["uint256"] * 4, [200_000, 400_000, 1000, 1000 + 86400])
    ramping = apply_curve(BOOK, ramp)
    assert ramping.ramp == AmpRamp(200_000, 400_000, 1000, 87400)
    assert ramping.state_at(1000 + 43200).amp == 300_000
    dy, _ = exchange(PARAMS, ramping.state_at(5000), 0, 1, 10**24)
    untimed = PoolLog(
        "0xC",
        1,
        0,
        "0xh",
        (topic("TokenExchange(address,int128,uint256,int128,uint256)"),),
        encode(["int128", "uint256"] * 2, [0, 10**24, 1, dy]),
        None,
    )
    with pytest.raises(CannotApply, match="block time is unknown"):
        apply_curve(ramping, untimed)
    stop = curve_log("StopRampA(uint256,uint256)", ["uint256"] * 2, [300_000, 44200])
    assert apply_curve(ramping, stop).ramp == AmpRamp(300_000, 300_000, 44200, 44200)
