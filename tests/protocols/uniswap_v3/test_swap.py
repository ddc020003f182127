"""Our V3 swap on a pool state read from the chain equals the real pools, to the wei.

* Uniswap V3: QuoterV2 (`quoteExactInputSingle` / `quoteExactOutputSingle`) and the pool itself (a
  `V3PoolCaller.swap` eth_call), for exact input and exact output, with and without price limits;
* PancakeSwap V3: its pool itself, the same way;
* a sample of real SwapRouter transactions: balance deltas equal our quote.

Cases include 1-wei amounts, pool-draining ones, limits next to MIN/MAX_SQRT_RATIO and on the wrong side of
the price (both sides must revert), and swaps over extra positions so many initialized ticks are crossed.
Each hypothesis example is one JSON-RPC batch of eth_calls per pool.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from defiscope.devnet.artifacts import npm_artifact
from defiscope.devnet.tx import DEADLINE, Sender
from defiscope.devnet.world import DevnetChain, DevnetPool
from defiscope.protocols.uniswap.math.errors import MathRevert
from defiscope.protocols.uniswap.math.pool_state import V3PoolState
from defiscope.protocols.uniswap.math.swap import SwapResult, swap
from defiscope.protocols.uniswap.math.tick_math import MAX_SQRT_RATIO, MIN_SQRT_RATIO
from tests.protocols.uniswap_v3.kit import (
    CALLER_SWAP,
    QUOTE_EXACT_INPUT,
    QUOTE_EXACT_OUTPUT,
    add_positions,
    eth_call_batch,
    fund_owner_hugely,
    hugely_fundable,
    pool_states,
)

BATCH = settings(
    max_examples=2,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: each example is a whole batch
)
CASES_PER_POOL = 60


class Case(NamedTuple):
    zero_for_one: bool
    exact_input: bool
    amount: int
    limit: tuple[str, int]  # (kind, parameter): resolved against the pool's price by `price_limit`


amounts = st.one_of(
    st.integers(1, 10),
    st.integers(1, 10**9),
    st.integers(1, 10**22),
    st.integers(10**22, 10**30),
    st.integers(10**30, 2**150),  # drains any seeded pool
)
limits = st.one_of(
    st.just(("none", 0)),
    st.tuples(st.just("extreme"), st.integers(1, 1000)),  # 1..1000 inside MIN/MAX_SQRT_RATIO
    st.tuples(st.just("between"), st.integers(1, 2**32 - 1)),  # a fraction of the way to the extreme
    st.tuples(st.just("near"), st.integers(1, 10**6)),  # just past the current price
    st.tuples(st.just("wrong"), st.integers(0, 10**6)),  # on the wrong side: SPL
)
cases = st.lists(
    st.builds(Case, st.booleans(), st.booleans(), amounts, limits), min_size=CASES_PER_POOL, max_size=CASES_PER_POOL
)

#: Always checked beside the drawn cases: 1 wei, drains to the extremes, limits one step inside them.
EDGES: tuple[Case, ...] = tuple(
    Case(zero_for_one, exact_input, amount, limit)
    for zero_for_one in (True, False)
    for exact_input in (True, False)
    for amount, limit in ((1, ("none", 0)), (2**150, ("none", 0)), (2**150, ("extreme", 1)), (10**30, ("near", 1)))
)


def price_limit(state: V3PoolState, case: Case) -> int | None:
    kind, value = case.limit
    price, zfo = state.sqrt_price_x96, case.zero_for_one
    extreme = MIN_SQRT_RATIO if zfo else MAX_SQRT_RATIO
    if kind == "none":
        return None
    if kind == "extreme":
        return extreme + value if zfo else extreme - value
    if kind == "between":
        return price + (extreme - price) * value // 2**32
    if kind == "near":
        return price - value if zfo else price + value
    return price + value if zfo else price - value


def ours(state: V3PoolState, case: Case) -> SwapResult | None:
    amount = case.amount if case.exact_input else -case.amount
    try:
        return swap(state, case.zero_for_one, amount, price_limit(state, case))
    except MathRevert:
        return None


def quoter_call(pool: DevnetPool, quoter: str, case: Case, limit: int | None) -> tuple[str, str]:
    token_in, token_out = (pool.token0, pool.token1) if case.zero_for_one else (pool.token1, pool.token0)
    fn = QUOTE_EXACT_INPUT if case.exact_input else QUOTE_EXACT_OUTPUT
    return quoter, fn.calldata((token_in, token_out, case.amount, pool.fee, limit or 0))


def quoter_expectation(case: Case, result: SwapResult | None) -> tuple[int, int] | None:
    """What QuoterV2 returns for our result: (amount out or in, price after); None where it reverts."""
    if result is None:
        return None
    delta_in, delta_out = (result.amount0, result.amount1) if case.zero_for_one else (result.amount1, result.amount0)
    if case.exact_input:
        return -delta_out, result.sqrt_price_x96
    if case.limit[0] == "none" and -delta_out != case.amount:
        return None  # without a limit QuoterV2 insists on the full output
    return delta_in, result.sqrt_price_x96


@pytest.fixture
def uniswap(eth_chain: DevnetChain) -> tuple[DevnetChain, list[DevnetPool], list[V3PoolState]]:
    return prepared(eth_chain, "uniswap-v3")


@pytest.fixture
def pancake(bnb_chain: DevnetChain) -> tuple[DevnetChain, list[DevnetPool], list[V3PoolState]]:
    return prepared(bnb_chain, "pancakeswap-v3")


def prepared(chain: DevnetChain, dex: Any) -> tuple[DevnetChain, list[DevnetPool], list[V3PoolState]]:
    """Fund the owner, add 25 narrow positions to the first pool (so swaps cross 10+ ticks), read states."""
    sender = Sender.connect(chain.rpc_url)
    fund_owner_hugely(sender, chain)
    # The differential cases pay any amount: only pools of tokens account 0 can hold hugely (not the governance
    # tokens, which have no open mint: a case they cannot pay reverts in the pool for want of funds, not math).
    pools = [p for p in chain.pools_of(dex) if {p.token0, p.token1} <= hugely_fundable(chain)]
    (first,) = pool_states(chain, [pools[0].address])
    add_positions(sender, chain, first, pools[0].address, 25, seed=chain.chain_id)
    return chain, pools, pool_states(chain, [p.address for p in pools])


def caller_call(chain: DevnetChain, pool: DevnetPool, state: V3PoolState, case: Case) -> tuple[str, str]:
    limit = price_limit(state, case)
    if limit is None:
        limit = MIN_SQRT_RATIO + 1 if case.zero_for_one else MAX_SQRT_RATIO - 1
    amount = case.amount if case.exact_input else -case.amount
    owner = Sender.connect(chain.rpc_url).owner
    return chain.contracts["V3PoolCaller"], CALLER_SWAP.calldata(pool.address, owner, case.zero_for_one, amount, limit)


def compare_with_pools(
    chain: DevnetChain, pools: list[DevnetPool], states: list[V3PoolState], drawn: list[Case]
) -> int:
    """Every case on every pool against the pool itself; returns the most initialized ticks one case crossed."""
    owner = Sender.connect(chain.rpc_url).owner
    drawn = [*EDGES, *drawn]
    calls = [caller_call(chain, pool, state, case) for pool, state in zip(pools, states, strict=True) for case in drawn]
    answers = iter(eth_call_batch(chain.rpc_url, calls, sender=owner))
    most = 0
    for pool, state in zip(pools, states, strict=True):
        for case in drawn:
            answer, result = next(answers), ours(state, case)
            expected = None if answer is None else CALLER_SWAP.decode(answer)
            assert (None if result is None else (result.amount0, result.amount1)) == expected, (pool.address, case)
            most = max(most, result.ticks_crossed if result else 0)
    return most


@BATCH
@given(cases)
def test_uniswap_quotes_equal_quoter_v2(uniswap: Any, drawn: list[Case]) -> None:
    chain, pools, states = uniswap
    quoter = chain.contracts["QuoterV2"]
    drawn = [*EDGES, *drawn]
    calls = [
        quoter_call(pool, quoter, case, price_limit(state, case))
        for pool, state in zip(pools, states, strict=True)
        for case in drawn
    ]
    answers = iter(eth_call_batch(chain.rpc_url, calls))
    for pool, state in zip(pools, states, strict=True):
        for case in drawn:
            answer = next(answers)
            expected = None if answer is None else QUOTE_EXACT_INPUT.decode(answer)[:2]
            assert quoter_expectation(case, ours(state, case)) == expected, (pool.address, case)


@BATCH
@given(cases)
def test_uniswap_swaps_equal_the_pool(uniswap: Any, drawn: list[Case]) -> None:
    assert compare_with_pools(*uniswap, drawn) >= 10  # some case crossed 10+ initialized ticks


@BATCH
@given(cases)
def test_pancakeswap_swaps_equal_the_pool(pancake: Any, drawn: list[Case]) -> None:
    assert compare_with_pools(*pancake, drawn) >= 10


def test_states_hold_every_initialized_tick_and_drains_cross_them_all(uniswap: Any, pancake: Any) -> None:
    for _, pools, states in (uniswap, pancake):
        for pool, state in zip(pools, states, strict=True):
            assert sum(state.liquidity_net.values()) == 0, pool
            assert state.fee == pool.fee
        # 7 seeded positions = 14 ticks; the first pool also has 25 narrow positions more.
        assert [len(s.liquidity_net) for s in states[1:]] == [14] * (len(states) - 1)
        state = states[0]
        below = sum(1 for t in state.liquidity_net if t <= state.tick)
        above = len(state.liquidity_net) - below
        down, up = swap(state, True, 2**254), swap(state, False, 2**254)
        assert (down.sqrt_price_x96, up.sqrt_price_x96) == (MIN_SQRT_RATIO + 1, MAX_SQRT_RATIO - 1)
        assert (down.ticks_crossed, up.ticks_crossed, down.liquidity, up.liquidity) == (below, above, 0, 0)
        assert min(below, above) >= 10


def test_router_swaps_move_balances_by_our_quote(uniswap: Any) -> None:
    chain, pools, _ = uniswap
    sender = Sender.connect(chain.rpc_url)
    router = sender.contract(npm_artifact("SwapRouter"), chain.contracts["SwapRouter"])
    erc20 = npm_artifact("WETH9")
    for pool in pools[:3]:
        for zero_for_one, amount in ((True, 10**6), (False, 10**15), (True, 10**20)):
            (state,) = pool_states(chain, [pool.address])
            expected = swap(state, zero_for_one, amount)
            token_in, token_out = (pool.token0, pool.token1) if zero_for_one else (pool.token1, pool.token0)
            out = sender.contract(erc20, token_out)
            inp = sender.contract(erc20, token_in)
            sender.send(inp.functions.approve(router.address, 2**256 - 1))
            before = (inp.functions.balanceOf(sender.owner).call(), out.functions.balanceOf(sender.owner).call())
            params = (token_in, token_out, pool.fee, sender.owner, DEADLINE, amount, 0, 0)
            sender.send(router.functions.exactInputSingle(params))
            after = (inp.functions.balanceOf(sender.owner).call(), out.functions.balanceOf(sender.owner).call())
            delta_in, delta_out = expected[:2] if zero_for_one else expected[1::-1]
            assert (before[0] - after[0], after[1] - before[1]) == (delta_in, -delta_out)
            (moved,) = pool_states(chain, [pool.address])
            assert (moved.sqrt_price_x96, moved.tick, moved.liquidity) == expected[2:5]
