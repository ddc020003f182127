"""One DEX state per chain for the TVL engine and the quotes (`DexState`), on the devnet with real swaps.

With V2 and V3 swaps in every block and a quote's pools asked at each indexed block, a block costs what the
engine alone costs (its header with its logs, then one multicall) and the quotes nothing; a touched V3 pool's
balances are read once in that multicall and its swap state not at all (its events carry it); the routed
pools equal a fresh read and the TVL holdings a full re-read. A quote ahead of the indexer advances the same
state; a reorg reloads it once for both."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import pytest

from defiscope.chain.block import BlockRef
from defiscope.chain.client import ChainClient
from defiscope.chain.feed import LogFeed
from defiscope.chain.multicall import Call, CallResult
from defiscope.chain.reader import Batcher, Reader
from defiscope.deployments import Deployment
from defiscope.devnet.anvil import rpc
from defiscope.devnet.world import DevnetChain
from defiscope.prices.aggregator import PriceAggregator
from defiscope.prices.base import TokenRef
from defiscope.prices.dex import DexSource
from defiscope.protocols.registry import adapters_for
from defiscope.protocols.uniswap.v2 import V2Adapter
from defiscope.routing.dex_state import DexState
from defiscope.routing.pools import V2Pool, V3Pool
from defiscope.tvl.engine import ChainTvl, TvlEngine
from tests.routing.test_tracker import all_refs, assert_tracked_equals_chain
from tests.routing.trades import Trader

#: What DEX prices still read of a V3 pool with the shared state: what no event carries (the TWAP needs `observe`).
EVENTLESS_V3_READS = frozenset({"slot0", "liquidity", "observe"})
#: What routing would read of a V3 pool to reload it (its events make these reads unnecessary).
V3_RELOAD_READS = frozenset({"slot0", "liquidity", "tickBitmap", "ticks", "fee", "tickSpacing"})


@dataclass(slots=True)
class Setup:
    engine: TvlEngine
    dex: DexState
    quoter: ChainClient  # /v1/quote's own client
    calls: list[tuple[str, Call]] = field(default_factory=list)  # (reader's scope, call) of every read

    async def snapshot(self, at: int | str = "latest") -> tuple[ChainTvl, int, list[tuple[str, Call]]]:
        """The engine's snapshot, its HTTP requests and its calls with their readers' scopes."""
        before, first = self.engine.client.rpc.total_requests(), len(self.calls)
        result = await self.engine.snapshot(at)
        assert result.failures == ()
        return result, self.engine.client.rpc.total_requests() - before, self.calls[first:]

    async def quote_pools(self, block: BlockRef) -> tuple[list[V2Pool | V3Pool], int]:
        """The routed pools a quote at ``block`` reads, and the HTTP requests that cost the quote's client."""
        before = self.quoter.rpc.total_requests()
        pools, at = await self.dex.pools_at(self.quoter, block)
        assert at == block
        return [p for p in pools if isinstance(p, V2Pool | V3Pool)], self.quoter.rpc.total_requests() - before


@pytest.fixture
async def setup(
    eth_chain: DevnetChain, deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Setup]:
    feed = LogFeed(1)
    adapters = adapters_for(deployment)
    dex = DexState(1, adapters, all_refs(eth_chain), feed=feed)
    async with (
        ChainClient.connect(1, [eth_chain.rpc_url]) as client,
        ChainClient.connect(1, [eth_chain.rpc_url]) as quoter,
    ):
        engine = TvlEngine(client, deployment, adapters, PriceAggregator(deployment), feed=feed, dex=dex)
        made = Setup(engine, dex, quoter)
        call_many = Reader.call_many

        async def spy(reader: Reader, calls: Sequence[Call]) -> list[CallResult]:
            made.calls.extend((reader.scope, call) for call in calls)
            return await call_many(reader, calls)

        monkeypatch.setattr(Reader, "call_many", spy)
        yield made


def v2_pair(dex: DexState, pools: list[V2Pool | V3Pool], chain: DevnetChain) -> V2Pool:
    usdc, weth = chain.tokens["USDC"], chain.tokens["WETH"]
    (pair,) = [
        p for p in pools if isinstance(p, V2Pool) and p.dex == "uniswap-v2" and {p.token0, p.token1} == {usdc, weth}
    ]
    return pair


def swap_both(trader: Trader, chain: DevnetChain, v3: V3Pool, size: int) -> None:
    """A V2 swap through the router and a V3 swap on the pool (each mined in its own block)."""
    trader.v2_swap(chain.contracts["UniswapV2Router02"], chain.tokens["USDC"], chain.tokens["WETH"], size * 10**6)
    trader.v3_swap(v3.address, True, trader.balance(v3.token0, v3.address) // 1000)


async def test_a_block_of_swaps_and_a_quote_cost_the_engine_s_three_requests(
    setup: Setup, eth_chain: DevnetChain, client: ChainClient
) -> None:
    trader = Trader.funded(eth_chain)
    first, _, _ = await setup.snapshot()
    pools, _ = await setup.quote_pools(first.block)
    v3 = next(p for p in pools if isinstance(p, V3Pool) and p.dex == "uniswap-v3")
    uniswap_v2 = setup.dex.dexes["uniswap-v2"]
    assert isinstance(uniswap_v2, V2Adapter)
    for i, size in enumerate((5_000, 7_000, 3_000)):
        swap_both(trader, eth_chain, v3, size)
        result, requests, calls = await setup.snapshot((await setup.engine.client.block()).number)
        # The header with one batch of logs, one multicall: the DEX state's reads inside it. The first block
        # after the full load asks the followed logs for the first time: alone, after the header.
        assert requests == (3 if i == 0 else 2)
        pools, quote_requests = await setup.quote_pools(result.block)
        assert quote_requests == 0  # the indexed block: answered from the shared state
        # The touched V3 pool: each balance read once for the DEX state (prices and LP fee rates read their
        # own), its swap state never (the Swap event carries it); routing's only read is its reorg check.
        dex_calls = [c for scope, c in calls if scope in {"routing", *setup.dex.dexes}]
        balances = Counter((c.target, c.args) for c in dex_calls if c.function.name == "balanceOf")
        assert [balances[(token, (v3.address,))] for token in (v3.token0, v3.token1)] == [1, 1]
        assert not {c.function.name for c in dex_calls if c.target == v3.address} & V3_RELOAD_READS
        assert {c.function.name for scope, c in calls if scope == "routing"} == {"getBlockHash"}
        # The routed pair's reserves are the TVL holdings' figures, not a copy.
        pair = v2_pair(setup.dex, pools, eth_chain)
        held = uniswap_v2.state
        assert held is not None
        assert held.block == result.block
        assert pair.reserve0 is held.amounts[(pair.address, pair.token0)]
        assert pair.reserve1 is held.amounts[(pair.address, pair.token1)]
    routes = setup.dex.routes
    assert routes is not None
    assert routes.block == result.block
    await assert_tracked_equals_chain(client, routes)  # V3 (ticks, liquidity) and Curve books: a fresh read
    fresh = (await setup.dex.pools_at(setup.quoter, result.block))[0]
    assert [p for p in fresh if isinstance(p, V2Pool)] == [p for p in pools if isinstance(p, V2Pool)]
    reconciled = await setup.engine.reconcile(result.block.number)  # every holding re-read in full
    assert (reconciled.mismatches, reconciled.failures) == ((), ())


async def test_a_quote_ahead_of_the_indexer_advances_the_same_state(setup: Setup, eth_chain: DevnetChain) -> None:
    trader = Trader.funded(eth_chain)
    first, _, _ = await setup.snapshot()
    pools, _ = await setup.quote_pools(first.block)
    v3 = next(p for p in pools if isinstance(p, V3Pool))
    holdings = {slug: dex.state for slug, dex in setup.dex.dexes.items()}
    swap_both(trader, eth_chain, v3, 4_000)
    head = await setup.quoter.block()
    ahead, quote_requests = await setup.quote_pools(head)
    assert quote_requests == 2  # the logs and one multicall: the block itself was given
    assert setup.dex.block == head
    for slug, dex in setup.dex.dexes.items():  # the TVL holdings moved with it: the same objects, at the head
        assert dex.state is holdings[slug]
        assert dex.state is not None
        assert dex.state.block == head
    result, _, calls = await setup.snapshot(head.number)
    dex_scopes = {"routing", *setup.dex.dexes}
    assert [c for scope, c in calls if scope in dex_scopes] == []  # the DEX state had nothing left to read
    pair = v2_pair(setup.dex, ahead, eth_chain)
    by_token = {t.token: t.amount for s in result.snapshots if s.slug == "uniswap-v2" for t in s.tokens}
    assert by_token[pair.token0] >= pair.reserve0 > 0
    reconciled = await setup.engine.reconcile(head.number)
    assert (reconciled.mismatches, reconciled.failures) == ((), ())


async def test_a_reorg_reloads_the_shared_state_once_for_both(
    setup: Setup, eth_chain: DevnetChain, client: ChainClient
) -> None:
    trader = Trader.funded(eth_chain)
    first, _, _ = await setup.snapshot()
    pools, _ = await setup.quote_pools(first.block)
    v3 = next(p for p in pools if isinstance(p, V3Pool))
    fork_point = rpc(eth_chain.rpc_url, "evm_snapshot")
    swap_both(trader, eth_chain, v3, 9_000)
    orphaned, _, _ = await setup.snapshot()
    await setup.quote_pools(orphaned.block)
    assert rpc(eth_chain.rpc_url, "evm_revert", [fork_point]) is True
    trader.v2_swap(eth_chain.contracts["UniswapV2Router02"], eth_chain.tokens["WETH"], eth_chain.tokens["USDC"], 10**18)
    while (await client.block()).number <= orphaned.block.number:  # another branch, longer than ours
        rpc(eth_chain.rpc_url, "evm_mine")
    assert setup.dex.reloads == 0
    result, _, _ = await setup.snapshot()
    assert setup.dex.reloads == 1
    _, quote_requests = await setup.quote_pools(result.block)
    assert (quote_requests, setup.dex.reloads) == (0, 1)  # the quote reads the reloaded state
    routes = setup.dex.routes
    assert routes is not None
    await assert_tracked_equals_chain(client, routes)
    reconciled = await setup.engine.reconcile(result.block.number)
    assert (reconciled.mismatches, reconciled.failures) == ((), ())


async def test_dex_prices_come_from_the_shared_state_and_equal_a_standalone_read(
    setup: Setup, eth_chain: DevnetChain, deployment: Deployment, client: ChainClient
) -> None:
    """At an indexed block the DEX price source finds its pools and reads V2 reserves and V3 core-side balances
    in the followed DEXes' holdings (no factory look-up, no `getReserves`, no `balanceOf`); only what no event
    carries is read (a V3 pool's `slot0`, `liquidity`, 30-minute `observe`). Its book equals a standalone read's."""
    trader = Trader.funded(eth_chain)
    await setup.snapshot()
    router = eth_chain.contracts["UniswapV2Router02"]
    trader.v2_swap(router, eth_chain.tokens["USDC"], eth_chain.tokens["WETH"], 9_000 * 10**6)  # a Sync to apply
    result, _, calls = await setup.snapshot()
    assert {c.function.name for scope, c in calls if scope == "prices:dex"} <= EVENTLESS_V3_READS

    tokens = [TokenRef(1, t.address, t.symbol, t.decimals) for t in deployment.tokens.values()]
    pinned = Batcher(await client.snapshot(result.block.number))
    assert pinned.block == result.block
    before, sent = len(setup.calls), client.rpc.total_requests()
    shared = await DexSource(deployment, followed=setup.dex.dexes).observe(pinned.reader("shared"), tokens)
    shared_calls, shared_requests = [c for _, c in setup.calls[before:]], client.rpc.total_requests() - sent
    sent = client.rpc.total_requests()
    alone = await DexSource(deployment).observe(pinned.reader("alone"), tokens)
    alone_calls, alone_requests = (
        [c for _, c in setup.calls[before + len(shared_calls) :]],
        client.rpc.total_requests() - sent,
    )

    assert shared == alone  # every token's pools, in the same order, with the same states
    held = [s for states in shared.states.values() for s in states]
    v2_priced = [s for s in held if s.pool.venue.version == 2 and s.raw_price is not None]
    assert v2_priced, "the devnet's V2 pairs against core assets are priced from the holdings"
    v2_pairs = {s.pool.address for s in held if s.pool.venue.version == 2}
    assert not [c for c in shared_calls if c.target in v2_pairs]  # no pool read of a V2 pair
    assert {c.function.name for c in shared_calls} <= EVENTLESS_V3_READS
    v3_pools = [s for s in held if s.pool.venue.version == 3]
    assert len(shared_calls) == len(EVENTLESS_V3_READS) * len(v3_pools)
    # The standalone read asks every factory and reads every pool in full.
    assert {"getPair", "getPool", "getReserves", "balanceOf"} <= {c.function.name for c in alone_calls}
    assert len(alone_calls) > len(shared_calls) + len(v2_pairs)
    # In HTTP requests: the V3 pools' reads in one multicall, against the factories' round and then the pools'.
    assert (shared_requests, alone_requests) == (1, 2)
