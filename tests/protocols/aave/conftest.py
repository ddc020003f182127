from __future__ import annotations

import pytest

from defiscope.deployments import Deployment
from defiscope.devnet.world import DevnetChain
from tests.protocols.aave.kit import AaveKit


@pytest.fixture
def kit(eth_chain: DevnetChain, deployment: Deployment) -> AaveKit:
    return AaveKit.connect(eth_chain, deployment)
