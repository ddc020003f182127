"""`DexState`: one chain's DEX state, followed once per block, read by the TVL engine and by routing.

It holds the chain's tracked DEX adapters (`protocols.tracked`: Uniswap V2/V3, PancakeSwap V2/V3, whose
`Holdings` are the TVL figures) and, for what routing needs beyond them, one `PoolTracker` (V3 ticks and
liquidity, Curve books, and any routed pair whose DEX is not tracked). A routed V2 pair of a tracked DEX has
no copy of its own: its `V2Pool` is built from that adapter's holdings, so the routing reserves and the TVL
reserves are the same figures, set once from each `Sync`.

    dex = DexState(1, adapters, refs, feed=feed)          # the engine's adapters; non-DEX ones are ignored
    engine.dex = dex                                       # the indexer's snapshot advances it, in its batches
    pools, block = await dex.pools_at(quote_client, block) # a block already reached: memory, no request

Advancing is one step for every part, under one lock, at the pinned block of one `Batcher`: the logs of the
range in the batch of log queries (through the chain's `LogFeed`), the reorg checks and re-reads (a touched
V3 pool's balances, a pool an event could not be applied to) in the batcher's multicall. The TVL engine's
snapshot advances it with the adapters' own readers (provenance stays per protocol); a quote for a block the
state has not reached advances the same state on the quote's client. Routing's part is read at the first
quote (an indexer nobody quotes from never reads V3 tick words) and from then on followed with the rest. It
only moves forward: a snapshot at an older block (backfill) reads in full and leaves it alone. A reorg
reloads it once, for both readers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import structlog

from defiscope.chain.block import BlockRef
from defiscope.chain.client import ChainClient, Snapshot
from defiscope.chain.feed import LogFeed
from defiscope.chain.reader import Batcher, Reader
from defiscope.protocols.base import Adapter
from defiscope.protocols.tracked import TrackedAdapter, prefetch_logs
from defiscope.protocols.uniswap.v2 import V2Adapter
from defiscope.routing.load import V2_FEES, PoolRef
from defiscope.routing.pools import Pool, V2Pool
from defiscope.routing.tracker import Discover, PoolTracker

log = structlog.get_logger(__name__)


class DexState:
    """One chain's DEX state: the tracked DEXes' holdings and the routed pools, at `block`."""

    def __init__(
        self,
        chain_id: int,
        dexes: Sequence[Adapter] = (),
        refs: Sequence[PoolRef] = (),
        *,
        discover: Discover | None = None,
        feed: LogFeed | None = None,
    ) -> None:
        """``dexes``: the chain's adapters (the tracked ones are kept); ``refs``: the pools to route through,
        or, if empty, what ``discover`` finds at the first block; ``feed``: the chain's log feed."""
        self.chain_id = chain_id
        self.dexes: dict[str, TrackedAdapter] = {a.info.slug: a for a in dexes if isinstance(a, TrackedAdapter)}
        self.refs = tuple(refs)
        self.feed = feed
        self.block: BlockRef | None = None
        #: The routed pools the dexes' holdings do not carry (V3 swap state, Curve books, untracked pairs).
        self.routes: PoolTracker | None = None
        self.reloads = 0  # reorgs that reloaded the state (for tests and metrics)
        self._discover = discover
        self._pools: list[Pool] | None = None  # the routed pools at `block`, built once per block
        self._lock = asyncio.Lock()

    def _reserves_of(self, ref: PoolRef) -> V2Adapter | None:
        """The tracked V2 DEX whose holdings are this routed pair's reserves, if any."""
        adapter = self.dexes.get(ref.dex)
        return adapter if isinstance(adapter, V2Adapter) else None

    async def prefetch(self, batcher: Batcher, readers: Mapping[str, Reader]) -> None:
        """Ask for the logs the next `advance` to the batcher's block needs, with the snapshot's others: the
        routes', and those of the dexes the snapshot does not read itself (``readers``: those it does)."""
        routes = self.routes
        await asyncio.gather(
            *(prefetch_logs(a, batcher.reader(slug)) for slug, a in self.dexes.items() if slug not in readers),
            *([routes.prefetch(batcher.reader("routing"))] if routes is not None else []),
        )

    async def advance(self, batcher: Batcher, readers: Mapping[str, Reader] | None = None) -> None:
        """Move every part to the batcher's block, reading in its batches; ``readers``: the adapters' own
        (a snapshot's), so their calls stay in their provenance. A block not newer than ours is a no-op."""
        async with self._lock:
            await self._advance(batcher, readers or {})

    async def pools_at(self, client: ChainClient, block: BlockRef) -> tuple[list[Pool], BlockRef]:
        """The routed pools at ``block``, or at the state's block if it is already past it (it never goes back).

        A block the state has reached costs no request; a newer one advances this same state on ``client``."""
        async with self._lock:
            if self._behind(block):
                batcher = Batcher(Snapshot(client, block), feed=self.feed)
                await self.prefetch(batcher, {})  # as a snapshot does: the logs, then one multicall
                await self._advance(batcher, {}, load_routes=True)
            elif self.routes is None:  # the indexer moved the holdings; routing's part is read at the first quote
                assert self.block is not None
                await self._load_routes(Batcher(Snapshot(client, self.block), feed=self.feed).reader("routing"))
            assert self.block is not None  # set by the first advance
            return self._routed(), self.block

    def _behind(self, block: BlockRef) -> bool:
        ours = self.block
        return ours is None or ours.number < block.number or (ours.number == block.number and ours.hash != block.hash)

    async def _advance(self, batcher: Batcher, readers: Mapping[str, Reader], *, load_routes: bool = False) -> None:
        """Every part to the batcher's block; routing's part is loaded only when asked (by a quote), so an
        indexer nobody quotes from never reads V3 tick words."""
        if not self._behind(batcher.block):
            return
        routing = batcher.reader("routing")
        if self.routes is not None:
            routes = self._follow_routes(routing)
        else:
            routes = self._load_routes(routing) if load_routes else _nothing()
        outcomes = await asyncio.gather(
            *(a.advance(readers.get(slug) or batcher.reader(slug)) for slug, a in self.dexes.items()),
            routes,
            return_exceptions=True,
        )
        failed = next((o for o in outcomes if isinstance(o, BaseException)), None)
        if failed is not None:  # the parts that moved stay moved; the next advance retries the rest
            raise failed
        self.block = batcher.block
        self._pools = None

    async def _load_routes(self, reader: Reader) -> None:
        """Routing's part read at the reader's block: the pools the dexes' holdings do not carry."""
        if not self.refs and self._discover is not None:
            self.refs = tuple(await self._discover(reader.batcher.snapshot.client, reader.block))
        own = [r for r in self.refs if self._reserves_of(r) is None]
        self.routes = await PoolTracker.load(reader, own, feed=self.feed)
        self._pools = None

    async def _follow_routes(self, reader: Reader) -> None:
        assert self.routes is not None
        followed = await self.routes.follow(reader)
        if followed.reorg:
            self.reloads += 1
            log.info("dex_state.reloaded", chain_id=self.chain_id, block=followed.to_block, was=followed.from_block)

    def _routed(self) -> list[Pool]:
        """The routed pools at `block`: tracked pairs from their DEX's holdings, the rest from `routes`."""
        if self._pools is None:
            assert self.routes is not None
            paired = [p for r in self.refs if (p := self._pair(r)) is not None]
            self._pools = [*paired, *self.routes.pools]
        return self._pools

    def _pair(self, ref: PoolRef) -> V2Pool | None:
        """The routed pair ``ref`` with its DEX's tracked reserves; None (logged) when they could not be read."""
        adapter = self._reserves_of(ref)
        if adapter is None:
            return None
        pair, held = adapter.tracked_pair(ref.address), adapter.state
        if pair is None or held is None:
            log.warning("dex_state.pair_not_tracked", chain_id=self.chain_id, dex=ref.dex, pair=ref.address)
            return None
        reserve0, reserve1 = held.get((pair.address, pair.token0)), held.get((pair.address, pair.token1))
        if not isinstance(reserve0, int) or not isinstance(reserve1, int):
            why = reserve0 if isinstance(reserve0, str) else reserve1
            log.warning("dex_state.pair_unreadable", chain_id=self.chain_id, dex=ref.dex, pair=ref.address, why=why)
            return None
        return V2Pool(ref.dex, ref.address, pair.token0, pair.token1, reserve0, reserve1, V2_FEES[ref.dex])


async def _nothing() -> None:
    """Routing's part before the first quote: nothing to follow yet."""
