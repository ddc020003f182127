from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from defiscope.chain.client import ChainClient
from defiscope.deployments import Deployment
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.world import DevnetChain
from tests.protocols.aave.kit import AaveKit


@pytest.fixture
async def client(eth_chain: DevnetChain) -> AsyncIterator[ChainClient]:
    async with ChainClient.connect(eth_chain.chain_id, [eth_chain.rpc_url]) as chain_client:
        yield chain_client


@pytest.fixture
def deployment(eth_chain: DevnetChain) -> Deployment:
    return devnet_deployment(eth_chain)


@pytest.fixture
def kit(eth_chain: DevnetChain, deployment: Deployment) -> AaveKit:
    return AaveKit.connect(eth_chain, deployment)
