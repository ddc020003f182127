"""The pool tracker on the devnet: real trades, mints, burns, exchanges, deposits, withdrawals and A ramps,
then ``advance``; the tracked pools must equal a fresh `load_pools` at the same block, field by field, with
no pool re-read (every event applied exactly). A reorg reloads everything; a state that does not match the
events is re-read, never kept."""

from __future__ import annotations

from dataclasses import replace

from defiscope.chain.client import ChainClient
from defiscope.chain.multicall import Call
from defiscope.chain.reader import Batcher
from defiscope.devnet.anvil import rpc
from defiscope.devnet.curve import CURVE_AGENT, POOL_PROXY, vote_pool_proxy_admins
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.uniswap.math.pool_state import V3PoolState
from defiscope.protocols.uniswap.math.swap import swap
from defiscope.routing.load import PoolRef, load_pools
from defiscope.routing.pools import CurvePool, Pool, V2Pool, V3Pool
from defiscope.routing.tracker import AdvanceReport, PoolTracker
from tests.routing.trades import Trader


def all_refs(chain: DevnetChain) -> list[PoolRef]:
    return [PoolRef(p.dex, p.address, p.token0, p.token1) for p in chain.pools]


async def fresh(client: ChainClient, tracker: PoolTracker) -> list[Pool]:
    snapshot = await client.snapshot(tracker.block.number)
    assert snapshot.block.hash == tracker.block.hash
    return await load_pools(Batcher(snapshot).reader("test"), list(tracker.refs.values()))


async def assert_tracked_equals_chain(client: ChainClient, tracker: PoolTracker) -> None:
    expected = await fresh(client, tracker)
    assert [p.address for p in tracker.pools] == [p.address for p in expected]
    for got, want in zip(tracker.pools, expected, strict=True):
        if isinstance(want, V3Pool):
            assert isinstance(got, V3Pool)
            for name in V3PoolState.__dataclass_fields__:  # field by field, for a readable failure
                assert getattr(got.state, name) == getattr(want.state, name), (want.address, name)
        assert got == want, want.address
    # The Curve books' LP supply is the pool's totalSupply (the routing pool does not carry it).
    for address, book in tracker.books.items():
        assert book is not None
        (supply,) = (await client.call(Call.of(address, "totalSupply()(uint256)"), tracker.block.number)).unwrap()
        assert book.supply == supply


def pool_of(tracker: PoolTracker, dex: str, index: int = 0) -> Pool:
    return [p for p in tracker.pools if p.dex == dex][index]


def fresh_ticks(state: V3PoolState, offsets: list[int]) -> list[int]:
    """Ticks at these spacing offsets from the price that no position uses yet."""
    base = state.tick // state.tick_spacing
    ticks = [(base + k) * state.tick_spacing for k in offsets]
    assert not set(ticks) & set(state.liquidity_net)
    return ticks


def v3_activity(trader: Trader, pool: V3Pool) -> None:
    """Mints creating new ticks (two positions sharing a lower tick), a swap crossing them, a swap back, a
    burn of a whole position (its upper tick loses its last liquidity) and a partial burn."""
    state = pool.state
    low, mid, high, far = fresh_ticks(state, [-3, 2, 4, 6])
    size = max(state.liquidity // 10, 10**6)
    trader.v3_mint(pool.address, low, high, size)
    trader.v3_mint(pool.address, low, far, size * 2)
    trader.v3_mint(pool.address, mid, far, size)
    # Sell token1 until the price passes `far`; check with the ported math that ticks are crossed.
    amount = trader.balance(pool.token1, pool.address) // 5
    assert swap(state, zero_for_one=False, amount_specified=amount).tick > far
    trader.v3_swap(pool.address, False, amount)
    trader.v3_swap(pool.address, True, amount // 2)
    trader.v3_burn(pool.address, low, high, size)  # `high` had only this position: cleared
    trader.v3_burn(pool.address, low, far, size)  # half of it: both ticks stay
    trader.v3_burn(pool.address, low, far, 0)  # a poke (fee collection) changes nothing


async def test_tracker_follows_every_pool_kind_on_chain_1(eth_chain: DevnetChain, client: ChainClient) -> None:
    trader = Trader.funded(eth_chain)
    tracker = await PoolTracker.start(client, all_refs(eth_chain))
    contracts, tokens = eth_chain.contracts, eth_chain.tokens

    pair = pool_of(tracker, "uniswap-v2")
    assert isinstance(pair, V2Pool)
    trader.v2_swap(contracts["UniswapV2Router02"], tokens["USDC"], tokens["WETH"], 50_000 * 10**6)
    trader.v2_mint(pair.address, pair.token0, pair.token1, pair.reserve0 // 100, pair.reserve1 // 100)
    trader.v2_burn(pair.address, 20)
    v3 = pool_of(tracker, "uniswap-v3")
    assert isinstance(v3, V3Pool)
    v3_activity(trader, v3)

    first = await tracker.advance(client)
    assert (first.reloaded, first.reorg) == ((), False)
    assert first.logs >= 3 + 3 + 2 + 3  # Syncs, Mints, Swaps, Burns at least
    await assert_tracked_equals_chain(client, tracker)

    # Curve: exchange, imbalanced deposit, withdrawals, then an A ramp with trades while A moves.
    pool = pool_of(tracker, "curve")
    assert isinstance(pool, CurvePool)
    # The 3pool's owner is the PoolProxy: a passed Ownership vote makes account 0 its parameter admin.
    proxy, agent = contracts[POOL_PROXY], contracts[CURVE_AGENT]
    vote_pool_proxy_admins(trader.sender, contracts, agent, trader.me, agent)
    n, book = len(pool.coins), tracker.books[pool.address]
    assert book is not None
    assert book.supply is not None
    trader.curve(pool.address, n, "exchange", 0, 1, 100_000 * 10**18, 0)
    trader.curve(pool.address, n, "add", [10**6 * 10**18] + [0] * (n - 2) + [500_000 * 10**6], 0)
    trader.curve(pool.address, n, "remove", book.supply // 10, [0] * n)
    trader.curve(pool.address, n, "remove_one", book.supply // 100, 1, 0)
    trader.curve(pool.address, n, "exchange", n - 1, 0, 250_000 * 10**6, 0)
    start = trader.next_block_at(12)
    trader.curve_admin(proxy, pool.address, "ramp", 2 * book.ramp.future_A // 100, start + 2 * 86_400)
    trader.next_block_at(120)
    trader.curve(pool.address, n, "exchange", 1, 2, 300_000 * 10**6, 0)

    mid_ramp = await tracker.advance(client)
    assert (mid_ramp.reloaded, mid_ramp.reorg) == ((), False)
    ramp = tracker.books[pool.address]
    assert ramp is not None
    assert ramp.ramp.initial_time < tracker.block.timestamp < ramp.ramp.future_time
    await assert_tracked_equals_chain(client, tracker)

    trader.next_block_at(60)
    trader.curve(pool.address, n, "exchange", 2, 0, 100_000 * 10**6, 0)
    trader.curve_admin(proxy, pool.address, "stop_ramp")
    trader.curve(pool.address, n, "remove_one", book.supply // 50, 0, 0)
    last = await tracker.advance(client)
    assert (last.reloaded, last.reorg, last.logs > 0) == ((), False, True)
    await assert_tracked_equals_chain(client, tracker)


async def test_pancakeswap_v3_swap_event_with_protocol_fees(bnb_chain: DevnetChain) -> None:
    trader = Trader.funded(bnb_chain)
    async with ChainClient.connect(56, [bnb_chain.rpc_url]) as client:
        tracker = await PoolTracker.start(client, all_refs(bnb_chain))
        pool = pool_of(tracker, "pancakeswap-v3")
        assert isinstance(pool, V3Pool)
        v3_activity(trader, pool)
        pair = pool_of(tracker, "pancakeswap-v2")
        assert isinstance(pair, V2Pool)
        trader.v2_mint(pair.address, pair.token0, pair.token1, pair.reserve0 // 50, pair.reserve1 // 50)
        report = await tracker.advance(client)
        assert (report.reloaded, report.reorg) == ((), False)
        await assert_tracked_equals_chain(client, tracker)


async def test_reorg_reloads_at_the_new_head(eth_chain: DevnetChain, client: ChainClient) -> None:
    trader = Trader.funded(eth_chain)
    tracker = await PoolTracker.start(client, all_refs(eth_chain))
    fork_point = rpc(eth_chain.rpc_url, "evm_snapshot")
    usdc, weth, router = eth_chain.tokens["USDC"], eth_chain.tokens["WETH"], eth_chain.contracts["UniswapV2Router02"]
    for _ in range(3):
        trader.v2_swap(router, usdc, weth, 10_000 * 10**6)
    await tracker.advance(client)
    orphaned = tracker.block
    assert rpc(eth_chain.rpc_url, "evm_revert", [fork_point]) is True
    trader.v2_swap(router, weth, usdc, 5 * 10**18)  # another history, shorter than the orphaned one
    report = await tracker.advance(client)
    assert report.reorg
    assert report.to_block < orphaned.number
    assert set(report.reloaded) == {p.address for p in tracker.pools}
    await assert_tracked_equals_chain(client, tracker)
    # And the tracker follows the new branch by events again.
    trader.v2_swap(router, usdc, weth, 1_000 * 10**6)
    after = await tracker.advance(client)
    assert (after.reorg, after.reloaded, after.logs) == (False, (), 1)
    await assert_tracked_equals_chain(client, tracker)


async def test_state_that_disagrees_with_the_events_is_reread(eth_chain: DevnetChain, client: ChainClient) -> None:
    trader = Trader.funded(eth_chain)
    tracker = await PoolTracker.start(client, all_refs(eth_chain))
    curve = pool_of(tracker, "curve")
    v3 = pool_of(tracker, "uniswap-v3")
    assert isinstance(curve, CurvePool)
    assert isinstance(v3, V3Pool)
    # Corrupt what the tracker holds: 1M DAI more in the Curve book; a V3 pool without liquidityGross.
    book = tracker.books[curve.address]
    assert book is not None
    tracker.books[curve.address] = replace(book, balances=(book.balances[0] + 10**24, *book.balances[1:]))
    tracker._pools[v3.address] = replace(v3, state=replace(v3.state, liquidity_gross={}))
    n = len(curve.coins)
    trader.curve(curve.address, n, "exchange", 0, 1, 2_000_000 * 10**18, 0)
    lower, upper = [t for t in sorted(v3.state.liquidity_net)][:2]
    trader.v3_mint(v3.address, lower, upper, 10**9)  # existing ticks: their gross is needed
    report: AdvanceReport = await tracker.advance(client)
    assert set(report.reloaded) == {curve.address, v3.address}
    await assert_tracked_equals_chain(client, tracker)
