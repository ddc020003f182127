"""The Aave V3 TVL adapter: per reserve, what suppliers lent minus what borrowers took, and the borrowed.

DefiLlama's convention for lending markets: ``tvl`` is supplied minus borrowed (aToken ``totalSupply``
minus variable and stable debt ``totalSupply``: the liquidity still in the pool) and ``borrowed`` is the
debt, reported separately so it is not counted twice. aTokens are receipts: another protocol holding
aTokens holds a claim on this market, so `receipt_tokens` lists them and totals count the underlying once.

    adapter = AaveV3Adapter(deployment)
    positions = await adapter.positions(reader)   # one batch once the reserves are known
    [p for p in positions if p.kind is BalanceKind.BORROWED]
"""

from __future__ import annotations

from typing import Final

from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.protocols.aave.market import POOL, AaveError, AaveMarket
from defiscope.protocols.base import Adapter, AdapterError, BalanceKind, Position, ProtocolInfo
from defiscope.protocols.lending.rates import SECONDS_PER_YEAR, apr_to_apy
from defiscope.protocols.yields import Yield, YieldKind, exact_decimal

AAVE_V3: Final = ProtocolInfo(
    slug="aave-v3",
    name="Aave V3",
    category="Lending",
    methodology=(
        "Per reserve of the Pool (getReservesList): TVL = aToken totalSupply minus variable and stable debt "
        "totalSupply (liquidity left to borrow); borrowed = variable + stable debt totalSupply."
    ),
    url="https://aave.com",
)


class AaveV3Adapter(Adapter):
    info = AAVE_V3

    def __init__(self, deployment: Deployment) -> None:
        super().__init__(deployment)
        if POOL not in deployment.contracts:
            raise AdapterError(f"aave-v3: no {POOL} on chain {deployment.chain_id} ({deployment.network})")
        self.market = AaveMarket.of(deployment)

    def receipt_tokens(self) -> list[str]:
        known = {t.a_token for t in self.market.tokens.values()}
        return sorted(known | set(registered_a_tokens(self.deployment)))

    async def positions(self, reader: Reader) -> list[Position]:
        try:
            reserves = await self.market.reserves(reader)
        except AaveError as exc:
            raise AdapterError(str(exc)) from None
        positions: list[Position] = []
        for reserve in reserves:
            label = f"{reserve.symbol} reserve"
            # Interest accrued to the treasury is owed but not yet minted as aTokens, so supplied minus
            # borrowed can dip a few units below zero at 100 % utilisation: the pool never holds less than 0.
            liquidity = max(reserve.a_token_supply - reserve.total_debt, 0)
            positions.append(Position(reserve.asset, liquidity, BalanceKind.TVL, reserve.tokens.a_token, label))
            positions.append(
                Position(reserve.asset, reserve.total_debt, BalanceKind.BORROWED, reserve.tokens.a_token, label)
            )
        return positions

    async def yields(self, reader: Reader) -> list[Yield]:
        """Per reserve: supply APR = currentLiquidityRate, borrow APR = currentVariableBorrowRate (ray, annual).

        APY compounds each every second, as Aave's interfaces show it (`lending.rates.apr_to_apy`).
        """
        try:
            reserves = await self.market.reserves(reader)
        except AaveError as exc:
            raise AdapterError(str(exc)) from None
        rows: list[Yield] = []
        for reserve in reserves:
            for kind, apr, field in (
                (YieldKind.SUPPLY, reserve.supply_apr, "currentLiquidityRate"),
                (YieldKind.BORROW, reserve.variable_borrow_apr, "currentVariableBorrowRate"),
            ):
                method = f"getReserveData.{field} / 1e27; APY compounded per second"
                apy = apr_to_apy(apr, SECONDS_PER_YEAR)
                rows.append(
                    Yield(
                        self.info.slug,
                        self.market.pool,
                        reserve.asset,
                        reserve.symbol,
                        kind,
                        exact_decimal(apr),
                        apy,
                        method,
                    )
                )
        return rows


#: Registry names of a market's aTokens: ``AaveV3AToken:<underlying symbol>``.
A_TOKEN_PREFIX: Final = "AaveV3AToken:"


def registered_a_tokens(deployment: Deployment) -> dict[str, str]:
    """aToken address -> underlying symbol, from the deployment's registry (known before any read)."""
    return {
        address: name.removeprefix(A_TOKEN_PREFIX)
        for name, address in deployment.contracts.items()
        if name.startswith(A_TOKEN_PREFIX)
    }
