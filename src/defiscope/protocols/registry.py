"""Which adapters exist, and which of them a deployment can run.

adapters = adapters_for(deployment)   # every protocol whose contracts this chain has
"""

from __future__ import annotations

from defiscope.deployments import Deployment
from defiscope.protocols.aave.adapter import AAVE_V3, AaveV3Adapter
from defiscope.protocols.base import Adapter, ProtocolInfo
from defiscope.protocols.compound.registry import INFOS as COMPOUND_MAKER_INFOS
from defiscope.protocols.compound.registry import compound_maker_adapters
from defiscope.protocols.curve.adapter import CURVE, CurveAdapter, has_curve
from defiscope.protocols.eigenlayer.adapter import EIGENLAYER, EigenLayerAdapter
from defiscope.protocols.lido.adapter import LIDO, LidoAdapter
from defiscope.protocols.treasury import TreasuryAdapter
from defiscope.protocols.uniswap.v2 import V2_SPECS, V2Adapter
from defiscope.protocols.uniswap.v3 import V3_SPECS, V3Adapter


def adapters_for(deployment: Deployment) -> list[Adapter]:
    adapters: list[Adapter] = [V2Adapter(deployment, spec) for spec in V2_SPECS if spec.factory in deployment.contracts]
    adapters += [V3Adapter(deployment, spec) for spec in V3_SPECS if spec.factory in deployment.contracts]
    adapters += compound_maker_adapters(deployment)
    adapters += [LidoAdapter(deployment)] if "LidoStETH" in deployment.contracts else []
    adapters += [EigenLayerAdapter(deployment)] if "EigenLayerStrategyManager" in deployment.contracts else []
    adapters += [AaveV3Adapter(deployment)] if "AaveV3Pool" in deployment.contracts else []
    adapters += [CurveAdapter(deployment)] if has_curve(deployment) else []
    adapters += [TreasuryAdapter(deployment, spec) for spec in deployment.treasuries]
    return adapters


def known_protocols() -> dict[str, ProtocolInfo]:
    """Every protocol defiscope has an adapter for, by slug (treasuries are configured, so not listed)."""
    others = (*COMPOUND_MAKER_INFOS, LIDO, EIGENLAYER, AAVE_V3, CURVE)
    return {spec.info.slug: spec.info for spec in (*V2_SPECS, *V3_SPECS)} | {i.slug: i for i in others}
