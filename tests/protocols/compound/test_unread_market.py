"""One Compound market or Comet holding that cannot be read (its token's balanceOf reverts) is listed as not
counted; every other market and holding stands, exactly as it read before."""

from __future__ import annotations

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.base import Adapter, BalanceKind, Position, Uncounted
from defiscope.protocols.compound.v2 import CompoundV2Adapter
from defiscope.protocols.compound.v3 import CompoundV3Adapter

REVERTING = "0x60006000fd"  # PUSH1 0 PUSH1 0 REVERT


async def _read(chain: DevnetChain, adapters: list[Adapter]) -> list[list[Position | Uncounted]]:
    async with ChainClient.connect(1, [chain.rpc_url]) as client:
        batcher = Batcher(await client.snapshot())
        return [list(await a.positions(batcher.reader(a.info.slug))) for a in adapters]


async def test_a_market_whose_token_reverts_is_uncounted_and_the_rest_stands(eth_chain: DevnetChain) -> None:
    deployment = devnet_deployment(eth_chain)
    adapters: list[Adapter] = [CompoundV2Adapter(deployment), CompoundV3Adapter(deployment)]
    v2_before, v3_before = await _read(eth_chain, adapters)
    wbtc = deployment.token("WBTC").address
    Sender.connect(eth_chain.rpc_url).rpc("anvil_setCode", [wbtc, REVERTING])
    v2_after, v3_after = await _read(eth_chain, adapters)

    # Compound V2: getCash asks WBTC's balanceOf, so the whole cWBTC market (cash and borrows) is not counted.
    ctoken = eth_chain.contracts["CompoundV2cToken:WBTC"]
    assert [p for p in v2_after if isinstance(p, Position)] == [p for p in v2_before if p.holder != ctoken]
    unread = [(u.holder, u.token, u.kind) for u in v2_after if isinstance(u, Uncounted)]
    assert unread == [(ctoken, wbtc, BalanceKind.TVL), (ctoken, wbtc, BalanceKind.BORROWED)]
    assert all("getCash" in u.reason for u in v2_after if isinstance(u, Uncounted))
    # Comets: only the WBTC collateral balances are lost; borrows and every other token stand.
    lost = [p for p in v3_before if isinstance(p, Position) and p.token == wbtc and p.kind is BalanceKind.TVL]
    assert lost
    assert [p for p in v3_after if isinstance(p, Position)] == [p for p in v3_before if p not in lost]
    comet_unread = [u for u in v3_after if isinstance(u, Uncounted)]
    assert [(u.holder, u.token, u.kind) for u in comet_unread] == [(p.holder, p.token, p.kind) for p in lost]
    assert all("balanceOf" in u.reason for u in comet_unread)
