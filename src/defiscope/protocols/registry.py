"""Which adapters exist, and which of them a deployment can run.

adapters = adapters_for(deployment)   # every protocol whose contracts this chain has
"""

from __future__ import annotations

from defiscope.deployments import Deployment
from defiscope.protocols.base import Adapter, ProtocolInfo
from defiscope.protocols.treasury import TreasuryAdapter
from defiscope.protocols.uniswap.v2 import V2_SPECS, V2Adapter


def adapters_for(deployment: Deployment) -> list[Adapter]:
    adapters: list[Adapter] = [V2Adapter(deployment, spec) for spec in V2_SPECS if spec.factory in deployment.contracts]
    adapters += [TreasuryAdapter(deployment, spec) for spec in deployment.treasuries]
    return adapters


def known_protocols() -> dict[str, ProtocolInfo]:
    """Every protocol defiscope has an adapter for, by slug (treasuries are configured, so not listed)."""
    return {spec.info.slug: spec.info for spec in V2_SPECS}
