"""The pools a chain's router quotes over: the running devnet's seeded pools, or those discovered on a real chain.

refs = await pool_refs(client, target, ["0x..."])   # `defiscope quote`, `volume`, index rebalances
"""

from __future__ import annotations

from eth_utils import is_address

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.devnet.runfile import read_run
from defiscope.routing.discovery import discover_pools
from defiscope.routing.load import PoolRef
from defiscope.routing.plan import BadQuoteInput
from defiscope.service.context import ChainTarget


async def pool_refs(client: ChainClient, target: ChainTarget, tokens: list[str]) -> list[PoolRef]:
    """The devnet's seeded pools, or the pools discovered between the registry's tokens and ``tokens``."""
    if target.deployment.network == "devnet":
        chain = next((c for c in read_run().chains if c.chain_id == target.chain_id), None)
        if chain is None:
            raise BadQuoteInput(f"the running devnet has no chain {target.chain_id}")
        return [PoolRef(p.dex, p.address, p.token0, p.token1) for p in chain.pools]
    reader = Batcher(await client.snapshot()).reader("discovery")
    return await discover_pools(reader, target.deployment, [t for t in tokens if is_address(t)])
