"""Volume and fees per pool per day from real Swap / TokenExchange events on the devnet."""

from __future__ import annotations

from datetime import UTC, date, datetime

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.spec import CURVE_POOLS
from defiscope.devnet.tx import DEADLINE, MAX_UINT256, Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.curve.math import StableSwap, exchange, get_dy
from defiscope.protocols.uniswap.v2_math import UNISWAP_V2_FEE
from defiscope.protocols.volume import (
    CurveMarket,
    Trade,
    V2Market,
    V3Market,
    daily_volume,
    read_trades,
)
from tests.protocols.dex.test_curve_math import decimals_of, read_pool

DAY = 86_400


def test_daily_volume_groups_by_pool_and_utc_day() -> None:
    midnight = int(datetime(2026, 1, 2, tzinfo=UTC).timestamp())
    trades = [
        Trade("0xP", 1, midnight - 1, "A", 10, "B", 9, "A", 1),
        Trade("0xP", 2, midnight, "A", 20, "B", 19, "A", 2),
        Trade("0xP", 2, midnight + 5, "B", 7, "A", 6, "B", 3),
        Trade("0xQ", 3, midnight + 9, "A", 1, "B", 1, "B", 0),
    ]
    days = daily_volume(trades)
    assert [(d.pool, d.day, d.trades, d.volume, d.fees) for d in days] == [
        ("0xP", date(2026, 1, 1), 1, {"A": 10}, {"A": 1}),
        ("0xP", date(2026, 1, 2), 2, {"A": 20, "B": 7}, {"A": 2, "B": 3}),
        ("0xQ", date(2026, 1, 2), 1, {"A": 1}, {"B": 0}),
    ]


async def test_volume_and_fees_from_real_swaps(eth_chain: DevnetChain) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    router = sender.contract(npm_artifact("UniswapV2Router02"), eth_chain.contracts["UniswapV2Router02"])
    usdc, weth = eth_chain.tokens["USDC"], eth_chain.tokens["WETH"]
    pair = next(p for p in eth_chain.pools_of("uniswap-v2") if {p.token0, p.token1} == {usdc, weth})
    spec = CURVE_POOLS[0]
    pool_address = eth_chain.contracts[spec.registry_name]
    curve = sender.contract(contract_artifact("CurveStableSwap3"), pool_address)
    start = sender.w3.eth.block_number + 1
    now = int(sender.w3.eth.get_block("latest")["timestamp"])
    first_day = now // DAY * DAY + DAY  # the next UTC midnight
    sender.rpc("evm_setNextBlockTimestamp", [first_day + 3600])

    curve_fees: list[int] = []

    def curve_swap(i: int, j: int, dx: int) -> None:
        live = read_pool(eth_chain.rpc_url, pool_address, decimals_of(spec))
        dy = get_dy(live.pool, live.state, i, j, dx)
        # The exact fee in coin j: the xp-unit fee the pool keeps, scaled like dy.
        dy_with_fee = exchange(StableSwap(live.pool.rates, 0, 0), live.state, i, j, dx)[0]
        curve_fees.append(dy_with_fee - dy)
        sender.send(curve.functions.exchange(i, j, dx, dy))

    sender.send(router.functions.swapExactTokensForTokens(5_000 * 10**6, 0, [usdc, weth], sender.owner, DEADLINE))
    curve_swap(1, 2, 2_000_000 * 10**6)  # USDC -> USDT
    sender.rpc("evm_setNextBlockTimestamp", [first_day + DAY + 3600])
    sender.send(router.functions.swapExactTokensForTokens(10**18, 0, [weth, usdc], sender.owner, DEADLINE))
    sender.send(router.functions.swapExactTokensForTokens(7 * 10**6, 0, [usdc, weth], sender.owner, DEADLINE))
    curve_swap(0, 1, 3 * 10**24)  # DAI -> USDC
    end = sender.w3.eth.block_number

    markets = [
        V2Market(pair.address, pair.token0, pair.token1, UNISWAP_V2_FEE),
        CurveMarket(pool_address, tuple(eth_chain.tokens[s] for s in spec.coins), spec.fee),
    ]
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as client:
        trades = await read_trades(Batcher(await client.snapshot(end)).reader("volume"), markets, start, end)
    days = daily_volume(trades)

    by_key = {(d.pool, (d.day - datetime.fromtimestamp(first_day, UTC).date()).days): d for d in days}
    assert sorted((pool == pair.address, day, d.trades) for (pool, day), d in by_key.items()) == [
        (False, 0, 1),
        (False, 1, 1),
        (True, 0, 1),
        (True, 1, 2),
    ]
    v2_first, v2_second = by_key[(pair.address, 0)], by_key[(pair.address, 1)]
    assert v2_first.volume == {usdc: 5_000 * 10**6}
    assert v2_first.fees == {usdc: 15 * 10**6}
    assert v2_second.volume == {weth: 10**18, usdc: 7 * 10**6}
    assert v2_second.fees == {weth: 3 * 10**15, usdc: 21_000}  # 0.3 % of each input, rounded down
    curve_first, curve_second = by_key[(pool_address, 0)], by_key[(pool_address, 1)]
    usdt, dai = eth_chain.tokens["USDT"], eth_chain.tokens["DAI"]
    assert curve_first.volume == {usdc: 2_000_000 * 10**6}
    assert curve_second.volume == {dai: 3 * 10**24}
    # Curve's fee from the event alone is within a wei or two of the pool's own (see protocols.volume).
    assert abs(curve_first.fees[usdt] - curve_fees[0]) <= 2
    assert abs(curve_second.fees[usdc] - curve_fees[1]) <= 2
    assert 190 * 10**6 < curve_fees[0] < 210 * 10**6  # about 0.01 % of $2M


async def test_v3_volume_and_fees_from_real_swaps(eth_chain: DevnetChain) -> None:
    """Both directions through the real SwapRouter; the fee from the event is the pool's own, within a wei
    per step: the growth of feeGrowthGlobal times the in-range liquidity (no ticks crossed here)."""
    sender = Sender.connect(eth_chain.rpc_url)
    router = sender.contract(npm_artifact("SwapRouter"), eth_chain.contracts["SwapRouter"])
    usdc, weth = eth_chain.tokens["USDC"], eth_chain.tokens["WETH"]
    pool = next(p for p in eth_chain.pools_of("uniswap-v3") if {p.token0, p.token1} == {usdc, weth})
    contract = sender.contract(npm_artifact("UniswapV3Pool"), pool.address)
    for token in (usdc, weth):
        sender.send(
            sender.contract(contract_artifact("DevToken"), token).functions.approve(router.address, MAX_UINT256)
        )
    start = sender.w3.eth.block_number + 1
    sells = [(usdc, weth, 20_000 * 10**6), (weth, usdc, 3 * 10**18)]
    growth: list[int] = []
    for token_in, token_out, amount in sells:
        zero_in = token_in == pool.token0
        read = contract.functions.feeGrowthGlobal0X128 if zero_in else contract.functions.feeGrowthGlobal1X128
        before, liquidity = read().call(), contract.functions.liquidity().call()
        params = (token_in, token_out, pool.fee, sender.owner, DEADLINE, amount, 0, 0)
        sender.send(router.functions.exactInputSingle(params))
        growth.append((read().call() - before) * liquidity // 2**128)
    end = sender.w3.eth.block_number

    markets = [V3Market(pool.address, pool.token0, pool.token1, pool.fee)]
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as client:
        trades = await read_trades(Batcher(await client.snapshot(end)).reader("volume"), markets, start, end)
    assert [(t.token_in, t.token_out, t.amount_in) for t in trades] == sells
    for trade, pool_fee in zip(trades, growth, strict=True):
        assert trade.fee == trade.amount_in * pool.fee // 1_000_000
        assert abs(trade.fee - pool_fee) <= 2  # the pool rounds each step's fee up; fee growth rounds down
        assert trade.amount_out > 0
    (day,) = daily_volume(trades)
    assert day.volume == {usdc: 20_000 * 10**6, weth: 3 * 10**18}
