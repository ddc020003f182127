"""`V3PoolState`: everything a Uniswap V3-style pool's swap reads, as pure data (no I/O).

slot0's price and tick, the in-range liquidity, the fee and tick spacing, every non-zero tick-bitmap word
and the liquidityNet of every initialized tick — plus its liquidityGross, which no swap reads but which
decides whether a Mint or Burn flips the tick's bitmap bit (`protocols.uniswap.events`).
`defiscope.protocols.uniswap.v3_state` reads one from a
chain; tests and benchmarks may also build one by hand or from JSON.

    >>> state = V3PoolState(sqrt_price_x96=2**96, tick=0, liquidity=10**18, fee=3000, tick_spacing=60)
    >>> words = state.with_ticks({-600: 10**18, 600: -(10**18)}).words
    >>> {word: bits.bit_length() - 1 for word, bits in words.items()}   # ticks -600/60 and 600/60
    {-1: 246, 0: 10}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from defiscope.protocols.uniswap.math.tick_bitmap import compress, position


def _frozen(mapping: Mapping[int, int]) -> Mapping[int, int]:
    # A read-only view is kept as is: states made from other states (each swap of a router's search)
    # share their tick maps instead of copying thousands of entries.
    if type(mapping) is MappingProxyType:
        return mapping
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class V3PoolState:
    sqrt_price_x96: int
    tick: int
    liquidity: int
    fee: int  # pips: hundredths of a basis point
    tick_spacing: int
    words: Mapping[int, int] = field(default_factory=dict)  # int16 word position -> uint256 bitmap word
    liquidity_net: Mapping[int, int] = field(default_factory=dict)  # initialized tick -> int128 liquidityNet
    #: initialized tick -> uint128 liquidityGross; empty when not read (a state built by hand for swaps)
    liquidity_gross: Mapping[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "words", _frozen(self.words))
        object.__setattr__(self, "liquidity_net", _frozen(self.liquidity_net))
        object.__setattr__(self, "liquidity_gross", _frozen(self.liquidity_gross))

    def with_ticks(self, liquidity_net: Mapping[int, int]) -> V3PoolState:
        """The same pool with these initialized ticks; the bitmap words are derived from them."""
        words: dict[int, int] = {}
        for tick in liquidity_net:
            word, bit = position(compress(tick, self.tick_spacing))
            words[word] = words.get(word, 0) | (1 << bit)
        return replace(self, words=words, liquidity_net=liquidity_net)

    def to_json(self) -> dict[str, Any]:
        """Ints as decimal strings where they can pass 2^53, so any JSON reader keeps them exact."""
        return {
            "sqrt_price_x96": str(self.sqrt_price_x96),
            "tick": self.tick,
            "liquidity": str(self.liquidity),
            "fee": self.fee,
            "tick_spacing": self.tick_spacing,
            "words": {str(k): str(v) for k, v in sorted(self.words.items())},
            "liquidity_net": {str(k): str(v) for k, v in sorted(self.liquidity_net.items())},
            "liquidity_gross": {str(k): str(v) for k, v in sorted(self.liquidity_gross.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> V3PoolState:
        return cls(
            sqrt_price_x96=int(data["sqrt_price_x96"]),
            tick=int(data["tick"]),
            liquidity=int(data["liquidity"]),
            fee=int(data["fee"]),
            tick_spacing=int(data["tick_spacing"]),
            words={int(k): int(v) for k, v in data["words"].items()},
            liquidity_net={int(k): int(v) for k, v in data["liquidity_net"].items()},
            liquidity_gross={int(k): int(v) for k, v in data.get("liquidity_gross", {}).items()},
        )
