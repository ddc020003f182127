"""LP fee APRs of the DEX adapters on the devnet equal what the swaps we made paid, computed here on our own.

Each test mines block S, swaps through the pools (routers, or the V3 pool caller where PancakeSwap V3 has no
router on the devnet) in later blocks whose timestamps it sets, mines B at S + WINDOW, and reads the
adapters at B with a WINDOW-second window. Expected figures come from the swaps: V2 reserves replayed with
the constant-product formula, V3 fees from the swap step (`compute_swap_step`, proven equal to the pool
elsewhere) over the liquidity, Curve virtual prices from the StableSwap port. Pools we did not touch earned
nothing, so their APR is exactly 0, and their state at S and B shows why.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from math import isqrt
from typing import Any

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.spec import CURVE_POOLS
from defiscope.devnet.tx import DEADLINE, MAX_UINT256, Sender
from defiscope.devnet.world import DevnetChain, DevnetPool
from defiscope.protocols.base import Adapter
from defiscope.protocols.curve.adapter import CurveAdapter
from defiscope.protocols.curve.math import exchange, get_virtual_price
from defiscope.protocols.pancakeswap.v3 import PANCAKESWAP_V3
from defiscope.protocols.uniswap.math.swap_math import compute_swap_step
from defiscope.protocols.uniswap.math.tick_math import MAX_SQRT_RATIO, MIN_SQRT_RATIO
from defiscope.protocols.uniswap.v2 import PANCAKESWAP_V2, UNISWAP_V2, V2Adapter, V2Spec
from defiscope.protocols.uniswap.v3 import V3Adapter
from defiscope.protocols.uniswap.v3_spec import UNISWAP_V3
from defiscope.protocols.yields import Yield, YieldKind, exact_decimal
from tests.conftest import mine_later
from tests.protocols.dex.test_curve_math import decimals_of, read_pool
from tests.yields.test_yield_gaps import break_pair

WINDOW = 600
YEAR = 365 * 86_400
Q96, Q128 = 2**96, 2**128
SLOT0_SELECTOR = "0x3850c7bd"


def compounded_daily(apr: Fraction) -> Decimal:
    """(1 + APR / 365) ** 365 - 1 at 50 digits, written out independently of the adapters."""
    with localcontext() as ctx:
        ctx.prec = 50
        return (1 + Decimal(apr.numerator) / Decimal(apr.denominator) / 365) ** 365 - 1


class Timeline:
    """Blocks with timestamps we choose: S at t0, one swap per later block, B at t0 + WINDOW."""

    def __init__(self, sender: Sender) -> None:
        self.sender = sender
        self.t0 = int(sender.w3.eth.get_block("latest")["timestamp"]) + 100
        self.next = self.t0

    def mine(self, at: int) -> int:
        self.sender.rpc("evm_setNextBlockTimestamp", [at])
        self.sender.rpc("evm_mine", [])
        return int(self.sender.w3.eth.block_number)

    def start(self) -> int:
        return self.mine(self.t0)

    def before_tx(self) -> None:
        self.next += 10
        self.sender.rpc("evm_setNextBlockTimestamp", [self.next])

    def end(self) -> int:
        return self.mine(self.t0 + WINDOW)


async def read_yields(chain: DevnetChain, adapters: Sequence[Adapter], block: int) -> list[Yield]:
    async with ChainClient.connect(chain.chain_id, [chain.rpc_url]) as client:
        batcher = Batcher(await client.snapshot(block))
        results = await asyncio.gather(*(a.read(batcher.reader(a.info.slug)) for a in adapters))
    return [y for result in results for y in result.yields]


def approve(sender: Sender, token: str, spender: str) -> None:
    sender.send(sender.contract(contract_artifact("DevToken"), token).functions.approve(spender, MAX_UINT256))


def balance(sender: Sender, token: str, holder: str) -> int:
    return int(sender.contract(contract_artifact("DevToken"), token).functions.balanceOf(holder).call())


# ---------------------------------------------------------------------------------------------------- V2


@dataclass(frozen=True)
class V2Case:
    spec: V2Spec
    dex: str
    router: str
    router_artifact: Callable[[], Any]
    fee: Fraction  # of the input the pair keeps for LPs


V2_CASES = {
    1: V2Case(
        UNISWAP_V2, "uniswap-v2", "UniswapV2Router02", lambda: npm_artifact("UniswapV2Router02"), Fraction(3, 1000)
    ),
    56: V2Case(
        PANCAKESWAP_V2,
        "pancakeswap-v2",
        "PancakeV2Router",
        lambda: contract_artifact("PancakeV2Router"),
        Fraction(25, 10**4),
    ),
}


def v2_state(sender: Sender, pair: str, block: int) -> tuple[int, int, int]:
    contract = sender.contract(npm_artifact("UniswapV2Pair"), pair)
    r0, r1, _ = contract.functions.getReserves().call(block_identifier=block)
    return r0, r1, contract.functions.totalSupply().call(block_identifier=block)


def v2_swaps(sender: Sender, timeline: Timeline, case: V2Case, chain: DevnetChain, pool: DevnetPool) -> Fraction:
    """Swap both ways through the router; the pair's sqrt(k) per share after our swaps over before."""
    router = sender.contract(case.router_artifact(), chain.contracts[case.router])
    r0, r1, supply = v2_state(sender, pool.address, sender.w3.eth.block_number)
    reserves = {pool.token0: r0, pool.token1: r1}
    for token_in, token_out in ((pool.token0, pool.token1), (pool.token1, pool.token0), (pool.token0, pool.token1)):
        approve(sender, token_in, router.address)
        amount_in = reserves[token_in] // 1000
        # Constant product with the fee kept in the pool: out = in * (1 - f) * R_out / (R_in + in * (1 - f)).
        net = amount_in * (1 - case.fee)
        amount_out = int(net * reserves[token_out] / (reserves[token_in] + net))
        timeline.before_tx()
        sender.send(
            router.functions.swapExactTokensForTokens(amount_in, 0, [token_in, token_out], sender.owner, DEADLINE)
        )
        reserves[token_in] += amount_in
        reserves[token_out] -= amount_out
    after = v2_state(sender, pool.address, sender.w3.eth.block_number)
    assert after == (reserves[pool.token0], reserves[pool.token1], supply)  # our replay is the pair's own state
    return Fraction(isqrt(after[0] * after[1]), isqrt(r0 * r1)) - 1


# ---------------------------------------------------------------------------------------------------- V3


def v3_read(sender: Sender, pool: str, block: int | str = "latest") -> tuple[int, int, int, int, int]:
    """sqrtPriceX96, feeProtocol, liquidity, feeGrowthGlobal0X128, feeGrowthGlobal1X128."""
    contract = sender.contract(npm_artifact("UniswapV3Pool"), pool)
    # slot0 word by word: feeProtocol is a uint8 on Uniswap V3, a uint32 on PancakeSwap V3.
    raw = sender.w3.eth.call({"to": pool, "data": SLOT0_SELECTOR}, block_identifier=block)
    slot0 = [int.from_bytes(raw[i : i + 32], "big") for i in range(0, 7 * 32, 32)]
    return (
        slot0[0],
        slot0[5],
        contract.functions.liquidity().call(block_identifier=block),
        contract.functions.feeGrowthGlobal0X128().call(block_identifier=block),
        contract.functions.feeGrowthGlobal1X128().call(block_identifier=block),
    )


def uniswap_protocol_cut(fee: int, fee_protocol: int, zero_for_one: bool) -> int:
    """UniswapV3Pool.swap: fee / (feeProtocol % 16 or >> 4); the devnet leaves it off."""
    denominator = fee_protocol % 16 if zero_for_one else fee_protocol >> 4
    return fee // denominator if denominator else 0


def pancake_protocol_cut(fee: int, fee_protocol: int, zero_for_one: bool) -> int:
    """PancakeV3Pool.swap: fee * (feeProtocol % 65536 or >> 16) / 10000."""
    share = fee_protocol % 65536 if zero_for_one else fee_protocol >> 16
    return fee * share // 10_000


def v3_swap_uniswap(sender: Sender, chain: DevnetChain, pool: DevnetPool, zero_for_one: bool, amount: int) -> None:
    router = sender.contract(npm_artifact("SwapRouter"), chain.contracts["SwapRouter"])
    token_in, token_out = (pool.token0, pool.token1) if zero_for_one else (pool.token1, pool.token0)
    approve(sender, token_in, router.address)
    sender.send(
        router.functions.exactInputSingle((token_in, token_out, pool.fee, sender.owner, DEADLINE, amount, 0, 0))
    )


def v3_swap_caller(sender: Sender, chain: DevnetChain, pool: DevnetPool, zero_for_one: bool, amount: int) -> None:
    caller = sender.contract(contract_artifact("V3PoolCaller"), chain.contracts["V3PoolCaller"])
    approve(sender, pool.token0 if zero_for_one else pool.token1, caller.address)
    limit = MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1
    sender.send(caller.functions.swap(pool.address, sender.owner, zero_for_one, amount, limit))


Swap = Callable[[Sender, DevnetChain, DevnetPool, bool, int], None]
V3_CASES: dict[int, tuple[Swap, Callable[[int, int, bool], int]]] = {
    1: (v3_swap_uniswap, uniswap_protocol_cut),
    56: (v3_swap_caller, pancake_protocol_cut),
}


def v3_swaps(sender: Sender, timeline: Timeline, chain: DevnetChain, pool: DevnetPool) -> Fraction:
    """Swap both ways; each swap's fee from its step over the liquidity; the full-range return at B's price."""
    swap, protocol_cut = V3_CASES[chain.chain_id]
    start = v3_read(sender, pool.address)
    fees = [0, 0]  # feeGrowthGlobal0/1X128 our swaps add
    for zero_for_one in (True, False, True):
        sqrt_price, fee_protocol, liquidity, _, _ = v3_read(sender, pool.address)
        token_in = pool.token0 if zero_for_one else pool.token1
        amount = balance(sender, token_in, pool.address) // 10_000
        target = MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1
        step = compute_swap_step(sqrt_price, target, liquidity, amount, pool.fee)
        timeline.before_tx()
        swap(sender, chain, pool, zero_for_one, amount)
        assert v3_read(sender, pool.address)[0] == step.sqrt_ratio_next_x96  # one step: no tick crossed
        lp_fee = step.fee_amount - protocol_cut(step.fee_amount, fee_protocol, zero_for_one)
        fees[0 if zero_for_one else 1] += lp_fee * Q128 // liquidity
    end = v3_read(sender, pool.address)
    assert [end[3] - start[3], end[4] - start[4]] == fees  # our fees are the pool's own accounting
    end_price = end[0]
    # Per unit of full-range liquidity, in token1 this time: fees dfg0/2^128 * p + dfg1/2^128 over 2 sqrt(p).
    sqrt_p = Fraction(end_price, Q96)
    return (Fraction(fees[0], Q128) * sqrt_p**2 + Fraction(fees[1], Q128)) / (2 * sqrt_p)


# ---------------------------------------------------------------------------------------------------- Curve


def curve_swaps(sender: Sender, timeline: Timeline, chain: DevnetChain) -> tuple[str, Fraction]:
    """Swap in the first devnet Curve pool; its virtual price after over before, from the StableSwap port."""
    spec = CURVE_POOLS[0]
    address = chain.contracts[spec.registry_name]
    pool = sender.contract(contract_artifact("CurveStableSwap3"), address)
    live = read_pool(chain.rpc_url, address, decimals_of(spec))
    assert get_virtual_price(live.pool, live.state) == pool.functions.get_virtual_price().call()
    state = live.state
    for i, j in ((0, 1), (1, 2), (2, 0)):
        dx = state.balances[i] // 1000
        dy, state = exchange(live.pool, state, i, j, dx)
        timeline.before_tx()
        sender.send(pool.functions.exchange(i, j, dx, dy))
    return address, Fraction(get_virtual_price(live.pool, state), get_virtual_price(live.pool, live.state)) - 1


# ---------------------------------------------------------------------------------------------------- tests


def check_rate(row: Yield, window_return: Fraction, compounds: bool) -> None:
    apr = window_return * YEAR / WINDOW
    assert row.kind is YieldKind.LP_FEE
    assert row.apr == exact_decimal(apr)
    assert row.apy == (compounded_daily(apr) if compounds else row.apr)
    assert f"({WINDOW} s)" in row.method


async def test_lp_fee_aprs_equal_the_fees_our_swaps_paid_on_ethereum(eth_chain: DevnetChain) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    deployment = devnet_deployment(eth_chain)
    usdc, weth = eth_chain.tokens["USDC"], eth_chain.tokens["WETH"]
    v2_pool = next(p for p in eth_chain.pools_of("uniswap-v2") if {p.token0, p.token1} == {usdc, weth})
    v3_pool = next(p for p in eth_chain.pools_of("uniswap-v3") if {p.token0, p.token1} == {usdc, weth})
    timeline = Timeline(sender)
    start = timeline.start()
    v2_growth = v2_swaps(sender, timeline, V2_CASES[1], eth_chain, v2_pool)
    v3_return = v3_swaps(sender, timeline, eth_chain, v3_pool)
    curve_pool, curve_growth = curve_swaps(sender, timeline, eth_chain)
    end = timeline.end()

    adapters = [
        V2Adapter(deployment, UNISWAP_V2, lp_fee_window=WINDOW),
        V3Adapter(deployment, UNISWAP_V3, lp_fee_window=WINDOW),
        CurveAdapter(deployment, lp_fee_window=WINDOW),
    ]
    rows = {(y.protocol, y.market): y for y in await read_yields(eth_chain, adapters, end)}
    assert all(f"blocks {start}..{end} " in y.method for y in rows.values())  # S is the block we mined at t0

    check_rate(rows[("uniswap-v2", v2_pool.address)], v2_growth, compounds=True)
    check_rate(rows[("uniswap-v3", v3_pool.address)], v3_return, compounds=False)
    check_rate(rows[("curve", curve_pool)], curve_growth, compounds=True)
    assert rows[("uniswap-v2", v2_pool.address)].symbol in ("USDC-WETH", "WETH-USDC")
    assert rows[("uniswap-v3", v3_pool.address)].symbol.endswith(" 0.05%")
    assert rows[("curve", curve_pool)].symbol == "-".join(CURVE_POOLS[0].coins)
    assert min(v2_growth, v3_return, curve_growth) > 0

    # Every other pool saw no swap between S and B: nothing earned, and a true 0, not a missing figure.
    touched = {v2_pool.address, v3_pool.address, curve_pool}
    others = {key: y for key, y in rows.items() if key[1] not in touched}
    # Curve rates cover every pool of its registry and factories, not only the routable ones in `pools`.
    pools = len(eth_chain.pools) - len(eth_chain.pools_of("curve")) + len(CURVE_POOLS)
    assert len(others) == pools - 3
    for (protocol, market), row in others.items():
        assert (row.apr, row.apy) == (0, 0), (protocol, market)
    for pool in eth_chain.pools_of("uniswap-v2"):
        if pool.address not in touched:
            assert v2_state(sender, pool.address, start) == v2_state(sender, pool.address, end)
    for pool in eth_chain.pools_of("uniswap-v3"):
        if pool.address not in touched:
            assert v3_read(sender, pool.address, start)[3:] == v3_read(sender, pool.address, end)[3:]


async def test_pancakeswap_lp_fee_aprs_equal_the_fees_our_swaps_paid(bnb_chain: DevnetChain) -> None:
    sender = Sender.connect(bnb_chain.rpc_url)
    deployment = devnet_deployment(bnb_chain)
    v2_pool, v3_pool = bnb_chain.pools_of("pancakeswap-v2")[0], bnb_chain.pools_of("pancakeswap-v3")[0]
    timeline = Timeline(sender)
    timeline.start()
    v2_growth = v2_swaps(sender, timeline, V2_CASES[56], bnb_chain, v2_pool)
    v3_return = v3_swaps(sender, timeline, bnb_chain, v3_pool)
    end = timeline.end()

    adapters = [
        V2Adapter(deployment, PANCAKESWAP_V2, lp_fee_window=WINDOW),
        V3Adapter(deployment, PANCAKESWAP_V3, lp_fee_window=WINDOW),
    ]
    rows = {y.market: y for y in await read_yields(bnb_chain, adapters, end)}
    check_rate(rows[v2_pool.address], v2_growth, compounds=True)
    check_rate(rows[v3_pool.address], v3_return, compounds=False)
    untouched = [p for p in (*bnb_chain.pools_of("pancakeswap-v2"), *bnb_chain.pools_of("pancakeswap-v3"))]
    assert {rows[p.address].apr for p in untouched if p not in (v2_pool, v3_pool)} == {0}


async def test_a_pool_younger_than_the_window_is_measured_from_its_first_liquidity(eth_chain: DevnetChain) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    case = V2_CASES[1]
    router = sender.contract(case.router_artifact(), eth_chain.contracts[case.router])
    factory = sender.contract(npm_artifact("UniswapV2Factory"), eth_chain.contracts["UniswapV2Factory"])
    wbtc, usdc = eth_chain.tokens["WBTC"], eth_chain.tokens["USDC"]
    assert int(factory.functions.getPair(wbtc, usdc).call(), 16) == 0  # a pair the world does not have yet
    timeline = Timeline(sender)
    timeline.start()
    amounts = {wbtc: 10 * 10**8, usdc: 600_000 * 10**6}
    for token in amounts:
        approve(sender, token, router.address)
    timeline.before_tx()
    born = sender.send(
        router.functions.addLiquidity(wbtc, usdc, amounts[wbtc], amounts[usdc], 0, 0, sender.owner, DEADLINE)
    )
    pair = factory.functions.getPair(wbtc, usdc).call()
    pool = DevnetPool("uniswap-v2", pair, *sorted((wbtc, usdc), key=lambda a: int(a, 16)), 3000)
    growth = v2_swaps(sender, timeline, case, eth_chain, pool)
    end = timeline.end()

    adapter = V2Adapter(devnet_deployment(eth_chain), UNISWAP_V2)  # the default day: longer than the pair's life
    rows = {y.market: y for y in await read_yields(eth_chain, [adapter], end)}
    seconds = timeline.t0 + WINDOW - sender.w3.eth.get_block(born["blockNumber"])["timestamp"]
    row = rows[pair]
    assert row.apr == exact_decimal(growth * YEAR / seconds)
    assert f"blocks {born['blockNumber']}..{end} ({seconds} s): the pool is younger than 86400 s" in row.method


async def test_a_failed_read_marks_the_pool_instead_of_reporting_zero(eth_chain: DevnetChain) -> None:
    mine_later(eth_chain.rpc_url)
    broken, *healthy = eth_chain.pools_of("uniswap-v2")
    adapter = V2Adapter(devnet_deployment(eth_chain), UNISWAP_V2)
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as client:
        before = await adapter.yields(Batcher(await client.snapshot()).reader("uniswap-v2"))  # pairs discovered
        break_pair(eth_chain, broken.address)
        at = Batcher(await client.snapshot()).reader("uniswap-v2")
        after = await adapter.yields(at)
    assert broken.address in {y.market for y in before}
    assert sorted(y.market for y in after) == sorted(p.address for p in healthy)  # missing, not a 0
    assert f"{broken.address}.getReserves() failed" in adapter.lp_fee_unavailable[broken.address]
    # The same, as the gap `Adapter.read` stores in its place.
    (gap,) = adapter.yield_gaps(at.block)
    assert (gap.market, gap.kind, gap.reason) == (
        broken.address,
        YieldKind.LP_FEE,
        adapter.lp_fee_unavailable[broken.address],
    )
