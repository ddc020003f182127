"""Uniswap V3-style DEXes (Uniswap V3, PancakeSwap V3): TVL = token0 and token1 balances of every pool.

Pools are discovered from the factory's `PoolCreated` events with `eth_getLogs` and cached with the
block each was created in: the next snapshot scans only blocks after the last one scanned. At an older
block only the pools that existed then count. Balances are `balanceOf(pool)` of both tokens — what the
pool holds, including uncollected fees, as DefiLlama counts V3 TVL. They are tracked from events
(`protocols.tracked`): read in full once, then each block re-reads only the (pool, token) balances its logs
touched — a tracked pool's Swap, Mint, Collect, Flash or CollectProtocol (both tokens; Burn moves none), or an
ERC-20 Transfer from or to a tracked pool (which also catches donations). A rebasing or interest-bearing token
(stETH, aTokens: found from chain) is kept as the pool's raw amount x the token's index (`pool_balances`), so a
Lido report or Aave interest re-values every pool holding it with one index read. A token without code or a
reverting `balanceOf` leaves that balance `Uncounted` with its reason; the rest of the protocol stands. Yields: each
pool's LP fee APR for a full-range position, from its feeGrowthGlobal over a trailing day (`protocols.lp_fees`),
every block (hourly above 1,000 pools: `TrackedAdapter.yields_due`): only the pools a Swap, Flash or Initialize
touched are re-read; market and asset are the pool (V3 has no fungible LP token), symbol "WETH-USDC 0.05%".

    adapter = V3Adapter(deployment, UNISWAP_V3)
    positions = await adapter.positions(reader)
    rates = await adapter.yields(reader)       # adapter.lp_fee_unavailable: pool -> why it has none
    adapter.yield_gaps(reader.block)           # the same, as `YieldGap`s (what `Adapter.read` stores)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final

from eth_utils import keccak

from defiscope.chain.block import BlockRef
from defiscope.chain.logs import log_hex, log_int, topic_address, word_address
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.protocols.events import EventStream
from defiscope.protocols.governors import governance_surface, streams_of
from defiscope.protocols.holdings_models import detection_surface
from defiscope.protocols.log_cursor import LogCursor
from defiscope.protocols.lp_fees import LP_FEE_WINDOW, V3_FEE_GROWTH_READS, v3_lp_fees
from defiscope.protocols.lp_window import LpFeeTracker, LpPool, PoolLogs, pool_symbol
from defiscope.protocols.pancakeswap.v3 import PANCAKESWAP_V3
from defiscope.protocols.pool_balances import PoolBalances
from defiscope.protocols.surface import ContractUse, event_topic
from defiscope.protocols.tracked import (
    BALANCE_OF,
    Key,
    Reading,
    TrackedAdapter,
    block_hash_check,
    created_between,
    refresh_balances,
    topic_holder,
)
from defiscope.protocols.uniswap.v3_spec import UNISWAP_V3, V3Spec
from defiscope.protocols.yields import Yield, YieldGap

POOL_CREATED_EVENT: Final = "PoolCreated(address,address,uint24,int24,address)"
POOL_CREATED: Final = "0x" + keccak(text=POOL_CREATED_EVENT).hex()
V3_SPECS: Final = (UNISWAP_V3, PANCAKESWAP_V3)
#: The pool events that move tokens (Burn only books them as owed; Collect moves them), per pool interface:
#: PancakeSwap's Swap also logs the protocol fees.
POOL_EVENTS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        interface: (
            swap,
            "Mint(address,address,int24,int24,uint128,uint256,uint256)",
            "Collect(address,address,int24,int24,uint128,uint128)",
            "Flash(address,address,uint256,uint256,uint256,uint256)",
            "CollectProtocol(address,address,uint128,uint128)",
        )
        for interface, swap in (
            ("uniswap/UniswapV3Pool", "Swap(address,address,int256,int256,uint160,uint128,int24)"),
            ("pancakeswap/PancakeV3Pool", "Swap(address,address,int256,int256,uint160,uint128,int24,uint128,uint128)"),
        )
    }
)
#: The pool events that change what the LP fee rates read (fee growth, price), besides the Initialize.
LP_EVENTS: Final = ("Swap(", "Flash(")
#: The owner's fee switch (setFeeProtocol): it changes the feeProtocol the rates carry, and moves no token.
SET_FEE_PROTOCOL_EVENTS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "uniswap/UniswapV3Pool": "SetFeeProtocol(uint8,uint8,uint8,uint8)",
        "pancakeswap/PancakeV3Pool": "SetFeeProtocol(uint32,uint32,uint32,uint32)",
    }
)
INITIALIZE_EVENT: Final = "Initialize(uint160,int24)"
INITIALIZE: Final = "0x" + event_topic(INITIALIZE_EVENT).hex()
TRANSFER_EVENT: Final = "Transfer(address,address,uint256)"
TRANSFER: Final = "0x" + event_topic(TRANSFER_EVENT).hex()


@dataclass(frozen=True, slots=True)
class V3Pool:
    address: str
    token0: str
    token1: str
    fee: int
    tick_spacing: int
    block: int  # where the pool was created


#: The kind of the pools found at run time (the factory's creation events).
POOL_KIND: Final = "pool (each, from PoolCreated)"


def parse_pool_created(log: Mapping[str, Any]) -> V3Pool:
    """`PoolCreated(address indexed token0, address indexed token1, uint24 indexed fee, int24 tickSpacing,
    address pool)` from a raw log."""
    topics = log["topics"]
    return V3Pool(
        address=word_address(log["data"], 1),
        token0=topic_address(topics[1]),
        token1=topic_address(topics[2]),
        fee=int(log_hex(topics[3]), 16),
        tick_spacing=int.from_bytes(bytes.fromhex(log_hex(log["data"])[2:66]), "big", signed=True),
        block=log_int(log["blockNumber"]),
    )


def _both(pool: V3Pool) -> list[Key]:
    return [(pool.address, pool.token0), (pool.address, pool.token1)]


def fee_percent(fee: int) -> str:
    """A fee tier in pips as people write it: 500 -> "0.05%"."""
    return f"{Decimal(fee) / 10_000}%"


class V3Adapter(TrackedAdapter):
    def __init__(self, deployment: Deployment, spec: V3Spec, *, lp_fee_window: int = LP_FEE_WINDOW) -> None:
        super().__init__(deployment)
        self.info = spec.info
        self.spec = spec
        self.lp_model = v3_lp_fees(spec.slot0)
        self.factory = deployment.contract(spec.factory)
        # The factory's deployment block is known on mainnet; a devnet (same chain id) starts from genesis.
        start = spec.start_block(deployment.chain_id) if deployment.network == "mainnet" else 0
        self.created = LogCursor(self.factory, (POOL_CREATED,), parse_pool_created, start_block=start)
        self.pool_events = POOL_EVENTS[spec.pool_interface]
        self._pool_topics = frozenset("0x" + event_topic(e).hex() for e in self.pool_events)
        # Fee growth moves with a Swap or a Flash, the price with a Swap or the Initialize: the LP state follows
        # the holdings' own logs, so the rates cost the pools a block touched, not every pool.
        self.set_fee_protocol_event = SET_FEE_PROTOCOL_EVENTS[spec.pool_interface]
        self._set_fee_protocol = "0x" + event_topic(self.set_fee_protocol_event).hex()
        lp_events = frozenset({"0x" + event_topic(e).hex() for e in self.pool_events if e.startswith(LP_EVENTS)})
        followed = lp_events | {INITIALIZE, self._set_fee_protocol}
        self.lp_fees = LpFeeTracker(spec.info.slug, self.lp_model, lp_fee_window, PoolLogs(followed, self._logs_since))
        self.lp_fee_unavailable: dict[str, str] = {}  # of the latest `yields`: pool -> why it has no rate
        self._tracked: dict[str, V3Pool] = {}  # lowercase address -> pool, the pools the tracked state covers
        self.balances = PoolBalances(deployment)  # the tracked balances' reads: plain, or raw x index

    @property
    def pools(self) -> list[V3Pool]:
        """Every pool found so far, in creation order."""
        return self.created.logs

    def found_contracts(self, block: int) -> dict[str, tuple[str, ...]] | None:
        """The pools created by ``block``, once the factory's creation events were scanned that far."""
        if self.created.scanned_to < block:
            return None
        return {POOL_KIND: tuple(p.address for p in self.created.upto(block))}

    def surface(self) -> tuple[ContractUse, ...]:
        return (
            ContractUse(
                f"{self.info.name} factory",
                self.spec.factory_interface,
                events=(POOL_CREATED_EVENT,),
                address=self.factory,
            ),
            ContractUse(
                POOL_KIND,
                self.spec.pool_interface,
                calls=(*V3_FEE_GROWTH_READS, self.spec.slot0),
                events=(*self.pool_events, INITIALIZE_EVENT, self.set_fee_protocol_event),
            ),
            ContractUse(
                "pool token (each pool's token0 and token1)",
                "common/ERC20",
                calls=(BALANCE_OF,),
                events=(TRANSFER_EVENT,),
            ),
            block_hash_check(),
            *detection_surface(),  # pool tokens found to be stETH or aTokens are followed as raw x index
            *governance_surface(self.deployment, self.info.slug),
        )

    def event_streams(self) -> Sequence[EventStream]:
        # Uniswap's governor (its Timelock owns the factory) is kept with Uniswap V3's adapter.
        return streams_of(self.deployment, self.info.slug)

    async def discover(self, reader: Reader) -> list[V3Pool]:
        """Pools created up to the reader's block, scanning only blocks not scanned before."""
        await self.created.scan(reader)
        return self.created.upto(reader.block.number)

    def event_topics(self) -> Sequence[str]:
        # Initialize and SetFeeProtocol move no token; they set the price and the protocol's share the LP fee rates
        # read (`lp_fees`).
        topics = (*sorted(self._pool_topics), INITIALIZE, self._set_fee_protocol, TRANSFER, *self.balances.topics())
        return tuple(dict.fromkeys(topics))

    async def read_all(self, reader: Reader) -> dict[Key, Reading]:
        pools = await self.discover(reader)
        return await refresh_balances(reader, [(p.address, t) for p in pools for t in (p.token0, p.token1)])

    def start_tracking(self, block: int) -> None:
        self._tracked = {p.address.lower(): p for p in self.created.upto(block)}

    async def track_from(self, reader: Reader) -> None:
        await self.balances.start(reader, [key for pool in self._tracked.values() for key in _both(pool)])

    def corrected(self, keys: Sequence[Key]) -> None:
        self.balances.corrected(keys)

    async def changes(self, reader: Reader, logs: Sequence[Mapping[str, Any]], since: int) -> dict[Key, Reading]:
        touched: dict[Key, None] = {}  # ordered, for reproducible batches
        for created in created_between(self.created, since, reader.block.number):
            # Tokens may have been sent to the pool's address before it existed: read both.
            self._tracked[created.address.lower()] = created
            touched.update(dict.fromkeys(_both(created)))
        for entry in logs:
            touched.update(dict.fromkeys(self._touched_by(entry)))
        return await self.balances.changes(reader, touched, logs)

    def _touched_by(self, entry: Mapping[str, Any]) -> list[Key]:
        """The tracked (pool, token) balances one log may have changed."""
        topics = entry["topics"]
        topic0 = log_hex(topics[0])
        if topic0 in self._pool_topics:
            pool = self._tracked.get(log_hex(entry["address"]))
            return [] if pool is None else _both(pool)
        if topic0 != TRANSFER or len(topics) != 3:  # ERC-721 transfers index a third argument
            return []
        token = log_hex(entry["address"])
        keys = []
        for side in topics[1:]:
            pool = self._tracked.get(topic_holder(side))
            if pool is not None:
                keys += [(pool.address, t) for t in (pool.token0, pool.token1) if t.lower() == token]
        return keys

    async def yields(self, reader: Reader) -> list[Yield]:
        """LP fee APR of every pool (`protocols.lp_fees`); a pool without one is in `lp_fee_unavailable`."""
        pools = await self.discover(reader)
        rates = await self.lp_fees.rates(
            reader,
            [
                LpPool(
                    p.address,
                    p.address,
                    pool_symbol(self.deployment, (p.token0, p.token1), fee_percent(p.fee)),
                    p.block,
                )
                for p in pools
            ],
        )
        self.lp_fee_unavailable = rates.unavailable
        return rates.yields

    def yield_gaps(self, block: BlockRef) -> tuple[YieldGap, ...]:
        return self.lp_fees.gaps_at(block)

    def _symbol(self, pool: V3Pool) -> str:
        return pool_symbol(self.deployment, (pool.token0, pool.token1), fee_percent(pool.fee))
