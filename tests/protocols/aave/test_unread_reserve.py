"""One Aave reserve that cannot be read (its token's balanceOf reverts) is listed as not counted; the markets'
other reserves stand, exactly as they read before."""

from __future__ import annotations

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.protocols.aave.adapter import AaveV3Adapter
from defiscope.protocols.base import BalanceKind, Position, Uncounted
from tests.protocols.aave.kit import AaveKit

REVERTING = "0x60006000fd"  # PUSH1 0 PUSH1 0 REVERT


async def test_a_reserve_whose_token_reverts_is_uncounted_and_the_rest_stands(
    kit: AaveKit, client: ChainClient
) -> None:
    adapter = AaveV3Adapter(kit.deployment)
    before = await adapter.positions(Batcher(await client.snapshot()).reader("aave-v3"))
    assert all(isinstance(p, Position) for p in before)
    wbtc = kit.deployment.tokens["WBTC"].address
    kit.sender.rpc("anvil_setCode", [wbtc, REVERTING])
    after = await adapter.positions(Batcher(await client.snapshot()).reader("aave-v3"))

    counted = [p for p in after if isinstance(p, Position)]
    unread = [p for p in after if isinstance(p, Uncounted)]
    assert counted == [p for p in before if p.token != wbtc]
    lost = [p for p in before if isinstance(p, Position) and p.token == wbtc]
    assert lost  # WBTC is a reserve of at least one market
    assert [(u.holder, u.token, u.kind, u.label) for u in unread] == [
        (p.holder, p.token, p.kind, p.label) for p in lost
    ]
    for u in unread:
        assert "failed" in u.reason
        assert u.kind in (BalanceKind.TVL, BalanceKind.BORROWED)
