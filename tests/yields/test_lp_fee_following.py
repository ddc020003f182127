"""LP fee rates followed from the logs equal the rates read in full, block after block, while S moves.

A V2 and a V3 adapter follow their pools (`lp_window.PoolLogs`): at each block they re-read only the pools the
logs since their last block touched, and when the window's start S moves, only the pools touched between the
old and the new S are read at the new S. Beside them, the same adapters with following turned off read every
pool at every block (the method the followed one replaces). With a short window, swaps in some pools at every
step, and S moving at every step once the window is full, both give the same rows and the same missing rates at
every block; and the calls the followed ones make are the touched pools', not every pool's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher, Reader
from defiscope.deployments import Deployment
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.tx import DEADLINE, MAX_UINT256
from defiscope.devnet.world import DevnetChain, DevnetPool
from defiscope.protocols.lp_fees import V2_LP_READS, V3_FEE_GROWTH_READS
from defiscope.protocols.uniswap.v2 import UNISWAP_V2, V2Adapter
from defiscope.protocols.uniswap.v3 import V3Adapter
from defiscope.protocols.uniswap.v3_spec import UNISWAP_V3
from tests.conftest import mine_later
from tests.routing.trades import APPROVE, V2_SWAP, Trader

WINDOW = 60
STEP = 20  # seconds between steps: S moves at every step once the window is full
STEPS = 7
LP_READS = {signature.split("(")[0] for signature in (*V2_LP_READS, *V3_FEE_GROWTH_READS, "slot0()")}


def rows(adapter: V2Adapter | V3Adapter, rates: Sequence[Any]) -> tuple[list[tuple[Any, ...]], dict[str, str]]:
    return sorted((y.market, y.apr, y.apy, y.method) for y in rates), dict(adapter.lp_fee_unavailable)


def lp_targets(reader: Reader, *, at_end: bool) -> set[str]:
    """Pools whose LP state the reader read at its own block (`at_end`) or at an older one (S)."""
    return {r.call.target for r in reader.records if r.call.function.name in LP_READS and (r.block is None) == at_end}


def swap(trader: Trader, chain: DevnetChain, pool: DevnetPool, zero_for_one: bool) -> None:
    token_in, token_out = (pool.token0, pool.token1) if zero_for_one else (pool.token1, pool.token0)
    amount = trader.balance(token_in, pool.address) // 2_000
    if pool.dex == "uniswap-v2":
        router = chain.contracts["UniswapV2Router02"]
        trader.send(router, V2_SWAP, amount, 0, [token_in, token_out], trader.me, DEADLINE)
    else:
        trader.v3_swap(pool.address, zero_for_one, amount)


def adapters(deployment: Deployment) -> list[V2Adapter | V3Adapter]:
    return [
        V2Adapter(deployment, UNISWAP_V2, lp_fee_window=WINDOW),
        V3Adapter(deployment, UNISWAP_V3, lp_fee_window=WINDOW),
    ]


async def test_followed_rates_equal_rates_read_in_full_at_every_block(eth_chain: DevnetChain) -> None:
    trader = Trader.funded(eth_chain)
    deployment = devnet_deployment(eth_chain)
    pairs, pools = eth_chain.pools_of("uniswap-v2")[:3], eth_chain.pools_of("uniswap-v3")[:2]
    router = eth_chain.contracts["UniswapV2Router02"]
    for pair in pairs:
        for token in (pair.token0, pair.token1):
            trader.send(token, APPROVE, router, MAX_UINT256)
    # A window's worth of chain time before the first step: every window of the test starts at or after this block,
    # so the pools it reads at S are the test's own swaps', not those of whatever ran just before it (a fixture's
    # or an earlier test's trades within 60 s would count as touches between the old and the new S).
    mine_later(eth_chain.rpc_url, WINDOW + STEP)
    followed = adapters(deployment)
    full = adapters(deployment)
    for adapter in full:
        adapter.lp_fees.follow = None  # every pool read at every block, at B and (when it moves) at S
    every = {p.address for p in (*eth_chain.pools_of("uniswap-v2"), *eth_chain.pools_of("uniswap-v3"))}

    swapped: set[str] = set()
    moves = 0
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as client:
        for step in range(STEPS):
            touched = (pairs[step % len(pairs)], pools[step % len(pools)])
            trader.next_block_at(STEP)
            for pool in touched:
                swap(trader, eth_chain, pool, zero_for_one=step % 2 == 0)
            batcher = Batcher(await client.snapshot())
            readers = [batcher.reader(f"{a.info.slug}:yields") for a in followed]
            starts_before = [a.lp_fees._start for a in followed]
            results = await asyncio.gather(
                *(a.positions(batcher.reader(a.info.slug)) for a in followed),  # as `Adapter.read` does
                *(a.yields(r) for a, r in zip(followed, readers, strict=True)),
                *(a.yields(batcher.reader(f"full:{a.info.slug}")) for a in full),
            )
            got, expected = results[2:4], results[4:]
            for adapter, base, mine, theirs in zip(followed, full, got, expected, strict=True):
                assert rows(adapter, mine) == rows(base, theirs), (step, adapter.info.slug)
            assert any(y.apr > 0 for y in got[0])
            assert any(y.apr > 0 for y in got[1])

            swapped |= {p.address for p in touched}  # the first block's swaps too: S moves past them later
            if step == 0:  # the first block reads every pool, at B and at S
                assert set().union(*(lp_targets(r, at_end=True) for r in readers)) == every
                continue
            # At B: the pools this block's logs touched, and no other.
            assert set().union(*(lp_targets(r, at_end=True) for r in readers)) == {p.address for p in touched}
            # At S (when it moved): only pools some swap touched since, never the untouched ones.
            at_start = set().union(*(lp_targets(r, at_end=False) for r in readers))
            assert at_start <= swapped
            moves += any(a.lp_fees._start != before for a, before in zip(followed, starts_before, strict=True))
    assert moves >= 2  # S moved while following, so the kept starts were exercised
