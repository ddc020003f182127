"""Uniswap V2 / PancakeSwap V2 math against the real contracts on the devnet, to the wei.

Each hypothesis example draws a batch of cases and checks them all with one JSON-RPC batch: Router02's
getAmountsOut/getAmountsIn on chain 1 (reverts included), and the PancakeSwap V2 pair's own K check on
chain 56 (eth_call of ``swap`` with the pair's input balance set by a state override: ``out`` passes,
``out + 1`` fails). A few real swaps close the loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3.contract import Contract

from defiscope.devnet import Devnet
from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.tx import DEADLINE, Sender
from defiscope.devnet.world import DevnetChain, DevnetPool, Dex
from defiscope.protocols.uniswap.v2_math import (
    PANCAKESWAP_V2_FEE,
    UNISWAP_V2_FEE,
    V2Fee,
    V2MathError,
    get_amount_in,
    get_amount_out,
    get_amounts_in,
    get_amounts_out,
    pair_accepts,
)
from tests.protocols.dex.rpc import EthCall, balance_slot, batch, with_balance

SETTINGS = settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
SINK = "0x000000000000000000000000000000000000dEaD"

# Amounts from 1 wei to past uint256 overflow of amountIn * 997 * reserveOut, weighted to the small end.
AMOUNTS = st.one_of(
    st.integers(1, 1000),
    st.integers(1, 10**18),
    st.integers(1, 10**27).map(lambda x: x),
    st.integers(0, 200).map(lambda e: 2**e + 1),
)


def test_fee_as_data() -> None:
    assert (UNISWAP_V2_FEE.pips, PANCAKESWAP_V2_FEE.pips) == (3000, 2500)
    assert get_amount_out(10**18, 10**21, 10**21, UNISWAP_V2_FEE) == 996006981039903216
    assert get_amount_out(10**18, 10**21, 10**21, PANCAKESWAP_V2_FEE) == 996505985279683515
    assert get_amount_in(996006981039903216, 10**21, 10**21, UNISWAP_V2_FEE) == 10**18
    with pytest.raises(V2MathError, match="numerator"):
        V2Fee(1001, 1000)


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        (lambda: get_amount_out(0, 1, 1), "INSUFFICIENT_INPUT_AMOUNT"),
        (lambda: get_amount_out(1, 0, 1), "INSUFFICIENT_LIQUIDITY"),
        (lambda: get_amount_in(0, 1, 1), "INSUFFICIENT_OUTPUT_AMOUNT"),
        (lambda: get_amount_in(5, 10, 5), "division by zero"),
        (lambda: get_amount_in(6, 10, 5), "ds-math-sub-underflow"),
        (lambda: get_amount_out(2**250, 10**18, 10**18), "ds-math-mul-overflow"),
        (lambda: get_amounts_out(1, []), "INVALID_PATH"),
    ],
)
def test_reverts_are_clear_errors(call: object, reason: str) -> None:
    with pytest.raises(V2MathError, match=reason):
        call()  # type: ignore[operator]


# ------------------------------------------------------------------ Uniswap V2 Router02 (chain 1)


@dataclass(frozen=True)
class Hop:
    token_in: str
    token_out: str
    pool: DevnetPool


def paths(chain: DevnetChain, dex: Dex) -> list[list[Hop]]:
    """Every simple path of 1 to 3 hops over the seeded V2 pools of ``dex``."""
    pools = chain.pools_of(dex)
    hops = [Hop(p.token0, p.token1, p) for p in pools] + [Hop(p.token1, p.token0, p) for p in pools]
    found: list[list[Hop]] = [[h] for h in hops]
    frontier = list(found)
    for _ in range(2):
        frontier = [
            [*path, h]
            for path in frontier
            for h in hops
            if h.token_in == path[-1].token_out and h.token_out not in {x.token_in for x in path}
        ]
        found += frontier
    return found


def reserves(path: list[Hop], state: dict[str, tuple[int, int]]) -> list[tuple[int, int]]:
    return [
        state[h.pool.address] if h.token_in == h.pool.token0 else state[h.pool.address][::-1]  # type: ignore[misc]
        for h in path
    ]


def pool_state(rpc_url: str, pools: tuple[DevnetPool, ...], block: str) -> dict[str, tuple[int, int]]:
    answers = batch(rpc_url, [EthCall(p.address, "getReserves()") for p in pools], block)
    return {p.address: a.decode("uint112", "uint112", "uint32")[:2] for p, a in zip(pools, answers, strict=True)}


def ours(fn: object, *args: object) -> list[int] | None:
    try:
        return fn(*args)  # type: ignore[operator,no-any-return]
    except V2MathError:
        return None


@dataclass(frozen=True)
class Router:
    chain_id: int
    name: str  # registry name
    dex: Dex
    fee: V2Fee


ROUTERS = (
    Router(1, "UniswapV2Router02", "uniswap-v2", UNISWAP_V2_FEE),
    Router(56, "PancakeV2Router", "pancakeswap-v2", PANCAKESWAP_V2_FEE),
)


@pytest.mark.parametrize("spec", ROUTERS, ids=lambda r: r.name)
@given(data=st.data())
@SETTINGS
def test_router_amounts_equal_ours(devnet: Devnet, spec: Router, data: st.DataObject) -> None:
    chain = devnet.chain(spec.chain_id)
    all_paths = paths(chain, spec.dex)
    block = hex(int(batch_block(chain.rpc_url)))
    state = pool_state(chain.rpc_url, chain.pools_of(spec.dex), block)
    cases = data.draw(st.lists(st.tuples(st.sampled_from(all_paths), AMOUNTS, st.booleans()), min_size=80, max_size=80))
    # Pool-draining outputs: the whole last reserve (reverts) and one wei less (the most one can buy).
    for path in all_paths[:10]:
        last = reserves(path, state)[-1][1]
        cases += [(path, last, False), (path, last - 1, False), (path, 1, True), (path, 1, False)]
    router = chain.contracts[spec.name]
    calls = [
        EthCall(
            router,
            "getAmountsOut(uint256,address[])" if exact_in else "getAmountsIn(uint256,address[])",
            (amount, [path[0].token_in, *(h.token_out for h in path)]),
        )
        for path, amount, exact_in in cases
    ]
    answers = batch(chain.rpc_url, calls, block)
    reverted = 0
    for (path, amount, exact_in), answer in zip(cases, answers, strict=True):
        hops = reserves(path, state)
        expected = ours(get_amounts_out if exact_in else get_amounts_in, amount, hops, spec.fee)
        got = None if answer.data is None else list(answer.decode("uint256[]")[0])
        assert got == expected, (amount, exact_in, hops, answer.error)
        reverted += got is None
    assert 0 < reverted < len(cases)  # both sides of the boundary were exercised


def batch_block(rpc_url: str) -> int:
    answer = httpx.post(rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []})
    return int(answer.json()["result"], 16)


def test_router02_real_swaps_pay_our_quote(eth_chain: DevnetChain) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    router = sender.contract(npm_artifact("UniswapV2Router02"), eth_chain.contracts["UniswapV2Router02"])
    pools = eth_chain.pools_of("uniswap-v2")
    usdc, weth, wbtc = (eth_chain.tokens[s] for s in ("USDC", "WETH", "WBTC"))
    for path_tokens, amount in (([usdc, weth, wbtc], 1), ([usdc, weth], 1_000_000 * 10**6), ([wbtc, weth], 7)):
        state = pool_state(eth_chain.rpc_url, pools, "latest")
        hops = [
            state[p.address] if p.token0 == a else state[p.address][::-1]
            for a, b in pairwise(path_tokens)
            for p in pools
            if {p.token0, p.token1} == {a, b}
        ]
        quote = get_amounts_out(amount, hops, UNISWAP_V2_FEE)
        out_token = sender.contract(contract_artifact("DevToken"), path_tokens[-1])
        before = out_token.functions.balanceOf(SINK).call()
        if quote[-1] == 0:
            continue  # the router would revert on a zero output; the quote says so
        sender.send(router.functions.swapExactTokensForTokens(amount, 0, path_tokens, SINK, DEADLINE))
        assert out_token.functions.balanceOf(SINK).call() - before == quote[-1]


# ------------------------------------------------------------------ PancakeSwap V2 pair (chain 56)


@given(st.data())
@SETTINGS
def test_pancake_pair_accepts_exactly_our_amount_out(bnb_chain: DevnetChain, data: st.DataObject) -> None:
    pools = bnb_chain.pools_of("pancakeswap-v2")
    assert len(pools) == 3
    state = pool_state(bnb_chain.rpc_url, pools, "latest")
    slots = {t: balance_slot(bnb_chain.rpc_url, t, pools[0].address) for p in pools for t in (p.token0, p.token1)}
    cases = data.draw(st.lists(st.tuples(st.sampled_from(pools), st.booleans(), AMOUNTS), min_size=60, max_size=60))
    cases += [(p, zero_for_one, 1) for p in pools for zero_for_one in (True, False)]
    calls, checks = [], []
    for pool, zero_for_one, amount_in in cases:
        r0, r1 = state[pool.address]
        r_in, r_out = (r0, r1) if zero_for_one else (r1, r0)
        if r_in + amount_in >= 2**112:
            continue  # the pair's own uint112 overflow check, not the swap math
        out = get_amount_out(amount_in, r_in, r_out, PANCAKESWAP_V2_FEE)
        token_in = pool.token0 if zero_for_one else pool.token1
        override = with_balance(token_in, pool.address, slots[token_in], r_in + amount_in)
        balances = (r0 + amount_in, r1) if zero_for_one else (r0, r1 + amount_in)
        for paid in (out, out + 1):
            outs = (0, paid) if zero_for_one else (paid, 0)
            calls.append(EthCall(pool.address, "swap(uint256,uint256,address,bytes)", (*outs, SINK, b""), override))
            checks.append((paid == out and out > 0, pair_accepts(balances, (r0, r1), outs, PANCAKESWAP_V2_FEE)))
    answers = batch(bnb_chain.rpc_url, calls)
    assert len(answers) >= 100
    for (expected, modelled), answer in zip(checks, answers, strict=True):
        assert (answer.data is not None) == expected == modelled, answer.error
    assert any("Pancake: K" in a.error for a in answers)


def test_pancake_real_swap_on_the_pair(bnb_chain: DevnetChain) -> None:
    sender = Sender.connect(bnb_chain.rpc_url)
    pool = next(p for p in bnb_chain.pools_of("pancakeswap-v2") if bnb_chain.tokens["USDT"] in (p.token0, p.token1))
    pair: Contract = sender.contract(contract_artifact("PancakeV2Pair"), pool.address)
    usdt = sender.contract(contract_artifact("DevToken"), bnb_chain.tokens["USDT"])
    wbnb = sender.contract(contract_artifact("DevToken"), bnb_chain.tokens["WBNB"])
    for amount_in in (10**15, 12_345 * 10**18, 3_000_000 * 10**18):
        r0, r1, _ = pair.functions.getReserves().call()
        usdt_is_0 = pool.token0 == usdt.address
        r_in, r_out = (r0, r1) if usdt_is_0 else (r1, r0)
        out = get_amount_out(amount_in, r_in, r_out, PANCAKESWAP_V2_FEE)
        assert out != get_amount_out(amount_in, r_in, r_out, UNISWAP_V2_FEE)
        before = wbnb.functions.balanceOf(SINK).call()
        sender.send(usdt.functions.transfer(pool.address, amount_in))
        sender.send(pair.functions.swap(0 if usdt_is_0 else out, out if usdt_is_0 else 0, SINK, b""))
        assert wbnb.functions.balanceOf(SINK).call() - before == out
    assert pair.functions.symbol().call() == "Cake-LP"


def test_pancake_router_real_swap_pays_our_quote(bnb_chain: DevnetChain) -> None:
    sender = Sender.connect(bnb_chain.rpc_url)
    router = sender.contract(contract_artifact("PancakeV2Router"), bnb_chain.contracts["PancakeV2Router"])
    usdt, wbnb, cake = (bnb_chain.tokens[s] for s in ("USDT", "WBNB", "CAKE"))
    path = [usdt, wbnb, cake]
    pools = bnb_chain.pools_of("pancakeswap-v2")
    sender.send(sender.contract(contract_artifact("DevToken"), usdt).functions.approve(router.address, 10**30))
    for amount in (10**6, 250_000 * 10**18):
        state = pool_state(bnb_chain.rpc_url, pools, "latest")
        hops = [
            state[p.address] if p.token0 == a else state[p.address][::-1]
            for a, b in pairwise(path)
            for p in pools
            if {p.token0, p.token1} == {a, b}
        ]
        quote = get_amounts_out(amount, hops, PANCAKESWAP_V2_FEE)
        out_token = sender.contract(contract_artifact("DevToken"), cake)
        before = out_token.functions.balanceOf(SINK).call()
        sender.send(router.functions.swapExactTokensForTokens(amount, quote[-1], path, SINK, DEADLINE))
        assert out_token.functions.balanceOf(SINK).call() - before == quote[-1] > 0
