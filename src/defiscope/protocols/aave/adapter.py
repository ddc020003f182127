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
from collections.abc import Sequence
from typing import Final

from defiscope.chain.block import BlockRef
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.protocols.aave.market import (
    A_TOKEN_PREFIX,
    POOL,
    AaveError,
    AaveMarket,
    Reserve,
    UnreadReserve,
    registered_a_tokens,
)
from defiscope.protocols.aave.methodology import AAVE_V3
from defiscope.protocols.aave.surface import (
    A_TOKEN_KIND,
    PRICE_SOURCE_KIND,
    STABLE_DEBT_KIND,
    UNDERLYING_KIND,
    VARIABLE_DEBT_KIND,
    aave_surface,
    reserve_kind,
)
from defiscope.protocols.base import Adapter, AdapterError, BalanceKind, Position, Uncounted
from defiscope.protocols.events import EventStream
from defiscope.protocols.governors import governance_surface, streams_of
from defiscope.protocols.lending.rates import SECONDS_PER_YEAR, apr_to_apy
from defiscope.protocols.revenue import FeeShare
from defiscope.protocols.surface import ContractUse
from defiscope.protocols.yields import Yield, YieldGap, YieldKind, exact_decimal

#: Blocks whose yield gaps wait for `read` to collect them (a bound, for callers of `yields` alone).
MAX_PENDING_GAPS: Final = 64

__all__ = ["AAVE_V3", "A_TOKEN_PREFIX", "AaveV3Adapter", "registered_a_tokens"]


class AaveV3Adapter(Adapter):
    info = AAVE_V3

    def __init__(self, deployment: Deployment) -> None:
        super().__init__(deployment)
        if POOL not in deployment.contracts:
            raise AdapterError(f"aave-v3: no {POOL} on chain {deployment.chain_id} ({deployment.network})")
        self.markets = AaveMarket.all_of(deployment)
        self._gaps: dict[BlockRef, tuple[YieldGap, ...]] = {}  # per block read, until `read` collects them

    @property
    def market(self) -> AaveMarket:
        """The chain's main (Core) market."""
        return self.markets[0]

    def receipt_tokens(self) -> list[str]:
        known = {t.a_token for market in self.markets for t in market.tokens.values()}
        return sorted(known | set(registered_a_tokens(self.deployment)))

    def surface(self) -> tuple[ContractUse, ...]:
        return (*aave_surface(self.deployment), *governance_surface(self.deployment, self.info.slug))

    def found_contracts(self, block: int) -> dict[str, tuple[str, ...]] | None:
        """Every reserve's tokens learnt so far, by market, once every market's reserve list was read at ``block`` or
        later (reserves are only added: a later one has no code at ``block``, and the control surface leaves it
        out); the underlyings and price feeds too (dependencies)."""
        if any(m.listed_to is None or m.listed_to < block for m in self.markets):
            return None
        found: dict[str, tuple[str, ...]] = {}
        for market in self.markets:
            tokens = list(market.tokens.values())
            found[reserve_kind(A_TOKEN_KIND, market.name)] = tuple(t.a_token for t in tokens)
            found[reserve_kind(VARIABLE_DEBT_KIND, market.name)] = tuple(t.variable_debt_token for t in tokens)
            stable = tuple(t.stable_debt_token for t in tokens if t.has_stable_debt_token)
            found[reserve_kind(STABLE_DEBT_KIND, market.name)] = stable
        every = [t for market in self.markets for t in market.tokens.values()]
        found[UNDERLYING_KIND] = tuple(dict.fromkeys(t.asset for t in every))
        found[PRICE_SOURCE_KIND] = tuple(dict.fromkeys(t.price_source for t in every if int(t.price_source, 16)))
        return found

    def event_streams(self) -> Sequence[EventStream]:
        # Aave's governance (its short executor administers the Core market) is kept here.
        return streams_of(self.deployment, self.info.slug)

    async def _reserves(self, reader: Reader) -> list[tuple[AaveMarket, tuple[list[Reserve], list[UnreadReserve]]]]:
        try:
            found = await asyncio.gather(*(market.read_reserves(reader) for market in self.markets))
        except AaveError as exc:
            raise AdapterError(str(exc)) from None
        return list(zip(self.markets, found, strict=True))

    async def positions(self, reader: Reader) -> list[Position | Uncounted]:
        """Per reserve: what its aToken holds (tvl) and what is borrowed; a reserve that cannot be read is listed
        as not counted (both kinds) and the market's other reserves stand."""
        positions: list[Position | Uncounted] = []
        for market, (reserves, unread) in await self._reserves(reader):
            for reserve in reserves:
                label = f"{reserve.symbol} reserve ({market.name})"
                holder = reserve.tokens.a_token
                # What the aToken holds (v3.1+: its virtual balance): supplied minus borrowed, as DefiLlama counts.
                positions.append(Position(reserve.asset, reserve.available_liquidity, BalanceKind.TVL, holder, label))
                positions.append(Position(reserve.asset, reserve.total_debt, BalanceKind.BORROWED, holder, label))
            for failed in unread:
                t = failed.tokens
                label = f"{t.symbol} reserve ({market.name})"
                positions += [
                    Uncounted(t.a_token, t.asset, failed.reason, label, kind)
                    for kind in (BalanceKind.TVL, BalanceKind.BORROWED)
                ]
        return positions

    def yield_gaps(self, block: BlockRef) -> tuple[YieldGap, ...]:
        return self._gaps.pop(block, ())

    async def yields(self, reader: Reader) -> list[Yield]:
        """Per reserve: supply APR = currentLiquidityRate, borrow APR = currentVariableBorrowRate (ray, annual).

        APY compounds each every second, as Aave's interfaces show it (`lending.rates.apr_to_apy`). A market
        that cannot be read is a gap (its Pool, and why); the other markets' rates stand.
        """
        found = await asyncio.gather(*(market.reserves(reader) for market in self.markets), return_exceptions=True)
        rows: list[Yield] = []
        gaps: list[YieldGap] = []
        for market, reserves in zip(self.markets, found, strict=True):
            if isinstance(reserves, AaveError):
                gaps.append(YieldGap(self.info.slug, market.pool, reason=str(reserves)))
                continue
            if isinstance(reserves, BaseException):
                raise reserves
            for reserve in reserves:
                for kind, apr, field, fee_share in (
                    (YieldKind.SUPPLY, reserve.supply_apr, "currentLiquidityRate", None),
                    (
                        YieldKind.BORROW,
                        reserve.variable_borrow_apr,
                        "currentVariableBorrowRate",
                        _reserve_factor(reserve),
                    ),
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
                            fee_share,
                        )
                    )
        if not rows and gaps:  # nothing read at all: the whole protocol is the gap
            raise AdapterError("; ".join(g.reason for g in gaps))
        self._gaps[reader.block] = tuple(gaps)
        while len(self._gaps) > MAX_PENDING_GAPS:  # yields read without `read` collecting their gaps
            del self._gaps[next(iter(self._gaps))]
        return rows


def _reserve_factor(reserve: Reserve) -> FeeShare:
    """The treasury's share of the reserve's borrow interest: its reserve factor, from the configuration the
    rates were read with (`getReserveData`), so no call of its own."""
    call = f"getReserveData({reserve.symbol}).configuration bits 64-79 (reserve factor)"
    return FeeShare.read(AAVE_V3.slug, reserve.config.reserve_factor, call)
