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
from defiscope.protocols.compound.rates import CometRates
from defiscope.protocols.lending.rates import SECONDS_PER_YEAR, apr_to_apy, per_second_to_apr
from defiscope.protocols.yields import Yield, YieldKind, exact_decimal

COMET_PREFIX: Final = "CompoundV3Comet:"
ASSET_INFO: Final = "getAssetInfo(uint8)((uint8,address,address,uint64,uint64,uint64,uint64,uint128))"
TOTALS_COLLATERAL: Final = "totalsCollateral(address)(uint128,uint128)"
#: Comet's rate immutables, in `CometRates`' field order, then the utilisation they are evaluated at.
RATE_READS: Final = (
    *(
        f"{name}()(uint64)"
        for name in (
            "supplyKink",
            "supplyPerSecondInterestRateSlopeLow",
            "supplyPerSecondInterestRateSlopeHigh",
            "supplyPerSecondInterestRateBase",
            "borrowKink",
            "borrowPerSecondInterestRateSlopeLow",
            "borrowPerSecondInterestRateSlopeHigh",
            "borrowPerSecondInterestRateBase",
        )
    ),
    "getUtilization()(uint256)",
)

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

    async def yields(self, reader: Reader) -> list[Yield]:
        """Per Comet: getSupplyRate / getBorrowRate at getUtilization (per second) x seconds a year.

        The curve's immutables and the utilisation are read in one batch and evaluated with the exact port
        (`CometRates`), which equals ``getSupplyRate(getUtilization())`` without a second round trip.
        """
        markets = await self.discover(reader)
        values = self.require(await reader.call_many([Call.of(c, sig) for c in markets for sig in RATE_READS]))
        rows: list[Yield] = []
        for k, (comet, a) in enumerate(markets.items()):
            *params, utilization = values[k * len(RATE_READS) : (k + 1) * len(RATE_READS)]
            curve = CometRates(*params)
            token = self.deployment.token_at(a.base)
            symbol = token.symbol if token is not None else a.base
            for kind, rate in (
                (YieldKind.SUPPLY, curve.supply_rate(utilization)),
                (YieldKind.BORROW, curve.borrow_rate(utilization)),
            ):
                apr = per_second_to_apr(rate)
                method = f"get{kind.value.title()}Rate(getUtilization()) x {SECONDS_PER_YEAR} s / 1e18; APY per second"
                rows.append(
                    Yield(
                        self.info.slug,
                        comet,
                        a.base,
                        symbol,
                        kind,
                        exact_decimal(apr),
                        apr_to_apy(apr, SECONDS_PER_YEAR),
                        method,
                    )
                )
        return rows
