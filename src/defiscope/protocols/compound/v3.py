"""Compound III (Comet) adapter: TVL = base token held + collateral totals; borrowed = `totalBorrow`.

Per Comet market (registry names ``CompoundV3Comet:<base>``): the base token the Comet holds (suppliers'
base minus what is lent out, plus reserves) and `totalsCollateral(asset)` of every collateral asset are
TVL; `totalBorrow()` of the base token is borrowed. Assets come from `numAssets` / `getAssetInfo`.

    adapter = CompoundV3Adapter(deployment)
    positions = await adapter.positions(reader)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from defiscope.chain.multicall import Call
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.protocols.base import Adapter, BalanceKind, Position, ProtocolInfo

COMET_PREFIX: Final = "CompoundV3Comet:"
ASSET_INFO: Final = "getAssetInfo(uint8)((uint8,address,address,uint64,uint64,uint64,uint64,uint128))"
TOTALS_COLLATERAL: Final = "totalsCollateral(address)(uint128,uint128)"

INFO: Final = ProtocolInfo(
    slug="compound-v3",
    name="Compound V3",
    category="Lending",
    methodology=(
        "Per Comet market: TVL is the base token the Comet holds plus totalsCollateral of each collateral "
        "asset; borrowed is totalBorrow of the base token."
    ),
    url="https://compound.finance",
)


@dataclass(frozen=True, slots=True)
class CometAssets:
    base: str
    collateral: tuple[str, ...]


def comets(deployment: Deployment) -> dict[str, str]:
    """Comet markets of a deployment: base symbol -> address."""
    return {n[len(COMET_PREFIX) :]: a for n, a in deployment.contracts.items() if n.startswith(COMET_PREFIX)}


class CompoundV3Adapter(Adapter):
    info = INFO

    def __init__(self, deployment: Deployment) -> None:
        super().__init__(deployment)
        self.comets = comets(deployment)
        self.assets: dict[str, CometAssets] = {}

    async def discover(self, reader: Reader) -> dict[str, CometAssets]:
        unknown = [c for c in self.comets.values() if c not in self.assets]
        if unknown:
            heads = self.require(
                await reader.call_many(
                    [Call.of(c, sig) for c in unknown for sig in ("baseToken()(address)", "numAssets()(uint8)")]
                )
            )
            calls = [Call.of(c, ASSET_INFO, i) for k, c in enumerate(unknown) for i in range(heads[2 * k + 1])]
            infos = iter(self.require(await reader.call_many(calls)))
            for k, comet in enumerate(unknown):
                found = tuple(next(infos)[1] for _ in range(heads[2 * k + 1]))
                self.assets[comet] = CometAssets(heads[2 * k], found)
        return {c: self.assets[c] for c in self.comets.values()}

    async def positions(self, reader: Reader) -> list[Position]:
        markets = await self.discover(reader)
        calls: list[Call] = []
        for comet, a in markets.items():
            calls += [Call.of(a.base, "balanceOf(address)(uint256)", comet), Call.of(comet, "totalBorrow()(uint256)")]
            calls += [Call.of(comet, TOTALS_COLLATERAL, asset) for asset in a.collateral]
        results = iter(await reader.call_many(calls))
        positions: list[Position] = []
        for comet, a in markets.items():
            label = f"Comet {comet}"
            held, borrowed = self.require([next(results), next(results)])
            positions.append(Position(a.base, held, BalanceKind.TVL, comet, label))
            positions.append(Position(a.base, borrowed, BalanceKind.BORROWED, comet, label))
            totals = self.require([next(results) for _ in a.collateral])
            positions += [
                Position(asset, total[0], BalanceKind.TVL, comet, label)
                for asset, total in zip(a.collateral, totals, strict=True)
            ]
        return positions
