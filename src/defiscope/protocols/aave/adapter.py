"""The Aave V3 TVL adapter: every market of the chain; per reserve, the liquidity left and the borrowed.

DefiLlama's convention for Aave V3 (``helper/aave.js``, ``aaveV3Export``): ``tvl`` is the underlying the
aTokens hold (what suppliers lent minus what borrowers took) and ``borrowed`` is the variable plus stable
debt, reported separately so it is not counted twice; every market of the chain counts (Ethereum: Core,
Prime, EtherFi). aTokens are receipts: another protocol holding aTokens holds a claim on this market, so
`receipt_tokens` lists them and totals count the underlying once.

    adapter = AaveV3Adapter(deployment)
    positions = await adapter.positions(reader)   # one batch once the reserves are known
    [p for p in positions if p.kind is BalanceKind.BORROWED]
"""

from __future__ import annotations

import asyncio

from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.protocols.aave.market import A_TOKEN_PREFIX, POOL, AaveError, AaveMarket, Reserve, registered_a_tokens
from defiscope.protocols.aave.methodology import AAVE_V3
from defiscope.protocols.aave.surface import aave_surface
from defiscope.protocols.base import Adapter, AdapterError, BalanceKind, Position
from defiscope.protocols.lending.rates import SECONDS_PER_YEAR, apr_to_apy
from defiscope.protocols.surface import ContractUse
from defiscope.protocols.yields import Yield, YieldKind, exact_decimal

__all__ = ["AAVE_V3", "A_TOKEN_PREFIX", "AaveV3Adapter", "registered_a_tokens"]


class AaveV3Adapter(Adapter):
    info = AAVE_V3

    def __init__(self, deployment: Deployment) -> None:
        super().__init__(deployment)
        if POOL not in deployment.contracts:
            raise AdapterError(f"aave-v3: no {POOL} on chain {deployment.chain_id} ({deployment.network})")
        self.markets = AaveMarket.all_of(deployment)

    @property
    def market(self) -> AaveMarket:
        """The chain's main (Core) market."""
        return self.markets[0]

    def receipt_tokens(self) -> list[str]:
        known = {t.a_token for market in self.markets for t in market.tokens.values()}
        return sorted(known | set(registered_a_tokens(self.deployment)))

    def surface(self) -> tuple[ContractUse, ...]:
        return aave_surface(self.deployment)

    async def _reserves(self, reader: Reader) -> list[tuple[AaveMarket, list[Reserve]]]:
        try:
            found = await asyncio.gather(*(market.reserves(reader) for market in self.markets))
        except AaveError as exc:
            raise AdapterError(str(exc)) from None
        return list(zip(self.markets, found, strict=True))

    async def positions(self, reader: Reader) -> list[Position]:
        positions: list[Position] = []
        for market, reserves in await self._reserves(reader):
            for reserve in reserves:
                label = f"{reserve.symbol} reserve ({market.name})"
                holder = reserve.tokens.a_token
                # What the aToken holds (v3.1+: its virtual balance): supplied minus borrowed, as DefiLlama counts.
                positions.append(Position(reserve.asset, reserve.available_liquidity, BalanceKind.TVL, holder, label))
                positions.append(Position(reserve.asset, reserve.total_debt, BalanceKind.BORROWED, holder, label))
        return positions

    async def yields(self, reader: Reader) -> list[Yield]:
        """Per reserve: supply APR = currentLiquidityRate, borrow APR = currentVariableBorrowRate (ray, annual).

        APY compounds each every second, as Aave's interfaces show it (`lending.rates.apr_to_apy`).
        """
        rows: list[Yield] = []
        for market, reserves in await self._reserves(reader):
            for reserve in reserves:
                for kind, apr, field in (
                    (YieldKind.SUPPLY, reserve.supply_apr, "currentLiquidityRate"),
                    (YieldKind.BORROW, reserve.variable_borrow_apr, "currentVariableBorrowRate"),
                ):
                    method = f"{market.name} market: getReserveData.{field} / 1e27; APY compounded per second"
                    apy = apr_to_apy(apr, SECONDS_PER_YEAR)
                    rows.append(
                        Yield(
                            self.info.slug,
                            market.pool,
                            reserve.asset,
                            reserve.symbol,
                            kind,
                            exact_decimal(apr),
                            apy,
                            method,
                        )
                    )
        return rows
