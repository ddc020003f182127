"""Rates an adapter cannot read are reported as `YieldGap`s in `AdapterResult.yields_unavailable`, never as 0:
a pair the devnet's factory created without liquidity is a gap naming the pair, and a failing `yields()` is one
gap for the whole protocol with the error's text, while the holdings stay read."""

from __future__ import annotations

import asyncio

import pytest

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.devnet.artifacts import npm_artifact
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.base import AdapterError, AdapterResult
from defiscope.protocols.uniswap.v2 import UNISWAP_V2, V2Adapter
from defiscope.protocols.yields import EVERY_MARKET, Yield, YieldGap, YieldKind
from tests.conftest import mine_later


async def read_at_head(chain: DevnetChain, adapter: V2Adapter) -> AdapterResult:
    async with ChainClient.connect(chain.chain_id, [chain.rpc_url]) as client:
        return await adapter.read(Batcher(await client.snapshot()).reader(adapter.info.slug))


async def read_at(chain: DevnetChain, adapter: V2Adapter, *blocks: int) -> list[AdapterResult]:
    """The adapter read at several blocks at once, as backfill workers do."""
    async with ChainClient.connect(chain.chain_id, [chain.rpc_url]) as client:
        snapshots = [await client.snapshot(b) for b in blocks]
        return list(await asyncio.gather(*(adapter.read(Batcher(s).reader(adapter.info.slug)) for s in snapshots)))


def create_empty_pair(chain: DevnetChain, first: str, second: str) -> tuple[str, str]:
    """A pair the factory creates with no liquidity (as anyone may on mainnet); its address and symbol."""
    sender = Sender.connect(chain.rpc_url)
    factory = sender.contract(npm_artifact("UniswapV2Factory"), chain.contracts["UniswapV2Factory"])
    a, b = chain.tokens[first], chain.tokens[second]
    assert int(factory.functions.getPair(a, b).call(), 16) == 0  # a pair the world does not have yet
    sender.send(factory.functions.createPair(a, b))
    pair: str = factory.functions.getPair(a, b).call()
    # The pair sorts its tokens by address; the symbol follows that order.
    symbol = "-".join(s for s, _ in sorted(((first, a), (second, b)), key=lambda t: int(t[1], 16)))
    return pair, symbol


def break_pair(chain: DevnetChain, pair: str) -> None:
    """Make every read of `pair` revert from the next block on. Its `sync()` first: the pair's code cannot change on
    mainnet, and a tracker following the pair's logs re-reads it only where they touched it (`lp_window.PoolLogs`;
    a pair whose read then fails is read again at every block), so the break comes with a Sync as a real failure
    would come with the activity that shows it."""
    sender = Sender.connect(chain.rpc_url)
    sender.send(sender.contract(npm_artifact("UniswapV2Pair"), pair).functions.sync())
    sender.rpc("anvil_setCode", [pair, "0x" + sender.w3.eth.get_code(chain.contracts["Reverter"]).hex()])
    sender.rpc("evm_mine", [])


async def test_a_pair_without_liquidity_is_a_gap_not_a_rate(eth_chain: DevnetChain) -> None:
    mine_later(eth_chain.rpc_url)
    pair, symbol = create_empty_pair(eth_chain, "WBTC", "USDC")
    adapter = V2Adapter(devnet_deployment(eth_chain), UNISWAP_V2)
    result = await read_at_head(eth_chain, adapter)
    head = result.block.number
    assert result.yields_unavailable == (
        YieldGap("uniswap-v2", pair, pair, symbol, YieldKind.LP_FEE, f"at block {head}: no liquidity"),
    )
    assert {y.market for y in result.yields} == {p.address for p in eth_chain.pools_of("uniswap-v2")}
    assert adapter.state is not None
    assert {(h, a) for h, _, a in adapter.state.listing() if h == pair} == {(pair, 0)}  # zero reserves still counted


async def test_a_failing_yields_read_is_one_gap_for_the_protocol(
    eth_chain: DevnetChain, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter = V2Adapter(devnet_deployment(eth_chain), UNISWAP_V2)
    reason = "uniswap-v2: totalSupply() failed on chain 1: execution reverted"

    async def failing(reader: object) -> list[Yield]:
        raise AdapterError(reason)

    monkeypatch.setattr(adapter, "yields", failing)
    result = await read_at_head(eth_chain, adapter)
    assert result.yields == ()
    assert result.yields_unavailable == (YieldGap("uniswap-v2", EVERY_MARKET, reason=reason),)
    assert adapter.state is not None
    assert len(adapter.state.listing()) == 2 * len(eth_chain.pools_of("uniswap-v2"))  # holdings stand
    assert result.positions


async def test_gaps_belong_to_the_block_they_were_read_at(eth_chain: DevnetChain) -> None:
    mine_later(eth_chain.rpc_url)
    adapter = V2Adapter(devnet_deployment(eth_chain), UNISWAP_V2)
    before = (await read_at_head(eth_chain, adapter)).block.number
    pair, _ = create_empty_pair(eth_chain, "WBTC", "USDC")
    # Read at once before and after the pair was created: only the later block has its gap.
    earlier, later = await read_at(eth_chain, adapter, before, before + 1)
    assert earlier.yields_unavailable == ()
    assert [g.market for g in later.yields_unavailable] == [pair]
    assert adapter.yield_gaps(earlier.block) == ()
    assert adapter.yield_gaps(later.block) == later.yields_unavailable
