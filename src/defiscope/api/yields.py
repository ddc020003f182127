"""GET /v1/yields: the stored supply, borrow, staking and LP fee rates of the newest indexed block per protocol.

    GET /v1/yields?chain=ethereum&protocol=aave-v3&kind=supply
    {"items": [{"protocol": "aave-v3", "symbol": "WETH", "kind": "supply", "apr": "0.0123...",
                "apy": "0.0124...", "block": {"chain": "ethereum", "number": 123, ...}, ...}]}

APR and APY are exact decimal strings (1 = 100 %); each row names the block it was read at.
Lido's staking APR is computed from the stored oracle reports (`api.staking`), with the fee share the adapter's
stored rate carries (`protocol_share`: `getFee()` of 10,000); a rate that cannot be given
is listed under `unavailable` with the reason, never as 0 — and never as an older block's rate: a market
the newest block could not read is listed there with that block, market and symbol ("*" when the
protocol's rates could not be read at all):

    {"items": [...], "unavailable": [{"protocol": "uniswap-v2", "market": "0x…", "symbol": "WETH-USDC",
      "kind": "lp_fee", "reason": "at block 123: no liquidity", "block": {"number": 123, ...}, ...}]}
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Final

from pydantic import Field

from defiscope.api import models as m
from defiscope.api import staking
from defiscope.api.context import ApiContext
from defiscope.api.errors import ApiError
from defiscope.api.views import block_model, chain_slug, dec
from defiscope.protocols.revenue import FeeShare
from defiscope.protocols.yields import Yield, YieldKind
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
    report: staking.ReportRef | None = Field(default=None, description="staking: the newest oracle report used")


class UnavailableYield(m._Model):
    """A rate that cannot be given, and why (never a 0 in its place): Lido's `staking.Unavailable` fields,
    plus the market, symbol and block when the newest indexed block could not read a stored rate."""

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
    latest = ctx.repo.latest_yields_and_gaps(chain_id=chain_id, protocol=protocol)
    lido, lido_unavailable = _lido(ctx, chain_id, protocol, kind, latest.rates)
    rows = [s for s in latest.rates if not _is_lido_staking(s.rate)]
    # Lido's staking rate and its gap are said once, by `_lido` (from the stored reports).
    gaps = [s for s in latest.gaps if (s.gap.protocol, s.gap.kind) != (staking.LIDO, YieldKind.STAKING)]
    unavailable = [_gap(s) for s in gaps if kind is None or s.gap.kind in (None, kind.value)]
    unavailable += [UnavailableYield.model_validate(u.model_dump()) for u in lido_unavailable]
    items = [
        YieldItem(
            protocol=s.rate.protocol,
            name=ctx.info(s.rate.protocol).name,
            market=s.rate.market,
            asset=s.rate.asset,
            symbol=s.rate.symbol,
            kind=KindParam(s.rate.kind.value),
            apr=dec(s.rate.apr),
            apy=dec(s.rate.apy),
            method=s.rate.method,
            protocol_share=_share(s.rate.fee_share),
            protocol_share_source=_source(s.rate.fee_share),
            block=block_model(s.block),
        )
        for s in rows
        if kind is None or s.rate.kind.value == kind.value
    ] + lido
    return Yields(
        items=items[offset : offset + limit],
        unavailable=unavailable,
        total=len(items),
        offset=offset,
        limit=limit,
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


def _is_lido_staking(rate: Yield) -> bool:
    return (rate.protocol, rate.kind) == (staking.LIDO, YieldKind.STAKING)


def _lido(
    ctx: ApiContext, chain_id: int | None, protocol: str | None, kind: KindParam | None, stored: Sequence[StoredYield]
) -> tuple[list[YieldItem], list[staking.Unavailable]]:
    """Lido's staking APR, computed from the stored oracle reports (see `api.staking`) with the report it rests on;
    the adapter's stored rate of the same reports gives it the fee share read with it (served once, here)."""
    if kind not in (None, KindParam.STAKING) or protocol not in (None, staking.LIDO):
        return [], []
    rates, unavailable = staking.lido_aprs(ctx, ctx.deployments if chain_id is None else [chain_id])
    shares = {s.block.chain_id: s.rate.fee_share for s in stored if _is_lido_staking(s.rate)}
    items = [
        YieldItem(
            protocol=staking.LIDO,
            name=ctx.info(staking.LIDO).name,
            market=r.steth,
            asset=r.steth,
            symbol="stETH",
            kind=KindParam.STAKING,
            apr=dec(r.apr),
            apy=dec(r.apy),
            method=staking.METHOD,
            protocol_share=_share(shares.get(r.chain_id)),
            protocol_share_source=_source(shares.get(r.chain_id)),
            block=block_model(r.block),
            report=r.report,
        )
        for r in rates
    ]
    return items, unavailable
