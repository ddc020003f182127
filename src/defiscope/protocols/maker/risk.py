"""Maker vaults as liquidation-risk inputs (the `defiscope risk liquidations --protocol maker` source).

block, positions, assets, unvalued = await maker_risk_positions(client, deployment, "latest")
# unvalued: "ETH-A 0xUrn...: no price (spot 0)" for each vault with debt whose ilk has no price
"""

from __future__ import annotations

from defiscope.chain.block import BlockRef
from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.errors import DefiscopeError
from defiscope.protocols.lending.risk import Position
from defiscope.protocols.maker.surface import DEPLOY_BLOCK
from defiscope.protocols.maker.vaults import discover_urns, read_ilks, scan_vaults


async def maker_risk_positions(
    client: ChainClient, deployment: Deployment, at: int | str = "latest", from_block: int | None = None
) -> tuple[BlockRef, list[Position], tuple[str, ...], tuple[str, ...]]:
    """The pinned block, every valued vault with debt, the ilks' collateral symbols, and the vaults with debt
    that could not be valued (their ilk has no price), each with why."""
    snapshot = await client.snapshot(at)
    head = snapshot.block.number
    deployed = DEPLOY_BLOCK.get(deployment.chain_id, 0) if deployment.network == "mainnet" else 0
    start = deployed if from_block is None else from_block
    if start > head:
        raise DefiscopeError(f"makerdao: --from-block {start} is after the block read ({head})")
    reader = Batcher(snapshot).reader("makerdao")
    ilks = await read_ilks(reader, deployment)
    urns = await discover_urns(client, reader, deployment, start, head)
    vaults = [v for v in await scan_vaults(reader, deployment, ilks, urns) if v.state.art]
    valued = [v.to_risk() for v in vaults if v.ilk.price is not None]
    unvalued = tuple(f"{v.ilk.name} {v.urn}: no price (spot 0)" for v in vaults if v.ilk.price is None)
    return snapshot.block, valued, tuple(dict.fromkeys(i.symbol for i in ilks)), unvalued
