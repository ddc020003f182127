from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from defiscope.chain.client import ChainClient
from defiscope.devnet.anvil import ACCOUNTS
from defiscope.devnet.world import DevnetChain


@pytest.fixture
async def client(eth_chain: DevnetChain) -> AsyncIterator[ChainClient]:
    async with ChainClient.connect(eth_chain.chain_id, [eth_chain.rpc_url]) as chain_client:
        yield chain_client


@pytest.fixture
def holders() -> list[str]:
    """The devnet's deterministic accounts 0..9 (anvil's default mnemonic)."""
    return list(ACCOUNTS)
