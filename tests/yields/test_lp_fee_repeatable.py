"""The same block read again gives the same LP fee rates, also for a pool whose window spans 0 s.

anvil mines many blocks in one second, so a world deployed in a few seconds can have a pair whose first liquidity
shares its second with the head block B: its window (first liquidity to B) spans 0 s and it has no rate at B. The
tracker once remembered such a pair as idle (its state at both ends equal) before refusing the window, and every
later read answered a true 0 from that memory: one more yield at the second read of the same block than at the
first (`tests/protocols/test_adapter_contract.py` on a freshly deployed world, about one full suite in three).
"""

from __future__ import annotations

import pytest

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.tx import DEADLINE, Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.base import AdapterResult
from defiscope.protocols.uniswap.v2 import PANCAKESWAP_V2, V2Adapter
from tests.yields.test_lp_fee_yields import V2_CASES, approve

READS = 3


def add_pair_in_one_second(chain: DevnetChain, blocks_after: int) -> tuple[str, int, int]:
    """A new PancakeSwap V2 pair given its first liquidity, then `blocks_after` empty blocks, all in one second a
    minute after the head; the pair, its first block and that second."""
    sender = Sender.connect(chain.rpc_url)
    case = V2_CASES[56]
    router = sender.contract(case.router_artifact(), chain.contracts[case.router])
    factory = sender.contract(contract_artifact("PancakeV2Factory"), chain.contracts["PancakeV2Factory"])
    eth, usdt = chain.tokens["ETH"], chain.tokens["USDT"]
    assert int(factory.functions.getPair(eth, usdt).call(), 16) == 0  # a pair the world does not have yet
    for token in (eth, usdt):
        approve(sender, token, router.address)
    second = int(sender.w3.eth.get_block("latest")["timestamp"]) + 60
    sender.rpc("evm_setNextBlockTimestamp", [second])
    added = router.functions.addLiquidity(eth, usdt, 10 * 10**18, 30_000 * 10**18, 0, 0, sender.owner, DEADLINE)
    born = int(sender.send(added)["blockNumber"])
    for _ in range(blocks_after):
        mine_at(sender, second)
    return factory.functions.getPair(eth, usdt).call(), born, second


def mine_at(sender: Sender, timestamp: int) -> int:
    sender.rpc("evm_setNextBlockTimestamp", [timestamp])
    sender.rpc("evm_mine", [])
    return int(sender.w3.eth.block_number)


async def read_again(chain: DevnetChain, adapter: V2Adapter, block: int, times: int) -> list[AdapterResult]:
    """The adapter's reads of one block, one after another, each with a reader of its own."""
    async with ChainClient.connect(chain.chain_id, [chain.rpc_url]) as client:
        snapshot = await client.snapshot(block)
        return [await adapter.read(Batcher(snapshot).reader(adapter.info.slug)) for _ in range(times)]


@pytest.mark.parametrize("blocks_after", [0, 2], ids=["first-liquidity-at-b", "first-liquidity-in-b-s-second"])
async def test_a_pair_whose_window_spans_0_s_has_no_rate_at_any_read_of_the_block(
    bnb_chain: DevnetChain, blocks_after: int
) -> None:
    pair, born, second = add_pair_in_one_second(bnb_chain, blocks_after)
    head = born + blocks_after
    adapter = V2Adapter(devnet_deployment(bnb_chain), PANCAKESWAP_V2)

    first, *again = await read_again(bnb_chain, adapter, head, READS)

    assert [(r.yields, r.yields_unavailable) for r in again] == [(first.yields, first.yields_unavailable)] * len(again)
    world = {p.address for p in bnb_chain.pools_of("pancakeswap-v2")}
    assert {y.market for y in first.yields} == world  # the new pair: missing, not a 0
    (gap,) = first.yields_unavailable
    assert gap.market == pair
    assert gap.reason == (
        f"the window spans 0 s: nothing to annualise (blocks {born}..{head} (0 s): the pool is younger than "
        "86400 s, so since its first block with liquidity)"
    )

    # A block 12 s on, the same adapter measures the pair: no swap since its first liquidity, a true 0.
    later = mine_at(Sender.connect(bnb_chain.rpc_url), second + 12)
    (result,) = await read_again(bnb_chain, adapter, later, 1)
    row = next(y for y in result.yields if y.market == pair)
    assert (row.apr, row.apy, result.yields_unavailable) == (0, 0, ())
    assert f"blocks {born}..{later} (12 s): the pool is younger than 86400 s" in row.method


async def test_a_0_s_window_after_an_idle_one_has_no_rate_as_for_an_adapter_that_read_nothing_before(
    bnb_chain: DevnetChain,
) -> None:
    """Pools kept as idle at an earlier block meet a window of 0 s later (a chain quiet for longer than the window,
    then blocks in one second): the rate at a block does not depend on what the adapter read before."""
    sender = Sender.connect(bnb_chain.rpc_url)
    deployment = devnet_deployment(bnb_chain)
    window = 600
    earlier = int(sender.w3.eth.get_block("latest")["timestamp"]) + 60
    continuing = V2Adapter(deployment, PANCAKESWAP_V2, lp_fee_window=window)
    (idle,) = await read_again(bnb_chain, continuing, mine_at(sender, earlier), 1)
    world = {p.address for p in bnb_chain.pools_of("pancakeswap-v2")}
    assert {(y.market, y.apr) for y in idle.yields} == {(pool, 0) for pool in world}  # no swap: a true 0

    start = mine_at(sender, earlier + 10 * window)  # S of the next block: the first in its window
    end = mine_at(sender, earlier + 10 * window)
    (after_idle,) = await read_again(bnb_chain, continuing, end, 1)
    (fresh,) = await read_again(bnb_chain, V2Adapter(deployment, PANCAKESWAP_V2, lp_fee_window=window), end, 1)

    assert (after_idle.yields, after_idle.yields_unavailable) == (fresh.yields, fresh.yields_unavailable)
    assert after_idle.yields == ()
    assert {(g.market, g.reason.split(" (")[0]) for g in after_idle.yields_unavailable} == {
        (pool, "the window spans 0 s: nothing to annualise") for pool in world
    }
    assert all(f"blocks {start}..{end} (0 s)" in g.reason for g in after_idle.yields_unavailable)
