"""Uniswap V2-style DEXes (Uniswap V2, PancakeSwap V2, forks): TVL = both reserves of every pair.

Pairs are discovered from the factory's `PairCreated` events (a `LogCursor`: scanned once from the factory's
deployment, then only new blocks). Reserves are tracked from events (`protocols.tracked`): read in full by
`getReserves` once, then set exactly from each pair's `Sync(reserve0, reserve1)`, so a later block costs its
logs and no call. A pair created with no `Sync` yet holds 0 (exact). A full read also checks the number of
pairs found against the factory's `allPairsLength()`. At an older block only the pairs created by then count.
Yields: each pair's LP fee APR, from the growth of sqrt(k) per LP share over a trailing day (`protocols.lp_fees`),
every block (hourly above 1,000 pools: `TrackedAdapter.yields_due`): only the pairs a `Sync` touched are re-read
(`lp_window.PoolLogs`); market and asset are the pair (its own LP token), symbol "WETH-USDC".

    adapter = V2Adapter(deployment, UNISWAP_V2)
    positions = await adapter.positions(reader)
    rates = await adapter.yields(reader)       # adapter.lp_fee_unavailable: pair -> why it has none
    adapter.yield_gaps(reader.block)           # the same, as `YieldGap`s (what `Adapter.read` stores)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from defiscope.chain.block import BlockRef
from defiscope.chain.logs import log_hex, topic_address, word_address
from defiscope.chain.multicall import Call
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.protocols.base import AdapterError, ProtocolInfo
from defiscope.protocols.log_cursor import LogCursor
from defiscope.protocols.lp_fees import LP_FEE_WINDOW, V2_LP_FEES, V2_LP_READS
from defiscope.protocols.lp_window import LpFeeTracker, LpPool, PoolLogs, pool_symbol
from defiscope.protocols.revenue import FeeShare, knob_share
from defiscope.protocols.surface import ContractUse, event_topic
from defiscope.protocols.tracked import Key, Reading, TrackedAdapter, block_hash_check, created_between
from defiscope.protocols.yields import Yield, YieldGap

GET_RESERVES: Final = "getReserves()(uint112,uint112,uint32)"
ALL_PAIRS_LENGTH: Final = "allPairsLength()(uint256)"
#: The fee switch: the pair mints the protocol's share of the growth in sqrt(k) to this address, none when zero.
FEE_TO: Final = "feeTo()(address)"
PAIR_CREATED_EVENT: Final = "PairCreated(address,address,address,uint256)"
PAIR_CREATED: Final = "0x" + event_topic(PAIR_CREATED_EVENT).hex()
SYNC_EVENT: Final = "Sync(uint112,uint112)"
SYNC: Final = "0x" + event_topic(SYNC_EVENT).hex()


V2_COUNTS: Final = "Both reserves (getReserves) of every pair the factory created, as token amounts."
V2_DISCOVERY: Final = (
    "PairCreated events of the factory, scanned once from its deployment block and then only new blocks; "
    "reserves read once, then followed exactly from each pair's Sync events, reconciled on a schedule."
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
    #: First block worth scanning for PairCreated on a chain (the factory's deployment); 0 elsewhere.
    start_blocks: Mapping[int, int] = field(default_factory=lambda: MappingProxyType({}))

    def start_block(self, chain_id: int) -> int:
        return self.start_blocks.get(chain_id, 0)


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
    start_blocks=MappingProxyType({1: 10_000_835}),
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
    start_blocks=MappingProxyType({56: 6_809_737}),
)
V2_SPECS: Final = (UNISWAP_V2, PANCAKESWAP_V2)


@dataclass(frozen=True, slots=True)
class Pair:
    address: str
    token0: str
    token1: str

    @property
    def tokens(self) -> tuple[str, str]:
        return self.token0, self.token1


#: The kind of the pairs found at run time (the factory's creation events).
PAIR_KIND: Final = "pair (each, from PairCreated)"


def parse_pair_created(log: Mapping[str, Any]) -> Pair:
    """`PairCreated(address indexed token0, address indexed token1, address pair, uint256)` from a raw log."""
    topics = log["topics"]
    return Pair(word_address(log["data"], 0), topic_address(topics[1]), topic_address(topics[2]))


def sync_reserves(log: Mapping[str, Any]) -> tuple[int, int]:
    """`Sync(uint112 reserve0, uint112 reserve1)`: the pair's reserves after the event, exactly."""
    data = log_hex(log["data"])[2:]
    return int(data[:64], 16), int(data[64:128], 16)


class V2Adapter(TrackedAdapter):
    noun = "pairs"

    def __init__(self, deployment: Deployment, spec: V2Spec, *, lp_fee_window: int = LP_FEE_WINDOW) -> None:
        super().__init__(deployment)
        self.info = spec.info
        self.spec = spec
        self.factory = deployment.contract(spec.factory)
        # The factory's deployment block is known on mainnet; a devnet (same chain id) starts from genesis.
        start = spec.start_block(deployment.chain_id) if deployment.network == "mainnet" else 0
        self.created = LogCursor(self.factory, (PAIR_CREATED,), parse_pair_created, start_block=start)
        self._tracked: dict[str, Pair] = {}  # lowercase address -> pair, the pairs the tracked state covers
        self._receipts: set[str] = set()
        self._receipts_seen = 0  # cursor entries already in `_receipts`
        # A pair's reserves and LP supply change only with a Sync (mint and burn sync too): its LP state follows the
        # holdings' own logs, so the rates cost the pairs a block touched, not every pair.
        # The factory's feeTo (the protocol's share of every pair's fees) is read with the pairs' reads at B.
        self.lp_fees = LpFeeTracker(
            spec.info.slug,
            V2_LP_FEES,
            lp_fee_window,
            PoolLogs(frozenset({SYNC}), self._logs_since),
            shared_read=self._fee_to,
        )
        self.lp_fee_unavailable: dict[str, str] = {}  # of the latest `yields`: pair -> why it has no rate

    @property
    def pairs(self) -> list[Pair]:
        """Every pair found so far, in creation order (the factory's index order)."""
        return self.created.logs

    def receipt_tokens(self) -> AbstractSet[str]:
        """Each pair is its own LP token; the set grows with the pairs found, each added once."""
        entries = self.created.entries
        if len(entries) < self._receipts_seen:  # discovery was rolled back
            self._receipts, self._receipts_seen = set(), 0
        self._receipts.update(pair.address for _, _, pair in entries[self._receipts_seen :])
        self._receipts_seen = len(entries)
        return self._receipts

    def found_contracts(self, block: int) -> dict[str, tuple[str, ...]] | None:
        """The pairs created by ``block``, once the factory's creation events were scanned that far."""
        if self.created.scanned_to < block:
            return None
        return {PAIR_KIND: tuple(p.address for p in self.created.upto(block))}

    def surface(self) -> tuple[ContractUse, ...]:
        # PancakeSwap V2's factory and pair are Uniswap V2's contracts renamed (see the fixtures' SOURCES.md).
        return (
            ContractUse(
                f"{self.info.name} factory",
                "uniswap/UniswapV2Factory",
                calls=(ALL_PAIRS_LENGTH, FEE_TO),
                events=(PAIR_CREATED_EVENT,),
                address=self.factory,
            ),
            ContractUse(
                PAIR_KIND,
                "uniswap/UniswapV2Pair",
                calls=(GET_RESERVES, *V2_LP_READS),
                events=(SYNC_EVENT,),
            ),
            block_hash_check(),
        )

    async def discover(self, reader: Reader) -> list[Pair]:
        """Pairs created up to the reader's block, scanning only blocks not scanned before."""
        await self.created.scan(reader)
        return self.created.upto(reader.block.number)

    def event_topics(self) -> Sequence[str]:
        return (SYNC,)

    async def read_all(self, reader: Reader) -> dict[Key, Reading]:
        pairs = await self.discover(reader)
        count, *reserves = await reader.call_many(
            [Call.of(self.factory, ALL_PAIRS_LENGTH), *(Call.of(p.address, GET_RESERVES) for p in pairs)]
        )
        (length,) = self.require([count])
        if length != len(pairs):  # discovery from events must find exactly the factory's pairs
            raise AdapterError(
                f"{self.info.slug}: {len(pairs)} PairCreated events up to block {reader.block.number} but the "
                f"factory's allPairsLength() is {length} on chain {self.deployment.chain_id}"
            )
        readings: dict[Key, Reading] = {}
        for pair, result in zip(pairs, reserves, strict=True):
            if result.success:
                readings[(pair.address, pair.token0)], readings[(pair.address, pair.token1)], _ = result.value
            else:
                why = f"getReserves() failed: {result.error}"
                readings[(pair.address, pair.token0)] = readings[(pair.address, pair.token1)] = why
        return readings

    def start_tracking(self, block: int) -> None:
        self._tracked = {p.address.lower(): p for p in self.created.upto(block)}

    def tracked_pair(self, address: str) -> Pair | None:
        """The pair at `address` if the tracked state covers it (its reserves are `state`'s two holdings)."""
        return self._tracked.get(address.lower())

    async def changes(self, reader: Reader, logs: Sequence[Mapping[str, Any]], since: int) -> dict[Key, Reading]:
        readings: dict[Key, Reading] = {}
        for pair in created_between(self.created, since, reader.block.number):
            self._tracked[pair.address.lower()] = pair
            readings[(pair.address, pair.token0)] = readings[(pair.address, pair.token1)] = 0  # no Sync yet
        for entry in logs:  # in chain order: the last Sync of a pair holds its reserves now
            synced = self._tracked.get(log_hex(entry["address"]))
            if synced is not None and log_hex(entry["topics"][0]) == SYNC:
                readings[(synced.address, synced.token0)], readings[(synced.address, synced.token1)] = sync_reserves(
                    entry
                )
        return readings

    async def yields(self, reader: Reader) -> list[Yield]:
        """LP fee APR of every pair (`protocols.lp_fees`); a pair without one is in `lp_fee_unavailable`. Each
        carries the protocol's share of the pair's fees, from the factory's `feeTo` read in the same batch."""
        pairs = await self.discover(reader)
        pools = [LpPool(p.address, p.address, pool_symbol(self.deployment, p.tokens)) for p in pairs]
        rates = await self.lp_fees.rates(reader, pools)
        self.lp_fee_unavailable = rates.unavailable
        return rates.yields

    async def _fee_to(self, reader: Reader) -> FeeShare:
        return knob_share(self.info.slug, await reader.call(Call.of(self.factory, FEE_TO)))

    def yield_gaps(self, block: BlockRef) -> tuple[YieldGap, ...]:
        return self.lp_fees.gaps_at(block)
