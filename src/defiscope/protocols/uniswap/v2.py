"""Uniswap V2-style DEXes (Uniswap V2, PancakeSwap V2, forks): TVL = both reserves of every pair.

Pairs are discovered from the factory (`allPairsLength`, `allPairs(i)`) and cached: the list only grows,
so each snapshot reads the length and the reserves of known pairs in one batch, and only new pairs cost
more. At an older block only the pairs that existed then (`index < allPairsLength` at that block) count.
Yields: each pair's LP fee APR, from the growth of sqrt(k) per LP share over a trailing day
(`protocols.lp_fees`); market and asset are the pair (its own LP token), symbol "WETH-USDC".

    adapter = V2Adapter(deployment, UNISWAP_V2)
    positions = await adapter.positions(reader)
    rates = await adapter.yields(reader)       # adapter.lp_fee_unavailable: pair -> why it has none
    adapter.yield_gaps(reader.block)           # the same, as `YieldGap`s (what `Adapter.read` stores)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from defiscope.chain.block import BlockRef
from defiscope.chain.multicall import Call, CallResult
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.protocols.base import Adapter, BalanceKind, Position, ProtocolInfo
from defiscope.protocols.lp_fees import LP_FEE_WINDOW, V2_LP_FEES, V2_LP_READS
from defiscope.protocols.lp_window import LpFeeTracker, LpPool, pool_symbol, split_results
from defiscope.protocols.surface import ContractUse
from defiscope.protocols.yields import Yield, YieldGap

GET_RESERVES: Final = "getReserves()(uint112,uint112,uint32)"
ALL_PAIRS_LENGTH: Final = "allPairsLength()(uint256)"
ALL_PAIRS: Final = "allPairs(uint256)(address)"
PAIR_TOKENS: Final = ("token0()(address)", "token1()(address)")


V2_COUNTS: Final = "Both reserves (getReserves) of every pair the factory created, as token amounts."
V2_DISCOVERY: Final = (
    "Pairs by factory index (allPairsLength, allPairs(i)), cached: only pairs new since the last read cost calls."
)
V2_DIFFERENCE: Final = (
    "DefiLlama counts the same reserves but drops pairs whose tokens it cannot price or has blacklisted; "
    "defiscope keeps every pair and reports a token it cannot price as unpriced, with the reason."
)


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
        counts=V2_COUNTS,
        discovery=V2_DISCOVERY,
        defillama_difference=V2_DIFFERENCE,
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
        counts=V2_COUNTS,
        discovery=V2_DISCOVERY,
        defillama_difference=V2_DIFFERENCE,
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
    def __init__(self, deployment: Deployment, spec: V2Spec, *, lp_fee_window: int = LP_FEE_WINDOW) -> None:
        super().__init__(deployment)
        self.info = spec.info
        self.factory = deployment.contract(spec.factory)
        self.pairs: list[Pair] = []  # by factory index; append-only, like the factory's own list
        self.lp_fees = LpFeeTracker(spec.info.slug, V2_LP_FEES, lp_fee_window)
        self.lp_fee_unavailable: dict[str, str] = {}  # of the latest `yields`: pair -> why it has no rate

    def receipt_tokens(self) -> list[str]:
        return [pair.address for pair in self.pairs]  # each pair is its own LP token

    def surface(self) -> tuple[ContractUse, ...]:
        # PancakeSwap V2's factory and pair are Uniswap V2's contracts renamed (see the fixtures' SOURCES.md).
        return (
            ContractUse(
                f"{self.info.name} factory",
                "uniswap/UniswapV2Factory",
                calls=(ALL_PAIRS_LENGTH, ALL_PAIRS),
                address=self.factory,
            ),
            ContractUse(
                "pair (each, by factory index)",
                "uniswap/UniswapV2Pair",
                calls=(GET_RESERVES, *PAIR_TOKENS, *V2_LP_READS),
            ),
        )

    async def positions(self, reader: Reader) -> list[Position]:
        positions = []
        for pair, results in await self._per_pair(reader, lambda p: [Call.of(p.address, GET_RESERVES)]):
            ((r0, r1, _),) = self.require(results)
            label = f"pair {pair.address}"
            positions.append(Position(pair.token0, r0, BalanceKind.TVL, pair.address, label))
            positions.append(Position(pair.token1, r1, BalanceKind.TVL, pair.address, label))
        return positions

    async def yields(self, reader: Reader) -> list[Yield]:
        """LP fee APR of every pair (`protocols.lp_fees`); a pair without one is in `lp_fee_unavailable`."""
        pairs = await self._per_pair(reader, lambda p: V2_LP_FEES.reads(p.address))
        rates = await self.lp_fees.rates(
            reader,
            ((LpPool(p.address, p.address, pool_symbol(self.deployment, (p.token0, p.token1))), r) for p, r in pairs),
        )
        self.lp_fee_unavailable = rates.unavailable
        return rates.yields

    def yield_gaps(self, block: BlockRef) -> tuple[YieldGap, ...]:
        return self.lp_fees.gaps_at(block)

    async def _per_pair(
        self, reader: Reader, reads: Callable[[Pair], list[Call]]
    ) -> list[tuple[Pair, list[CallResult]]]:
        """Every pair that existed at the reader's block with the results of `reads(pair)`: the factory's
        count and the known pairs' reads go in one batch; only pairs new to the cache cost a second."""
        known = list(self.pairs)
        calls = [reads(p) for p in known]
        results = await reader.call_many(
            [Call.of(self.factory, ALL_PAIRS_LENGTH), *(c for group in calls for c in group)]
        )
        (count,) = self.require(results[:1])
        # At an older block the cache may hold pairs created later: only the first `count` existed then.
        per_pair = list(zip(known, split_results(results[1:], map(len, calls)), strict=True))[:count]
        if count > len(known):
            new_pairs = await self._discover(reader, len(known), count)
            new_calls = [reads(p) for p in new_pairs]
            new_results = await reader.call_many([c for group in new_calls for c in group])
            per_pair += zip(new_pairs, split_results(new_results, map(len, new_calls)), strict=True)
        return per_pair

    async def _discover(self, reader: Reader, start: int, stop: int) -> list[Pair]:
        """Read pairs [start, stop) of the factory and their tokens; append them to the cache."""
        addresses = self.require(
            await reader.call_many([Call.of(self.factory, ALL_PAIRS, i) for i in range(start, stop)])
        )
        tokens = self.require(await reader.call_many([Call.of(a, side) for a in addresses for side in PAIR_TOKENS]))
        found = [Pair(a, tokens[2 * i], tokens[2 * i + 1]) for i, a in enumerate(addresses)]
        if len(self.pairs) == start:  # a concurrent snapshot may have discovered them already
            self.pairs.extend(found)
        return found
