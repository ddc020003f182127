"""Maker vaults as liquidation-risk inputs (the `defiscope risk liquidations --protocol makerdao` source).

block, positions, assets = await maker_risk_positions(client, deployment, "latest")
"""

from __future__ import annotations

from typing import Final

from defiscope.chain.block import BlockRef
from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.errors import DefiscopeError
from defiscope.protocols.lending.risk import Position
from defiscope.protocols.maker.vaults import discover_vault_owners, read_ilks, scan_vaults

#: MCD went live at block 8,928,152 on mainnet.
DEPLOY_BLOCK: Final = {("mainnet", 1): 8_928_152}


async def maker_risk_positions(
    client: ChainClient, deployment: Deployment, at: int | str = "latest", from_block: int | None = None
) -> tuple[BlockRef, list[Position], tuple[str, ...]]:
    """The pinned block, every vault with debt, and the ilks' collateral symbols."""
    snapshot = await client.snapshot(at)
    head = snapshot.block.number
    start = DEPLOY_BLOCK.get((deployment.network, deployment.chain_id), 0) if from_block is None else from_block
    if start > head:
        raise DefiscopeError(f"makerdao: --from-block {start} is after the block read ({head})")
    reader = Batcher(snapshot).reader("makerdao")
    ilks = await read_ilks(reader, deployment)
    owners = await discover_vault_owners(client, ilks, start, head)
    vaults = await scan_vaults(reader, deployment, ilks, owners)
    return snapshot.block, [v.to_risk() for v in vaults if v.state.art], tuple(dict.fromkeys(i.symbol for i in ilks))
