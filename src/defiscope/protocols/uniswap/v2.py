"""Uniswap V2-style DEXes (Uniswap V2, PancakeSwap V2, forks): TVL = both reserves of every pair.

Pairs are discovered from the factory (`allPairsLength`, `allPairs(i)`) and cached: the list only grows,
so each snapshot reads the length and the reserves of known pairs in one batch, and only new pairs cost
more. At an older block only the pairs that existed then (`index < allPairsLength` at that block) count.

    adapter = V2Adapter(deployment, UNISWAP_V2)
    positions = await adapter.positions(reader)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from defiscope.chain.multicall import Call
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.protocols.base import Adapter, BalanceKind, Position, ProtocolInfo


@dataclass(frozen=True, slots=True)
class V2Spec:
    """What varies between V2 forks: the protocol's identity and its factory's registry name."""

    info: ProtocolInfo
    factory: str  # registry name of the factory contract


UNISWAP_V2: Final = V2Spec(
    ProtocolInfo(
        slug="uniswap-v2",
        name="Uniswap V2",
        category="Dexes",
        methodology="Both reserves (getReserves) of every pair created by the Uniswap V2 factory.",
        url="https://uniswap.org",
    ),
    factory="UniswapV2Factory",
)
PANCAKESWAP_V2: Final = V2Spec(
    ProtocolInfo(
        slug="pancakeswap-v2",
        name="PancakeSwap V2",
        category="Dexes",
        methodology="Both reserves (getReserves) of every pair created by the PancakeSwap V2 factory.",
        url="https://pancakeswap.finance",
    ),
    factory="PancakeV2Factory",
)
V2_SPECS: Final = (UNISWAP_V2, PANCAKESWAP_V2)


@dataclass(frozen=True, slots=True)
class Pair:
    address: str
    token0: str
    token1: str


class V2Adapter(Adapter):
    def __init__(self, deployment: Deployment, spec: V2Spec) -> None:
        super().__init__(deployment)
        self.info = spec.info
        self.factory = deployment.contract(spec.factory)
        self.pairs: list[Pair] = []  # by factory index; append-only, like the factory's own list

    def receipt_tokens(self) -> list[str]:
        return [pair.address for pair in self.pairs]  # each pair is its own LP token

    async def positions(self, reader: Reader) -> list[Position]:
        known = list(self.pairs)
        reserve_calls = [Call.of(p.address, "getReserves()(uint112,uint112,uint32)") for p in known]
        results = await reader.call_many([Call.of(self.factory, "allPairsLength()(uint256)"), *reserve_calls])
        (count,) = self.require(results[:1])
        # At an older block the cache may hold pairs created later: only the first `count` existed then.
        reserves = [(r0, r1) for r0, r1, _ in self.require(results[1 : 1 + count])]
        if count > len(known):
            new_pairs = await self._discover(reader, len(known), count)
            new_reserves = self.require(
                await reader.call_many([Call.of(p.address, "getReserves()(uint112,uint112,uint32)") for p in new_pairs])
            )
            reserves += [(r0, r1) for r0, r1, _ in new_reserves]
        return [
            position
            for pair, (r0, r1) in zip(self.pairs[:count], reserves, strict=True)
            for position in (
                Position(pair.token0, r0, BalanceKind.TVL, pair.address, f"pair {pair.address}"),
                Position(pair.token1, r1, BalanceKind.TVL, pair.address, f"pair {pair.address}"),
            )
        ]

    async def _discover(self, reader: Reader, start: int, stop: int) -> list[Pair]:
        """Read pairs [start, stop) of the factory and their tokens; append them to the cache."""
        addresses = self.require(
            await reader.call_many([Call.of(self.factory, "allPairs(uint256)(address)", i) for i in range(start, stop)])
        )
        tokens = self.require(
            await reader.call_many(
                [Call.of(a, f"{side}()(address)") for a in addresses for side in ("token0", "token1")]
            )
        )
        found = [Pair(a, tokens[2 * i], tokens[2 * i + 1]) for i, a in enumerate(addresses)]
        if len(self.pairs) == start:  # a concurrent snapshot may have discovered them already
            self.pairs.extend(found)
        return found
