"""Adapters of issue 5's Compound and Maker protocols a deployment can run (for `protocols.registry`).

adapters = compound_maker_adapters(deployment)   # those whose contracts the deployment has
"""

from __future__ import annotations

from typing import Final

from defiscope.deployments import Deployment
from defiscope.protocols.base import Adapter, ProtocolInfo
from defiscope.protocols.compound import v2, v3
from defiscope.protocols.maker import adapter as maker

INFOS: Final[tuple[ProtocolInfo, ...]] = (v2.INFO, v3.INFO, maker.INFO)


def compound_maker_adapters(deployment: Deployment) -> list[Adapter]:
    adapters: list[Adapter] = []
    if v2.COMPTROLLER in deployment.contracts:
        adapters.append(v2.CompoundV2Adapter(deployment))
    if v3.comets(deployment):
        adapters.append(v3.CompoundV3Adapter(deployment))
    if maker.DAI in deployment.contracts and maker.gem_joins(deployment):
        adapters.append(maker.MakerAdapter(deployment))
    return adapters
