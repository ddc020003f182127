"""Swap volume and LP fees per pool per UTC day, from V2 and V3 ``Swap`` and Curve ``TokenExchange`` events.

Decoding and aggregation are pure; ``read_trades`` is the one function that reads, through a reader pinned at or
after the last block (``eth_getLogs`` and, when the node's logs carry no ``blockTimestamp``, the blocks' headers
in one batch), so what it read is the reader's provenance.

    trades = await read_trades(reader, [V2Market(pair, token0, token1, UNISWAP_V2_FEE)], 100, 200)
    for day in daily_volume(trades):
        day.pool, day.day, day.volume[token], day.fees[token], day.trades

Volume is counted once per trade, in the token sold. Fees: a V2 pair keeps ``amountIn * (1 - fee)`` of the
input, so its fee is exact (rounded down). A Curve pool takes its fee from the output before paying
``dy``; from the event alone the fee is ``dy * fee / (1e10 - fee)`` in the bought coin, which may be a few
wei off the pool's own rounding. A V3 pool (Uniswap or PancakeSwap) charges each step of a swap
``ceil(stepIn * fee / (1e6 - fee))`` (the last step: the rest of the input); from the event the fee is
``amountIn * fee / 1e6``, nominal to about a wei per step.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final

from eth_abi import decode
from eth_utils import keccak

from defiscope.chain.reader import Reader
from defiscope.protocols.curve.math import FEE_DENOMINATOR
from defiscope.protocols.uniswap.events import V3_SWAPS
from defiscope.protocols.uniswap.math.swap_math import FEE_DENOMINATOR as V3_FEE_DENOMINATOR
from defiscope.protocols.uniswap.v2_math import V2Fee

V2_SWAP: Final = "0x" + keccak(text="Swap(address,uint256,uint256,uint256,uint256,address)").hex()
CURVE_EXCHANGE: Final = "0x" + keccak(text="TokenExchange(address,int128,uint256,int128,uint256)").hex()


@dataclass(frozen=True, slots=True)
class Trade:
    """One decoded swap."""

    pool: str
    block_number: int
    timestamp: int
    token_in: str
    amount_in: int
    token_out: str
    amount_out: int
    fee_token: str
    fee: int


@dataclass(frozen=True, slots=True)
class V2Market:
    """A V2 pair and its fee (Uniswap V2 997/1000, PancakeSwap V2 9975/10000)."""

    address: str
    token0: str
    token1: str
    fee: V2Fee


@dataclass(frozen=True, slots=True)
class CurveMarket:
    """A Curve pool: its coins in index order and its swap fee (1e10 units)."""

    address: str
    coins: tuple[str, ...]
    fee: int


@dataclass(frozen=True, slots=True)
class V3Market:
    """A V3 pool (Uniswap's or PancakeSwap's Swap layout) and its fee in pips (1e-6)."""

    address: str
    token0: str
    token1: str
    fee: int


Market = V2Market | V3Market | CurveMarket


@dataclass(frozen=True, slots=True)
class DailyVolume:
    pool: str
    day: date  # UTC
    trades: int
    volume: Mapping[str, int] = field(default_factory=dict)  # token sold -> raw amount
    fees: Mapping[str, int] = field(default_factory=dict)  # fee token -> raw amount


def _words(data: str) -> bytes:
    return bytes.fromhex(data.removeprefix("0x"))


def decode_v2_swap(market: V2Market, data: bytes, block_number: int, timestamp: int) -> Trade:
    """``Swap(sender, amount0In, amount1In, amount0Out, amount1Out, to)``: the non-indexed amounts."""
    in0, in1, out0, out1 = decode(["uint256"] * 4, data)
    # A swap may pay in on both sides (flash swaps); the side with the larger input is the trade.
    zero_for_one = in0 >= in1
    token_in, amount_in = (market.token0, in0) if zero_for_one else (market.token1, in1)
    token_out, amount_out = (market.token1, out1) if zero_for_one else (market.token0, out0)
    fee = amount_in * (market.fee.denominator - market.fee.numerator) // market.fee.denominator
    return Trade(market.address, block_number, timestamp, token_in, amount_in, token_out, amount_out, token_in, fee)


def decode_v3_swap(market: V3Market, topic: str, data: bytes, block_number: int, timestamp: int) -> Trade:
    """``Swap(sender, recipient, amount0, amount1, ...)``: the pool's deltas, positive for the side paid in."""
    amount0, amount1 = decode(list(V3_SWAPS[topic]), data)[:2]
    zero_for_one = amount0 > 0
    token_in, amount_in = (market.token0, amount0) if zero_for_one else (market.token1, amount1)
    token_out, amount_out = (market.token1, -amount1) if zero_for_one else (market.token0, -amount0)
    fee = amount_in * market.fee // V3_FEE_DENOMINATOR
    return Trade(market.address, block_number, timestamp, token_in, amount_in, token_out, amount_out, token_in, fee)


def decode_curve_exchange(market: CurveMarket, data: bytes, block_number: int, timestamp: int) -> Trade:
    """``TokenExchange(buyer, sold_id, tokens_sold, bought_id, tokens_bought)``."""
    sold_id, sold, bought_id, bought = decode(["int128", "uint256", "int128", "uint256"], data)
    token_out = market.coins[bought_id]
    fee = bought * market.fee // (FEE_DENOMINATOR - market.fee)
    return Trade(
        market.address, block_number, timestamp, market.coins[sold_id], sold, token_out, bought, token_out, fee
    )


def daily_volume(trades: Iterable[Trade]) -> list[DailyVolume]:
    """Trades summed per (pool, UTC day), ordered by day then pool."""
    volume: dict[tuple[str, date], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    fees: dict[tuple[str, date], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    counts: dict[tuple[str, date], int] = defaultdict(int)
    for trade in trades:
        key = (trade.pool, datetime.fromtimestamp(trade.timestamp, UTC).date())
        volume[key][trade.token_in] += trade.amount_in
        fees[key][trade.fee_token] += trade.fee
        counts[key] += 1
    return [
        DailyVolume(pool, day, counts[(pool, day)], dict(volume[(pool, day)]), dict(fees[(pool, day)]))
        for pool, day in sorted(counts, key=lambda k: (k[1], k[0]))
    ]


async def read_trades(reader: Reader, markets: Sequence[Market], from_block: int, to_block: int) -> list[Trade]:
    """Every swap of ``markets`` in [from_block, to_block] (up to the reader's block), in chain order."""
    by_address = {m.address.lower(): m for m in markets}
    if not by_address:
        return []
    logs = await reader.logs(
        address=[m.address for m in markets],
        topics=[[V2_SWAP, *V3_SWAPS, CURVE_EXCHANGE]],
        from_block=from_block,
        to_block=to_block,
    )
    times = await _timestamps(reader, logs)
    trades = []
    for entry in sorted(logs, key=lambda e: (int(e["blockNumber"], 16), int(e["logIndex"], 16))):
        market = by_address.get(str(entry["address"]).lower())
        number = int(entry["blockNumber"], 16)
        topic = str(entry["topics"][0])
        if isinstance(market, V2Market) and topic == V2_SWAP:
            trades.append(decode_v2_swap(market, _words(entry["data"]), number, times[number]))
        elif isinstance(market, V3Market) and topic in V3_SWAPS:
            trades.append(decode_v3_swap(market, topic, _words(entry["data"]), number, times[number]))
        elif isinstance(market, CurveMarket) and topic == CURVE_EXCHANGE:
            trades.append(decode_curve_exchange(market, _words(entry["data"]), number, times[number]))
    return trades


async def _timestamps(reader: Reader, logs: Sequence[Mapping[str, Any]]) -> dict[int, int]:
    times = {int(e["blockNumber"], 16): int(e["blockTimestamp"], 16) for e in logs if e.get("blockTimestamp")}
    missing = sorted({int(e["blockNumber"], 16) for e in logs} - times.keys())
    times.update({block.number: block.timestamp for block in await reader.headers(missing)})
    return times
