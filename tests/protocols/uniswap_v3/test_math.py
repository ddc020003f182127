"""The V3 math ported to Python equals v3-core's own libraries, compiled with solc 0.7.6 and run on anvil.

Each hypothesis example is a list of cases sent as one JSON-RPC batch; reverts must match too.
"""

from __future__ import annotations

import doctest
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import defiscope.protocols.uniswap.math.full_math as full_math_module
import defiscope.protocols.uniswap.math.liquidity_math as liquidity_math_module
import defiscope.protocols.uniswap.math.pool_state as pool_state_module
import defiscope.protocols.uniswap.math.position as position_module
import defiscope.protocols.uniswap.math.sqrt_price_math as sqrt_price_math_module
import defiscope.protocols.uniswap.math.swap as swap_module
import defiscope.protocols.uniswap.math.swap_math as swap_math_module
import defiscope.protocols.uniswap.math.tick_bitmap as tick_bitmap_module
import defiscope.protocols.uniswap.math.tick_math as tick_math_module
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.errors import DefiscopeError
from defiscope.protocols.pancakeswap.v3 import PANCAKESWAP_V3
from defiscope.protocols.uniswap.math.errors import MathRevert
from defiscope.protocols.uniswap.math.pool_state import V3PoolState
from defiscope.protocols.uniswap.math.sqrt_price_math import (
    get_amount0_delta,
    get_amount1_delta,
    get_next_sqrt_price_from_input,
    get_next_sqrt_price_from_output,
)
from defiscope.protocols.uniswap.math.swap import swap
from defiscope.protocols.uniswap.math.swap_math import compute_swap_step
from defiscope.protocols.uniswap.math.tick_math import (
    MAX_SQRT_RATIO,
    MAX_TICK,
    MIN_SQRT_RATIO,
    MIN_TICK,
    get_sqrt_ratio_at_tick,
    get_tick_at_sqrt_ratio,
)
from defiscope.protocols.uniswap.v3_spec import UnknownFeeTier
from tests.protocols.uniswap_v3.kit import Fn, eth_call_batch, harness_artifact

BATCH = settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

SQRT_AT_TICK = Fn("getSqrtRatioAtTick", ("int24",), ("uint160",))
TICK_AT_SQRT = Fn("getTickAtSqrtRatio", ("uint160",), ("int24",))
NEXT_FROM_INPUT = Fn("getNextSqrtPriceFromInput", ("uint160", "uint128", "uint256", "bool"), ("uint160",))
NEXT_FROM_OUTPUT = Fn("getNextSqrtPriceFromOutput", ("uint160", "uint128", "uint256", "bool"), ("uint160",))
AMOUNT0 = Fn("getAmount0Delta", ("uint160", "uint160", "uint128", "bool"), ("uint256",))
AMOUNT1 = Fn("getAmount1Delta", ("uint160", "uint160", "uint128", "bool"), ("uint256",))
STEP = Fn(
    "computeSwapStep",
    ("uint160", "uint160", "uint128", "int256", "uint24"),
    ("uint160", "uint256", "uint256", "uint256"),
)

ticks = st.integers(MIN_TICK, MAX_TICK)
prices = st.one_of(
    st.integers(MIN_SQRT_RATIO, MAX_SQRT_RATIO - 1),
    ticks.map(get_sqrt_ratio_at_tick).filter(lambda p: p < MAX_SQRT_RATIO),
    st.integers(MIN_SQRT_RATIO, MIN_SQRT_RATIO + 1000),
    st.integers(MAX_SQRT_RATIO - 1000, MAX_SQRT_RATIO - 1),
)
liquidities = st.one_of(st.integers(1, 2**128 - 1), st.integers(1, 10**24))
amounts = st.one_of(st.integers(0, 2**256 - 1), st.integers(0, 10**30), st.integers(0, 1000))


@pytest.fixture(scope="module")
def harness(devnet: Any) -> tuple[str, str]:
    """(rpc url, harness address) on chain 1; deployed once for the module (pure functions, no state)."""
    chain: DevnetChain = devnet.chain(1)
    sender = Sender.connect(chain.rpc_url)
    return chain.rpc_url, sender.deploy(harness_artifact()).address


def ours(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        result = fn(*args)
    except MathRevert:
        return None
    return result if isinstance(result, tuple) else (result,)


def check(harness: tuple[str, str], fn: Fn, port: Callable[..., Any], cases: list[tuple[Any, ...]]) -> None:
    url, address = harness
    answers = eth_call_batch(url, [(address, fn.calldata(*case)) for case in cases])
    for case, answer in zip(cases, answers, strict=True):
        expected = None if answer is None else fn.decode(answer)
        assert ours(port, *case) == expected, (fn.name, case)


def test_doctests_run() -> None:
    modules = (
        full_math_module,
        liquidity_math_module,
        pool_state_module,
        position_module,
        sqrt_price_math_module,
        swap_module,
        swap_math_module,
        tick_bitmap_module,
        tick_math_module,
    )
    for module in modules:
        failed, attempted = doctest.testmod(module)
        assert (failed, attempted > 0) == (0, True), module.__name__


def test_tick_math_bounds_and_reverts(harness: tuple[str, str]) -> None:
    assert get_sqrt_ratio_at_tick(MIN_TICK) == MIN_SQRT_RATIO
    assert get_sqrt_ratio_at_tick(MAX_TICK) == MAX_SQRT_RATIO
    assert get_tick_at_sqrt_ratio(MIN_SQRT_RATIO) == MIN_TICK
    assert get_tick_at_sqrt_ratio(MAX_SQRT_RATIO - 1) == MAX_TICK - 1
    edges = [MIN_TICK - 1, MIN_TICK, MIN_TICK + 1, -1, 0, 1, MAX_TICK - 1, MAX_TICK, MAX_TICK + 1]
    check(harness, SQRT_AT_TICK, get_sqrt_ratio_at_tick, [(t,) for t in edges])
    edge_prices = [MIN_SQRT_RATIO - 1, MIN_SQRT_RATIO, MIN_SQRT_RATIO + 1, 2**96, MAX_SQRT_RATIO - 1, MAX_SQRT_RATIO]
    check(harness, TICK_AT_SQRT, get_tick_at_sqrt_ratio, [(p,) for p in edge_prices])
    with pytest.raises(MathRevert, match=r"TickMath\.getSqrtRatioAtTick: T"):
        get_sqrt_ratio_at_tick(MAX_TICK + 1)


@BATCH
@given(st.lists(ticks, min_size=150, max_size=150))
def test_sqrt_ratio_at_tick(harness: tuple[str, str], cases: list[int]) -> None:
    check(harness, SQRT_AT_TICK, get_sqrt_ratio_at_tick, [(t,) for t in cases])


@BATCH
@given(st.lists(prices, min_size=150, max_size=150))
def test_tick_at_sqrt_ratio(harness: tuple[str, str], cases: list[int]) -> None:
    check(harness, TICK_AT_SQRT, get_tick_at_sqrt_ratio, [(p,) for p in cases])
    # Around exact tick boundaries the answer flips: both sides of each boundary.
    boundaries = [get_sqrt_ratio_at_tick(get_tick_at_sqrt_ratio(p)) for p in cases]
    check(harness, TICK_AT_SQRT, get_tick_at_sqrt_ratio, [(b - 1,) for b in boundaries if b - 1 >= MIN_SQRT_RATIO])


@BATCH
@given(st.lists(st.tuples(prices, liquidities, amounts, st.booleans()), min_size=150, max_size=150))
def test_next_sqrt_price(harness: tuple[str, str], cases: list[tuple[int, int, int, bool]]) -> None:
    check(harness, NEXT_FROM_INPUT, get_next_sqrt_price_from_input, cases)
    check(harness, NEXT_FROM_OUTPUT, get_next_sqrt_price_from_output, cases)


@BATCH
@given(st.lists(st.tuples(prices, prices, liquidities, st.booleans()), min_size=150, max_size=150))
def test_amount_deltas(harness: tuple[str, str], cases: list[tuple[int, int, int, bool]]) -> None:
    check(harness, AMOUNT0, get_amount0_delta, cases)
    check(harness, AMOUNT1, get_amount1_delta, cases)


fees = st.one_of(st.sampled_from([100, 500, 2500, 3000, 10000]), st.integers(0, 999_999))
signed_amounts = st.one_of(st.integers(-(2**255) + 1, 2**255 - 1), st.integers(-(10**30), 10**30), st.integers(-5, 5))


@BATCH
@given(st.lists(st.tuples(prices, prices, liquidities, signed_amounts, fees), min_size=200, max_size=200))
def test_compute_swap_step(harness: tuple[str, str], cases: list[tuple[int, int, int, int, int]]) -> None:
    check(harness, STEP, compute_swap_step, cases)


def test_bad_input_is_a_clear_defiscope_error() -> None:
    pool = V3PoolState(2**96, 0, 10**18, 500, 10).with_ticks({-100: 10**18, 100: -(10**18)})
    with pytest.raises(DefiscopeError, match=r"AS \(the amount must not be zero\)"):
        swap(pool, True, 0)
    with pytest.raises(DefiscopeError, match=r"SPL \(price limit"):
        swap(pool, True, 10**6, 2**96 + 1)  # a limit above the price for a price-lowering swap
    with pytest.raises(
        UnknownFeeTier, match=r"PancakeSwap V3 has no fee tier 3000 \(tiers in pips: 100, 500, 2500, 10000\)"
    ):
        PANCAKESWAP_V3.tick_spacing(3000)
