"""Aave V3 positions as liquidation-risk inputs: discover accounts, scan them, hand them to `lending.risk`.

block, positions, assets, not_valued = await aave_risk_positions(client, deployment, "latest")
report = risk_report(positions, "WETH")
"""

from __future__ import annotations

from typing import Final

from defiscope.chain.block import BlockRef
from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.protocols.aave.market import AaveError, AaveMarket
from defiscope.protocols.aave.positions import discover_accounts, scan_accounts
from defiscope.protocols.lending.risk import Position, UnvaluedAccount

#: Where account discovery starts: the Pool's deployment block (Aave V3 Ethereum: 16,291,127).
POOL_DEPLOY_BLOCK: Final = {("mainnet", 1): 16_291_127}


async def aave_risk_positions(
    client: ChainClient, deployment: Deployment, at: int | str = "latest", from_block: int | None = None
) -> tuple[BlockRef, list[Position], tuple[str, ...], tuple[str, ...]]:
    """The pinned block, every indebted account's position in every market, the markets' reserve symbols,
    and the indebted accounts that could not be valued ("Prime 0xabc...: no oracle price for WETH ...").

    An account is one position per market (each Pool keeps its own collateral and debt); one that uses a
    reserve without a readable price is listed, with the reason, instead of being valued."""
    snapshot = await client.snapshot(at)
    start = POOL_DEPLOY_BLOCK.get((deployment.network, deployment.chain_id), 0) if from_block is None else from_block
    if start > snapshot.block.number:
        raise AaveError(f"aave-v3: --from-block {start} is after the block read ({snapshot.block.number})")
    reader = Batcher(snapshot).reader("aave-v3")
    positions: list[Position] = []
    not_valued: list[str] = []
    symbols: dict[str, None] = {}
    for market in AaveMarket.all_of(deployment):
        accounts = await discover_accounts(client, market.pool, start, snapshot.block.number)
        reserves = await market.reserves(reader)
        unvalued: list[UnvaluedAccount] = []
        scanned = await scan_accounts(reader, market, accounts, unvalued)
        positions += [p.to_risk() for p in scanned if p.data.total_debt_base > 0]
        not_valued += [f"{market.name} {u.account}: {u.reason}" for u in unvalued if u.borrowing]
        symbols.update(dict.fromkeys(r.symbol for r in reserves))
    return snapshot.block, positions, tuple(symbols), tuple(not_valued)
