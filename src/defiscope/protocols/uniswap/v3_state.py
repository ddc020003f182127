"""Read a Uniswap V3-style pool's full swap state into a pure `V3PoolState`, in three batched rounds.

1. slot0, liquidity, fee, tickSpacing;
2. every tick-bitmap word the pool can use (from MIN_TICK to MAX_TICK at its spacing: 6,932 words at
   spacing 1, 70 at 200) — Multicall3 batches of up to 2,048 words (4 requests at spacing 1, else 1);
3. `ticks(t)` of every initialized tick the words mark, for liquidityNet (and liquidityGross).

Several pools read together share the rounds. The state is exact and complete, so any swap on it
matches the pool at the reader's block.

    states = await read_pool_states(reader, pools)
    swap(states[0], zero_for_one=True, amount_specified=10**18)

The selectors are the same on Uniswap V3 and PancakeSwap V3; slot0's feeProtocol is uint8 on one and
uint32 on the other, which ABI-decodes the same (a full word).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, TypeVar

from defiscope.chain.multicall import Call
from defiscope.chain.reader import Reader
from defiscope.protocols.uniswap.math.pool_state import V3PoolState
from defiscope.protocols.uniswap.math.tick_bitmap import compress, position
from defiscope.protocols.uniswap.math.tick_math import MAX_TICK, MIN_TICK
from defiscope.protocols.uniswap.v3_spec import SLOT0_UNISWAP

SLOT0: Final = SLOT0_UNISWAP
TICKS: Final = "ticks(int24)(uint128,int128,uint256,uint256,int56,uint160,uint32,bool)"
MAX_WORDS_PER_REQUEST: Final = 2048

T = TypeVar("T")


def word_range(tick_spacing: int) -> range:
    """Every bitmap word a pool with this spacing can set."""
    return range(position(compress(MIN_TICK, tick_spacing))[0], position(compress(MAX_TICK, tick_spacing))[0] + 1)


def initialized_ticks(words: dict[int, int], tick_spacing: int) -> list[int]:
    """The ticks whose bits are set, in increasing order."""
    ticks = []
    for word, bits in sorted(words.items()):
        while bits:
            low = bits & -bits
            ticks.append(((word << 8) + low.bit_length() - 1) * tick_spacing)
            bits ^= low
    return ticks


async def read_pool_state(reader: Reader, pool: str) -> V3PoolState:
    """One pool's swap state at the reader's block (see `read_pool_states`)."""
    (state,) = await read_pool_states(reader, [pool])
    return state


async def read_pool_states(
    reader: Reader, pools: Sequence[str], slot0: Sequence[str] | None = None
) -> list[V3PoolState]:
    """The swap states of several pools at the reader's block, sharing each round's requests.

    Read many pools with one call of this rather than concurrent `read_pool_state`s: the word round is cut
    into requests of at most MAX_WORDS_PER_REQUEST calls in all, which concurrent readers would merge into
    one request too big for a node. Raises `CallReverted` naming a call that failed. ``slot0`` gives each
    pool's fork's slot0 signature (`v3_spec.SLOT0_BY_DEX`); Uniswap's by default.
    """
    slot0s = slot0 if slot0 is not None else [SLOT0] * len(pools)
    heads = [
        [r.unwrap() for r in results]
        for results in _split(
            await reader.call_many(
                [
                    Call.of(pool, signature)
                    for pool, head in zip(pools, slot0s, strict=True)
                    for signature in (head, "liquidity()(uint128)", "fee()(uint24)", "tickSpacing()(int24)")
                ]
            ),
            4,
        )
    ]
    word_calls = [
        (i, w, Call.of(pool, "tickBitmap(int16)(uint256)", w))
        for i, (pool, head) in enumerate(zip(pools, heads, strict=True))
        for w in word_range(head[3][0])
    ]
    words: list[dict[int, int]] = [{} for _ in pools]
    for start in range(0, len(word_calls), MAX_WORDS_PER_REQUEST):
        chunk = word_calls[start : start + MAX_WORDS_PER_REQUEST]
        values = await reader.values([call for _, _, call in chunk])
        for (i, w, _), bits in zip(chunk, values, strict=True):
            if bits:
                words[i][w] = bits
    ticks = [initialized_ticks(words[i], head[3][0]) for i, head in enumerate(heads)]
    tick_calls = [Call.of(pool, TICKS, t) for pool, pool_ticks in zip(pools, ticks, strict=True) for t in pool_ticks]
    infos = iter(await reader.call_many(tick_calls))
    states = []
    for i, (slot0, liquidity, fee, spacing) in enumerate(heads):
        gross_net = {t: next(infos).unwrap()[:2] for t in ticks[i]}
        states.append(
            V3PoolState(
                sqrt_price_x96=slot0[0],
                tick=slot0[1],
                liquidity=liquidity[0],
                fee=fee[0],
                tick_spacing=spacing[0],
                words=words[i],
                liquidity_net={t: net for t, (_, net) in gross_net.items()},
                liquidity_gross={t: gross for t, (gross, _) in gross_net.items()},
            )
        )
    return states


def _split(items: list[T], size: int) -> list[list[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
