from __future__ import annotations

import pytest

from defiscope.deployments import Deployment
from defiscope.devnet.world import DevnetChain
from tests.prices.kit import Kit


@pytest.fixture
def kit(eth_chain: DevnetChain, deployment: Deployment) -> Kit:
    return Kit.connect(eth_chain, deployment)
