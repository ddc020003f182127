"""Compound V2 and III positions as liquidation-risk inputs (the `defiscope risk liquidations` sources).

block, positions, assets, not_valued = await compound_v2_risk_positions(client, deployment, "latest")
report = risk_report(positions, "WETH")
# not_valued: "0xabc...: no oracle price for WETH (...)" for each borrower that uses a market without a price
"""

from __future__ import annotations

import asyncio
from typing import Final

from defiscope.chain.block import BlockRef
from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.protocols.compound.positions import (
    PositionError,
    discover_comet_accounts,
    discover_v2_accounts,
    read_comet,
    scan_comet_accounts,
    scan_v2_accounts,
    usd_per_quote,
)
from defiscope.protocols.compound.v2 import COMPTROLLER
from defiscope.protocols.compound.v3 import USD, comets, price_quote
from defiscope.protocols.lending.risk import Position, UnvaluedAccount

#: Where account discovery starts on mainnet: the Comptroller's and cUSDCv3's (the first Comet's) deployment
#: blocks.
DEPLOY_BLOCK: Final = {("mainnet", 1, "compound-v2"): 7_710_671, ("mainnet", 1, "compound-v3"): 15_331_586}


def _start(deployment: Deployment, slug: str, from_block: int | None, head: int) -> int:
    start = DEPLOY_BLOCK.get((deployment.network, deployment.chain_id, slug), 0) if from_block is None else from_block
    if start > head:
        raise PositionError(f"{slug}: --from-block {start} is after the block read ({head})")
    return start


async def compound_v2_risk_positions(
    client: ChainClient, deployment: Deployment, at: int | str = "latest", from_block: int | None = None
) -> tuple[BlockRef, list[Position], tuple[str, ...], tuple[str, ...]]:
    """The pinned block, every indebted account's position, the symbols of the markets seen, and the indebted
    accounts that could not be valued, with why (a market they entered has no oracle price)."""
    snapshot = await client.snapshot(at)
    head = snapshot.block.number
    comptroller = deployment.contract(COMPTROLLER)
    accounts = await discover_v2_accounts(
        client, comptroller, _start(deployment, "compound-v2", from_block, head), head
    )
    unvalued: list[UnvaluedAccount] = []
    scanned = await scan_v2_accounts(Batcher(snapshot).reader("compound-v2"), deployment, accounts, unvalued)
    assets = tuple(dict.fromkeys(h.symbol for a in scanned for h in a.holdings))
    not_valued = tuple(f"{u.account}: {u.reason}" for u in unvalued if u.borrowing)
    return snapshot.block, [a.to_risk() for a in scanned if a.liquidity.borrows > 0], assets, not_valued


async def compound_v3_risk_positions(
    client: ChainClient, deployment: Deployment, at: int | str = "latest", from_block: int | None = None
) -> tuple[BlockRef, list[Position], tuple[str, ...], tuple[str, ...]]:
    """Every Comet market's borrowers (accounts with a negative principal), valued in USD, and the borrowers
    that could not be valued, with why (a price their Comet cannot read, or no USD price of its unit).

    A Comet whose prices are in a token (cWETHv3: ETH) is valued with that token's USD price on a USD Comet.
    """
    snapshot = await client.snapshot(at)
    head = snapshot.block.number
    reader = Batcher(snapshot).reader("compound-v3")
    start = _start(deployment, "compound-v3", from_block, head)
    found = comets(deployment)
    # All Comets at once: the reader merges their rounds into shared batches.
    markets = await asyncio.gather(
        *(read_comet(reader, deployment, c, price_quote(s), tolerate_unpriced=True) for s, c in found.items())
    )
    accounts = await asyncio.gather(*(discover_comet_accounts(client, c, start, head) for c in found.values()))
    scans = await asyncio.gather(*(scan_comet_accounts(reader, m, a) for m, a in zip(markets, accounts, strict=True)))
    usd_markets = [m for m in markets if m.quote == USD]
    positions: list[Position] = []
    not_valued: list[str] = []
    assets: dict[str, None] = {}
    for market, scanned in zip(markets, scans, strict=True):
        assets.update(dict.fromkeys([market.base_symbol, *(a.symbol for a in market.assets)]))
        borrowers = [a for a in scanned if a.principal < 0]
        if not borrowers:
            continue
        try:
            unit = usd_per_quote(market, usd_markets)
        except PositionError as exc:  # the market's unit has no USD price: none of its borrowers can be valued
            not_valued += [f"{a.account}: {exc}" for a in borrowers]
            continue
        not_valued += [f"{a.account}: {a.unpriced}" for a in borrowers if a.unpriced is not None]
        positions += [a.to_risk(unit) for a in borrowers if a.unpriced is None]
    return snapshot.block, positions, tuple(assets), tuple(not_valued)
