"""GET /v1/yields: the stored supply, borrow, staking and LP fee rates of the newest indexed block per protocol.

    GET /v1/yields?chain=ethereum&protocol=aave-v3&kind=supply
    {"items": [{"protocol": "aave-v3", "symbol": "WETH", "kind": "supply", "apr": "0.0123...",
                "apy": "0.0124...", "block": {"chain": "ethereum", "number": 123, ...}, ...}]}

APR and APY are exact decimal strings (1 = 100 %); each row names the block it was read at. Every row is the
stored row, Lido's staking rate included (the indexer stores it per block from TokenRebased, with its fee share);
a Lido row also names the newest stored oracle report its moving average rests on (`report`, `api.staking`).
A rate that cannot be given is listed under `unavailable` with the reason, never as 0 — and never as an older
block's rate: a market the newest block could not read is listed there with that block, market and symbol ("*"
when the protocol's rates could not be read at all):

    {"items": [...], "unavailable": [{"protocol": "uniswap-v2", "market": "0x…", "symbol": "WETH-USDC",
      "kind": "lp_fee", "reason": "at block 123: no liquidity", "block": {"number": 123, ...}, ...}]}
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from pydantic import Field

from defiscope.api import models as m
from defiscope.api import staking
from defiscope.api.context import ApiContext
from defiscope.api.errors import ApiError
from defiscope.api.views import block_model, chain_slug, dec
from defiscope.protocols.revenue import FeeShare
from defiscope.protocols.yields import YieldKind
from defiscope.store.yields import StoredYield, StoredYieldGap


class KindParam(StrEnum):
    """The `kind` filter (OpenAPI enum): `protocols.yields.YieldKind`'s values."""

    SUPPLY = YieldKind.SUPPLY.value
    BORROW = YieldKind.BORROW.value
    STAKING = YieldKind.STAKING.value
    LP_FEE = YieldKind.LP_FEE.value


class YieldItem(m._Model):
    protocol: str
    name: str
    market: str = Field(description="pool, cToken, Comet, staking contract or DEX pool address")
    asset: str = Field(description="address of the asset supplied, borrowed or staked; for lp_fee, the LP token")
    symbol: str
    kind: KindParam
    apr: m.Usd = Field(description="simple annual rate, exact decimal string (1 = 100 %)")
    apy: m.Usd = Field(description="the APR compounded as the protocol compounds it, exact decimal string")
    method: str = Field(description="how the rate was computed from the contracts")
    protocol_share: str | None = Field(
        default=None,
        description="the protocol's share of the fees this rate pays (a reserve factor, a pool's protocol fee), an "
        "exact fraction such as '1/10', read from its knob at the rate's block; null where no knob splits the rate "
        "(supply rates) or the read failed (then protocol_share_source says why)",
    )
    protocol_share_source: str | None = Field(
        default=None, description="the knob's call and raw value, or why it could not be read"
    )
    block: m.Block
    report: staking.ReportRef | None = Field(
        default=None,
        description="Lido's staking rate: the newest stored oracle report it rests on (null when the reports are not "
        "stored: an indexer without Lido's event stream)",
    )


class UnavailableYield(m._Model):
    """A rate that cannot be given, and why (never a 0 in its place): the stored gap of the newest indexed block,
    with its market, symbol and block."""

    protocol: str
    chain: str
    chain_id: int
    kind: str | None = Field(description="the missing rate's kind; null when every rate of the protocol is")
    reason: str
    market: str | None = Field(default=None, description='the market whose rate is missing; "*" for all of them')
    asset: str | None = Field(default=None, description="the asset, when known")
    symbol: str | None = Field(default=None, description="the market's symbol, when known")
    block: m.Block | None = Field(default=None, description="the newest indexed block, which could not read it")


#: Rates per page unless `limit` says otherwise; the most a page holds is the API's `max_page_size`.
DEFAULT_PAGE: Final = 500


class Yields(m._Model):
    items: list[YieldItem] = Field(description="one page of rates: `offset` .. `offset + limit`")
    unavailable: list[UnavailableYield] = Field(default=[], description="rates that cannot be given, and why")
    total: int = Field(description="rates in all pages")
    offset: int
    limit: int


def yields(
    ctx: ApiContext,
    chain_id: int | None,
    protocol: str | None,
    kind: KindParam | None,
    *,
    limit: int = DEFAULT_PAGE,
    offset: int = 0,
) -> Yields:
    if protocol is not None and protocol not in ctx.infos:
        raise ApiError(404, "protocol", f"unknown protocol {protocol!r}")
    page = ctx.repo.latest_yields_page(
        chain_id, protocol, None if kind is None else YieldKind(kind.value), offset=offset, limit=limit
    )
    return Yields(
        items=[_item(ctx, s) for s in page.rates],
        unavailable=[_gap(s) for s in page.gaps],
        total=page.total,
        offset=offset,
        limit=limit,
    )


def _item(ctx: ApiContext, stored: StoredYield) -> YieldItem:
    rate = stored.rate
    return YieldItem(
        protocol=rate.protocol,
        name=ctx.info(rate.protocol).name,
        market=rate.market,
        asset=rate.asset,
        symbol=rate.symbol,
        kind=KindParam(rate.kind.value),
        apr=dec(rate.apr),
        apy=dec(rate.apy),
        method=rate.method,
        protocol_share=_share(rate.fee_share),
        protocol_share_source=_source(rate.fee_share),
        block=block_model(stored.block),
        report=staking.report_ref(ctx, stored),
    )


def _share(fee_share: FeeShare | None) -> str | None:
    return None if fee_share is None or fee_share.share is None else str(fee_share.share)


def _source(fee_share: FeeShare | None) -> str | None:
    return None if fee_share is None else fee_share.source


def _gap(stored: StoredYieldGap) -> UnavailableYield:
    gap, block = stored.gap, stored.block
    return UnavailableYield(
        protocol=gap.protocol,
        chain=chain_slug(block.chain_id),
        chain_id=block.chain_id,
        kind=None if gap.kind is None else gap.kind.value,
        reason=gap.reason,
        market=gap.market,
        asset=gap.asset or None,
        symbol=gap.symbol or None,
        block=block_model(block),
    )
