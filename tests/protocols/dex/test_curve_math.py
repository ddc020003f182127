"""Curve StableSwap math against our Vyper pools on the devnet (to the wei) and against curvesim.

Each hypothesis example draws a batch of cases per pool and checks them with one JSON-RPC batch of
eth_calls (get_dy, calc_token_amount, calc_withdraw_one_coin, get_virtual_price); reverts must match our
CurveMathError. Real transactions check the state after exchange / add / remove, and A ramping over time.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
import pytest
from curvesim.pool.stableswap.pool import CurvePool
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.curve import (
    CRYPTO_FACTORIES,
    CURVE_AGENT,
    POOL_PROXY,
    ZERO_ADDRESS,
    coin_amount,
    coin_decimals,
    is_routable,
    vote_pool_proxy_admins,
)
from defiscope.devnet.spec import CURVE_POOLS, ETHEREUM, CurvePoolSpec
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.curve.math import (
    A_PRECISION,
    AmpRamp,
    CurveMathError,
    PoolState,
    StableSwap,
    add_liquidity,
    calc_token_amount,
    calc_withdraw_one_coin,
    exchange,
    get_D,
    get_dy,
    get_virtual_price,
    remove_liquidity,
    remove_liquidity_one_coin,
)
from tests.protocols.dex.rpc import EthCall, batch

# Each example checks a whole batch; shrinking would replay batches for minutes, and the assertion
# message already lists the mismatching calls.
SETTINGS = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    phases=(Phase.explicit, Phase.generate),
)


@dataclass(frozen=True)
class Live:
    """One devnet pool: where it is, its parameters as our math wants them, and its state now."""

    address: str
    pool: StableSwap
    state: PoolState

    @property
    def n(self) -> int:
        return self.pool.n


def decimals_of(spec: CurvePoolSpec) -> list[int]:
    return [coin_decimals(ETHEREUM, s) for s in spec.coins]


#: Our Vyper StableSwap pools (plain, native-ETH and the metapool, whose 3Crv rate is fixed as in a plain pool);
#: the crypto pools are TVL-only stand-ins with no invariant to compare.
STABLESWAP_POOLS = tuple(s for s in CURVE_POOLS if s.listed_by not in CRYPTO_FACTORIES)


def read_pool(rpc_url: str, address: str, decimals: Sequence[int], block: str = "latest") -> Live:
    n = len(decimals)
    calls = [EthCall(address, "balances(uint256)", (i,)) for i in range(n)]
    calls += [EthCall(address, f) for f in ("A_precise()", "totalSupply()", "fee()", "admin_fee()")]
    values = [a.decode("uint256")[0] for a in batch(rpc_url, calls, block)]
    balances, (amp, supply, fee, admin_fee) = tuple(values[:n]), values[n:]
    pool = StableSwap.of(decimals=decimals, fee=fee, admin_fee=admin_fee)
    return Live(address, pool, PoolState(balances, amp, supply))


def live_pools(chain: DevnetChain) -> list[Live]:
    return [read_pool(chain.rpc_url, chain.contracts[s.registry_name], decimals_of(s)) for s in STABLESWAP_POOLS]


def ours(fn: object, *args: object) -> int | None:
    try:
        result = fn(*args)  # type: ignore[operator]
    except CurveMathError:
        return None
    return result[0] if isinstance(result, tuple) else result  # type: ignore[no-any-return]


def amounts_for(live: Live) -> st.SearchStrategy[int]:
    top = max(live.state.balances)
    return st.one_of(st.integers(0, 1000), st.integers(1, top // 1000), st.integers(1, 3 * top))


def test_pools_are_seeded_as_specified(eth_chain: DevnetChain) -> None:
    lives = live_pools(eth_chain)
    three = lives[0]
    for live, spec in zip(lives, STABLESWAP_POOLS, strict=True):
        seeded = tuple(coin_amount(ETHEREUM, c, d) for c, d in zip(spec.coins, spec.usd_per_coin, strict=True))
        assert live.state.balances == seeded
    assert (three.state.amp, three.pool.fee, three.pool.admin_fee) == (2000 * A_PRECISION, 1_000_000, 5 * 10**9)
    # The first deposit mints D.
    assert three.state.supply == get_D(three.pool.xp(three.state.balances), three.state.amp)
    assert {p.dex for p in eth_chain.pools_of("curve")} == {"curve"}
    assert [p.fee for p in eth_chain.pools_of("curve")] == [s.fee // 10_000 for s in CURVE_POOLS if is_routable(s)]


@given(st.data())
@SETTINGS
def test_views_equal_the_vyper_pool(eth_chain: DevnetChain, data: st.DataObject) -> None:
    check_views(eth_chain.rpc_url, live_pools(eth_chain), data)


def check_views(rpc_url: str, lives: Sequence[Live], data: st.DataObject) -> None:
    """Draw cases for each pool, run them as one batch of eth_calls, and compare with our math."""
    calls: list[EthCall] = []
    expected: list[int | None] = []
    for live in lives:
        n, state, pool = live.n, live.state, live.pool
        pair = st.sampled_from([(i, j) for i in range(n) for j in range(n) if i != j])
        for (i, j), dx in data.draw(st.lists(st.tuples(pair, amounts_for(live)), min_size=16, max_size=16)):
            calls.append(EthCall(live.address, "get_dy(int128,int128,uint256)", (i, j, dx)))
            expected.append(ours(get_dy, pool, state, i, j, dx))
        for amounts, deposit in data.draw(
            st.lists(
                st.tuples(st.lists(amounts_for(live), min_size=n, max_size=n), st.booleans()), min_size=6, max_size=6
            )
        ):
            calls.append(EthCall(live.address, f"calc_token_amount(uint256[{n}],bool)", (amounts, deposit)))
            expected.append(ours(calc_token_amount, pool, state, amounts, deposit))
        burns = st.one_of(st.integers(1, state.supply // 1000), st.integers(1, state.supply + 10**18))
        for burn, i in data.draw(st.lists(st.tuples(burns, st.integers(0, n - 1)), min_size=6, max_size=6)):
            calls.append(EthCall(live.address, "calc_withdraw_one_coin(uint256,int128)", (burn, i)))
            expected.append(ours(calc_withdraw_one_coin, pool, state, burn, i))
        # Edges every time: 0 and 1 wei in, far more than the pool holds, burning all or more than the supply,
        # withdrawing one unit more than a balance.
        for dx in (0, 1, 10 * max(state.balances)):
            calls.append(EthCall(live.address, "get_dy(int128,int128,uint256)", (0, 1, dx)))
            expected.append(ours(get_dy, pool, state, 0, 1, dx))
        for burn in (state.supply, state.supply + 1):
            calls.append(EthCall(live.address, "calc_withdraw_one_coin(uint256,int128)", (burn, 0)))
            expected.append(ours(calc_withdraw_one_coin, pool, state, burn, 0))
        too_much = [b + 1 for b in state.balances]
        calls.append(EthCall(live.address, f"calc_token_amount(uint256[{n}],bool)", (too_much, False)))
        expected.append(ours(calc_token_amount, pool, state, too_much, False))
        calls.append(EthCall(live.address, "get_virtual_price()"))
        expected.append(get_virtual_price(pool, state))
    answers = batch(rpc_url, calls)
    got = [None if a.data is None else a.decode("uint256")[0] for a in answers]
    mismatches = [(c.signature, c.args, e, g) for c, e, g in zip(calls, expected, got, strict=True) if e != g]
    assert not mismatches, mismatches[:5]
    assert 0 < got.count(None) < len(got)  # reverts and results were both exercised


@pytest.fixture
def four_coin_pool(eth_chain: DevnetChain) -> Live:
    """A 4-coin pool (18, 6, 6 and 8 decimals), deployed for the test, a little imbalanced."""
    sender = Sender.connect(eth_chain.rpc_url)
    usd8 = sender.deploy(contract_artifact("DevToken"), "Test USD 8", "USD8", 8)
    sender.send(usd8.functions.mint(sender.owner, 10**8 * 10**8))
    coins = [*(eth_chain.tokens[s] for s in ("DAI", "USDC", "USDT")), usd8.address]
    decimals = [18, 6, 6, 8]
    pool = sender.deploy(
        contract_artifact("CurveStableSwap4"),
        coins,
        [10 ** (36 - d) for d in decimals],
        400,
        4_000_000,
        5_000_000_000,
        "Curve.fi 4pool",
        "4Crv",
        sender.owner,  # owned by the deployer (no factory)
        ZERO_ADDRESS,
    )
    for coin in coins:
        sender.send(sender.contract(contract_artifact("DevToken"), coin).functions.approve(pool.address, 2**255))
    amounts = [10_000_000 * 10**d * k // 10 for d, k in zip(decimals, (10, 12, 9, 11), strict=True)]
    sender.send(pool.functions.add_liquidity(amounts, 0))
    return read_pool(eth_chain.rpc_url, pool.address, decimals)


@given(data=st.data())
@SETTINGS
def test_four_coin_pool_equals_ours(eth_chain: DevnetChain, four_coin_pool: Live, data: st.DataObject) -> None:
    assert four_coin_pool.n == 4
    check_views(eth_chain.rpc_url, [four_coin_pool], data)


def test_transactions_leave_the_state_our_math_predicts(eth_chain: DevnetChain) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    spec = CURVE_POOLS[0]
    address = eth_chain.contracts[spec.registry_name]
    contract = sender.contract(contract_artifact("CurveStableSwap3"), address)
    live = read_pool(eth_chain.rpc_url, address, decimals_of(spec))
    pool, state = live.pool, live.state
    coins = [sender.contract(contract_artifact("DevToken"), eth_chain.tokens[s]) for s in spec.coins]

    def balance_of(token: object) -> int:
        return int(token.functions.balanceOf(sender.owner).call())  # type: ignore[attr-defined]

    steps = [
        ("exchange", (0, 1, 1_234_567 * 10**18 + 1)),
        ("exchange", (2, 0, 30_000_000 * 10**6)),  # a big, price-moving swap
        ("exchange", (1, 2, 1)),  # 1 wei
        ("add_liquidity", ([10**24, 0, 5 * 10**12],)),  # imbalanced: pays the imbalance fee
        ("remove_liquidity_one_coin", (2 * 10**24, 1)),
        ("remove_liquidity", (10**25,)),
    ]
    for name, args in steps:
        before = [balance_of(c) for c in [*coins, contract]]
        if name == "exchange":
            i, j, dx = args
            dy, state = exchange(pool, state, i, j, dx)  # type: ignore[arg-type]
            sender.send(contract.functions.exchange(i, j, dx, dy))  # min_dy = our quote: exact or revert
            deltas = {i: -dx, j: dy}
        elif name == "add_liquidity":
            (amounts,) = args
            deposit = add_liquidity(pool, state, amounts)  # type: ignore[arg-type]
            state = deposit.state
            sender.send(contract.functions.add_liquidity(amounts, deposit.minted))
            deltas = {k: -a for k, a in enumerate(amounts) if a} | {3: deposit.minted}  # type: ignore[arg-type]
        elif name == "remove_liquidity_one_coin":
            burn, i = args
            dy, state = remove_liquidity_one_coin(pool, state, burn, i)  # type: ignore[arg-type]
            sender.send(contract.functions.remove_liquidity_one_coin(burn, i, dy))
            deltas = {i: dy, 3: -burn}  # type: ignore[dict-item]
        else:
            (burn,) = args
            out, state = remove_liquidity(state, burn)  # type: ignore[arg-type]
            sender.send(contract.functions.remove_liquidity(burn, list(out)))
            deltas = {k: o for k, o in enumerate(out)} | {3: -burn}
        after = [balance_of(c) for c in [*coins, contract]]
        assert {k: after[k] - before[k] for k in range(4) if after[k] != before[k]} == deltas, name
        assert read_pool(eth_chain.rpc_url, address, decimals_of(spec)).state == state, name
    # The admin share of fees stays in the coins' balances, outside `balances`.
    admin = batch(eth_chain.rpc_url, [EthCall(address, "admin_balances(uint256)", (k,)) for k in range(3)])
    assert all(a.decode("uint256")[0] > 0 for a in admin)


def test_a_ramp_matches_at_every_timestamp(eth_chain: DevnetChain) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    spec = CURVE_POOLS[1]
    address = eth_chain.contracts[spec.registry_name]
    # A registry pool: its owner, the PoolProxy, ramps A for its parameter admin, made account 0 by a passed vote.
    contracts, agent = eth_chain.contracts, eth_chain.contracts[CURVE_AGENT]
    proxy = sender.contract(contract_artifact(POOL_PROXY), contracts[POOL_PROXY])
    vote_pool_proxy_admins(sender, contracts, agent, sender.owner, agent)
    start = int(sender.w3.eth.get_block("latest")["timestamp"])
    sender.send(proxy.functions.ramp_A(address, 1700, start + 7 * 86400 + 13))
    ramp = AmpRamp(
        *(
            batch_uint(eth_chain.rpc_url, address, f)
            for f in ("initial_A()", "future_A()", "initial_A_time()", "future_A_time()")
        )
    )
    assert (ramp.initial_A, ramp.future_A) == (500 * A_PRECISION, 1700 * A_PRECISION)
    for offset in (1, 3_333, 86_400, 3 * 86_400 + 17, 7 * 86_400 + 12, 7 * 86_400 + 13, 9 * 86_400):
        sender.rpc("evm_mine", [ramp.initial_time + offset])
        block = sender.w3.eth.get_block("latest")
        live = read_pool(eth_chain.rpc_url, address, decimals_of(spec), hex(block["number"]))
        assert live.state.amp == ramp.at(int(block["timestamp"])), offset
        dy = batch(
            eth_chain.rpc_url, [EthCall(address, "get_dy(int128,int128,uint256)", (1, 0, 10**13))], hex(block["number"])
        )
        assert dy[0].decode("uint256")[0] == get_dy(live.pool, live.state, 1, 0, 10**13)
    with pytest.raises(CurveMathError, match="same coin"):
        get_dy(live.pool, live.state, 1, 1, 1)


def batch_uint(rpc_url: str, address: str, signature: str) -> int:
    return int(batch(rpc_url, [EthCall(address, signature)])[0].decode("uint256")[0])


# ------------------------------------------------------------------ curvesim, an independent implementation


def curvesim_pool(live: Live) -> CurvePool:
    """curvesim keeps A without A_PRECISION (A * 100 divides exactly, so the results agree to the wei)."""
    return CurvePool(
        live.state.amp // A_PRECISION,
        list(live.state.balances),
        live.n,
        rates=list(live.pool.rates),
        tokens=live.state.supply,
        fee=live.pool.fee,
        admin_fee=live.pool.admin_fee,
    )


@given(st.data())
@SETTINGS
def test_agrees_with_curvesim(eth_chain: DevnetChain, four_coin_pool: Live, data: st.DataObject) -> None:
    for live in [*live_pools(eth_chain), four_coin_pool]:
        reference = curvesim_pool(live)
        n, pool, state = live.n, live.pool, live.state
        assert get_virtual_price(pool, state) == reference.get_virtual_price()
        pair = st.sampled_from([(i, j) for i in range(n) for j in range(n) if i != j])
        # Up to a third of each coin's balance: curvesim has no uint256 overflow checks to mirror.
        shares = [st.integers(1, b // 3) for b in state.balances]
        swaps = pair.flatmap(lambda ij, shares=shares: st.tuples(st.just(ij), shares[ij[0]]))
        for (i, j), dx in data.draw(st.lists(swaps, min_size=12, max_size=12)):
            dy, after = exchange(pool, state, i, j, dx)
            sim = copy.deepcopy(reference)
            assert dy == sim.exchange(i, j, dx)[0]
            assert list(after.balances) == sim.balances
        for amounts in data.draw(st.lists(st.tuples(*shares).map(list), min_size=4, max_size=4)):
            assert calc_token_amount(pool, state, amounts, True) == reference.calc_token_amount(amounts)
            assert add_liquidity(pool, state, amounts).minted == copy.deepcopy(reference).add_liquidity(amounts)
        for burn, i in data.draw(
            st.lists(st.tuples(st.integers(1, state.supply // 4), st.integers(0, n - 1)), min_size=4, max_size=4)
        ):
            assert calc_withdraw_one_coin(pool, state, burn, i) == copy.deepcopy(reference).calc_withdraw_one_coin(
                burn, i
            )


def test_rpc_helper_talks_to_the_devnet(eth_chain: DevnetChain) -> None:
    assert (
        httpx.post(eth_chain.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}).json()["result"]
        == "0x1"
    )
