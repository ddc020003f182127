"""CoinGecko-compatible endpoints under /api/v3, for clients such as pycoingecko.

Shapes follow CoinGecko's API v3 reference (docs.coingecko.com/v3.0.1/reference): /simple/price gives
`{"<id>": {"usd": 3141.5, "last_updated_at": 1700000000}}`, /simple/token_price/{platform} keys by lowercase
contract address, /coins/markets a list of market rows, /coins/{id}/market_chart `{"prices": [[ms, price]],
"market_caps": [...], "total_volumes": [...]}`. Only "usd" is quoted; other currencies are left out of the
answer, as CoinGecko leaves out what it cannot quote. Market caps and volumes are not known on chain: null
in rows, empty series in charts.

Ids come from the deployments' `coingecko_id` (devnet tokens take their mainnet twin's id).
"""

# No `from __future__ import annotations`: FastAPI must evaluate the per-settings Query bounds in router().

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Query
from starlette.requests import Request
from starlette.responses import Response

from defiscope.api import params, reads
from defiscope.api.context import ApiContext, TokenEntry
from defiscope.api.errors import ApiError
from defiscope.api.models import COMMON_ERRORS
from defiscope.api.respond import JSON, cached, context, to_bytes
from defiscope.api.settings import ApiSettings
from defiscope.prices.quote import PriceQuote

#: CoinGecko's asset-platform ids of our chains.
PLATFORMS: Final = {
    "ethereum": 1,
    "binance-smart-chain": 56,
    "arbitrum-one": 42161,
    "optimistic-ethereum": 10,
    "base": 8453,
    "polygon-pos": 137,
}
DAY: Final = 86_400
#: Points of one market chart at most (the newest): 90 days hourly fit, as does a decade daily.
MAX_CHART_POINTS: Final = 4000
#: The longest `days` taken other than "max" (a hundred years).
MAX_DAYS: Final = 36_500


def _currencies(value: str) -> list[str]:
    return [c.strip().lower() for c in value.split(",") if c.strip()]


def _quote(ctx: ApiContext, entry: TokenEntry, at: int | None = None) -> PriceQuote | None:
    return ctx.repo.latest_price(entry.chain_id, entry.address, at=at)


def _simple(quote: PriceQuote, currencies: Sequence[str], last_updated: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {"usd": float(quote.usd)} if "usd" in currencies else {}
    if last_updated:
        doc["last_updated_at"] = quote.timestamp
    return doc


def simple_price(ctx: ApiContext, ids: Sequence[str], currencies: Sequence[str], last_updated: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for coin in ids:
        entry = ctx.tokens.by_gecko.get(coin)
        quote = None if entry is None else _quote(ctx, entry)
        if quote is not None:
            out[coin] = _simple(quote, currencies, last_updated)
    return out


def token_price(
    ctx: ApiContext, chain_id: int, addresses: Sequence[str], currencies: Sequence[str], last_updated: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for address in addresses:
        quote = ctx.repo.latest_price(chain_id, address)
        if quote is not None:
            out[address.lower()] = _simple(quote, currencies, last_updated)
    return out


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def markets(ctx: ApiContext, ids: Sequence[str] | None, per_page: int, page: int) -> list[dict[str, Any]]:
    chosen = sorted(ctx.tokens.by_gecko) if ids is None else [i for i in ids if i in ctx.tokens.by_gecko]
    rows = []
    for coin in chosen:
        entry = ctx.tokens.by_gecko[coin]
        quote = _quote(ctx, entry)
        if quote is None:
            continue
        before = _quote(ctx, entry, at=quote.timestamp - DAY)
        change = None if before is None else float(quote.usd - before.usd)
        pct = None if before is None or before.usd == 0 else float((quote.usd - before.usd) / before.usd * 100)
        rows.append(
            {
                "id": coin,
                "symbol": entry.symbol.lower(),
                "name": entry.symbol,
                "image": None,
                "current_price": float(quote.usd),
                "market_cap": None,
                "market_cap_rank": None,
                "fully_diluted_valuation": None,
                "total_volume": None,
                "high_24h": None,
                "low_24h": None,
                "price_change_24h": change,
                "price_change_percentage_24h": pct,
                "last_updated": _iso(quote.timestamp),
            }
        )
    start = (page - 1) * per_page
    return rows[start : start + per_page]


def chart_period(days: int | None, span: int) -> int:
    """CoinGecko's granularity by range: 1 day 5-minutely, up to 90 days hourly, beyond daily. For
    days=max the range is the stored one (`span` seconds)."""
    seconds = span if days is None else days * DAY
    return 300 if seconds <= DAY else 3600 if seconds <= 90 * DAY else DAY


def market_chart(ctx: ApiContext, coin: str, days: int | None) -> dict[str, Any]:
    entry = ctx.tokens.by_gecko.get(coin)
    if entry is None:
        raise ApiError(404, "id", f"coin {coin!r} not found; known: {', '.join(sorted(ctx.tokens.by_gecko))}")
    start = None if days is None else int(time.time()) - days * DAY
    span = reads.price_span(ctx.repo, entry.chain_id, entry.address, start) if days is None else 0
    series = reads.price_series(
        ctx.repo,
        entry.chain_id,
        entry.address,
        start=start,
        end=None,
        period=chart_period(days, span),
        limit=MAX_CHART_POINTS,
    )
    return {
        "prices": [[q.timestamp * 1000, float(q.usd)] for q in series],
        "market_caps": [],
        "total_volumes": [],
    }


def router(settings: ApiSettings) -> APIRouter:
    api = APIRouter(prefix="/api/v3", tags=["CoinGecko-compatible"], responses=COMMON_ERRORS)
    Currencies = Annotated[str, Query(max_length=200)]  # noqa: N806  (a type alias)
    LastUpdated = Annotated[bool, Query()]  # noqa: N806

    @api.get("/ping", summary="CoinGecko: server status")
    async def ping() -> Response:
        return Response(to_bytes({"gecko_says": "(V3) To the Moon!"}), media_type=JSON)

    @api.get("/simple/price", summary="CoinGecko: prices by coin id")
    async def gecko_simple_price(
        request: Request,
        ids: Annotated[str, Query(max_length=100 * settings.max_tokens)],
        vs_currencies: Currencies,
        include_last_updated_at: LastUpdated = False,
    ) -> Response:
        coins = params.split_list(ids, "ids", settings.max_tokens)
        currencies = _currencies(vs_currencies)
        return await cached(request, lambda: simple_price(context(request), coins, currencies, include_last_updated_at))

    @api.get("/simple/token_price/{platform}", summary="CoinGecko: prices by contract address")
    async def gecko_token_price(
        request: Request,
        platform: Annotated[str, Path(max_length=40)],
        contract_addresses: Annotated[str, Query(max_length=50 * settings.max_tokens)],
        vs_currencies: Currencies,
        include_last_updated_at: LastUpdated = False,
    ) -> Response:
        chain_id = PLATFORMS.get(platform)
        if chain_id is None:
            raise ApiError(404, "platform", f"unknown platform {platform!r}; known: {', '.join(PLATFORMS)}")
        addresses = [
            params.address(a, "contract_addresses")
            for a in params.split_list(contract_addresses, "contract_addresses", settings.max_tokens)
        ]
        currencies = _currencies(vs_currencies)
        return await cached(
            request,
            lambda: token_price(context(request), chain_id, addresses, currencies, include_last_updated_at),
        )

    @api.get("/coins/markets", summary="CoinGecko: market rows")
    async def gecko_markets(
        request: Request,
        vs_currency: Annotated[str, Query(max_length=20)],
        ids: Annotated[str | None, Query(max_length=100 * settings.max_tokens)] = None,
        per_page: Annotated[int, Query(ge=1, le=250)] = 100,
        page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    ) -> Response:
        if vs_currency.lower() != "usd":
            raise ApiError(422, "vs_currency", f"only usd is quoted, not {vs_currency!r}")
        coins = None if ids is None else params.split_list(ids, "ids", settings.max_tokens)
        return await cached(request, lambda: markets(context(request), coins, per_page, page))

    @api.get("/coins/{id}/market_chart", summary="CoinGecko: price series of a coin")
    async def gecko_market_chart(
        request: Request,
        coin: Annotated[str, Path(alias="id", max_length=100)],
        vs_currency: Annotated[str, Query(max_length=20)],
        days: Annotated[str, Query(max_length=10, description="a number of days, or max")],
    ) -> Response:
        if vs_currency.lower() != "usd":
            raise ApiError(422, "vs_currency", f"only usd is quoted, not {vs_currency!r}")
        span = None if days == "max" else params.digits(days, "days", 1, MAX_DAYS)
        return await cached(request, lambda: market_chart(context(request), coin, span))

    return api
