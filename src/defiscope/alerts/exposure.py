"""Liquidation exposure at a block, from the existing risk engine (`protocols.lending.risk.scenario`) over the
positions each lending protocol's risk reader finds at that block.

    found = await read_exposure(client, deployment, 1234, {("aave-v3", "WETH", Decimal(20))})
    found[("aave-v3", "WETH", Decimal(20))]   # Exposure(debt_usd=..., ...) or why it could not be read
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any, Final

from defiscope.alerts.evaluate import Exposure
from defiscope.chain.client import ChainClient
from defiscope.deployments import Deployment
from defiscope.errors import DefiscopeError
from defiscope.protocols.aave.risk import aave_risk_positions
from defiscope.protocols.compound.risk import compound_v2_risk_positions, compound_v3_risk_positions
from defiscope.protocols.lending.risk import scenario
from defiscope.protocols.maker.risk import maker_risk_positions

#: Protocol slug -> its reader: (client, deployment, block, from_block) -> (block, positions, assets, ...).
RISK_SOURCES: Final[dict[str, Callable[..., Awaitable[tuple[Any, ...]]]]] = {
    "aave-v3": aave_risk_positions,
    "compound-v2": compound_v2_risk_positions,
    "compound-v3": compound_v3_risk_positions,
    "maker": maker_risk_positions,
}
EXPOSURE_QUANTUM: Final = Decimal("0.00000001")

ExposureKey = tuple[str, str, Decimal]  # (protocol, asset symbol, drop in percent)


def _usd(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(EXPOSURE_QUANTUM, ROUND_HALF_EVEN)


async def read_exposure(
    client: ChainClient, deployment: Deployment, block_number: int, wanted: Collection[ExposureKey]
) -> dict[ExposureKey, Exposure | str]:
    """Each wanted (protocol, asset, drop %) at `block_number`: the scenario's figures, or why there are none."""
    found: dict[ExposureKey, Exposure | str] = {}
    for protocol in sorted({key[0] for key in wanted}):
        keys = [key for key in wanted if key[0] == protocol]
        try:
            _block, positions, assets, *_unvalued = await RISK_SOURCES[protocol](client, deployment, block_number, None)
        except DefiscopeError as exc:
            found.update(
                {key: f"{protocol} positions could not be read at block {block_number}: {exc}" for key in keys}
            )
            continue
        for key in keys:
            asset, drop = key[1], key[2]
            if asset not in assets:
                found[key] = f"{protocol} has no asset {asset!r} on chain {deployment.chain_id}"
                continue
            result = scenario(positions, asset, Fraction(drop) / 100)
            found[key] = Exposure(_usd(result.debt_usd), _usd(result.collateral_usd), result.accounts, len(positions))
    return found
