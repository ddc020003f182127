"""DefiLlama's coins API (coins.llama.fi): prices by `chain:address` or `coingecko:<id>`, and block lookup.

Shapes follow DefiLlama's coins API docs and its clients (the PyPI `defillama` client, `defillama-api` on
npm): `{"coins": {"<coin>": {decimals, symbol, price, timestamp, confidence}}}`. A `coingecko:<id>` coin is
the token of the served deployments with that CoinGecko id (DefiLlama gives such coins no `decimals`); coins
we do not know are left out of the answer, as DefiLlama leaves them out.

    GET /prices/current/{coins}?searchWidth=6h            GET /prices/historical/{timestamp}/{coins}
    GET /batchHistorical?coins={"coingecko:weth":[ts,..]}  GET /chart/{coins}?start=&end=&span=&period=
    GET /percentage/{coins}?timestamp=&lookForward=false&period=24h
    GET /prices/first/{coins}                              GET /block/{chain}/{timestamp}

Every read is bounded: at most `max_tokens` coins, `MAX_BATCH_POINTS` timestamps per batch, and chart
points capped and bucketed in SQL (`defiscope.api.reads`).
"""

# No `from __future__ import annotations`: FastAPI must evaluate the per-settings Query bounds in router().

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Query
from starlette.requests import Request
from starlette.responses import Response

from defiscope.api import params, reads
from defiscope.api.context import ApiContext
from defiscope.api.errors import ApiError
from defiscope.api.models import COMMON_ERRORS
from defiscope.api.respond import cached, cached_async, context, index_now, to_bytes
from defiscope.api.settings import ApiSettings
from defiscope.api.syncing import not_ready
from defiscope.chain.block import BlockRef
from defiscope.errors import DefiscopeError
from defiscope.prices.quote import PriceQuote

DAY: Final = 86_400
#: The widest searchWidth or period taken: ten years (wider windows would only make the query slower).
MAX_WIDTH: Final = 3650 * DAY
#: Timestamps in one /batchHistorical request, over all its coins.
MAX_BATCH_POINTS: Final = 500
#: DefiLlama's default /percentage period, and how far from each end a quote may be (a tenth of the period,
#: at least ten minutes).
DEFAULT_PERIOD: Final = "24h"
MIN_PERCENTAGE_WIDTH: Final = 600
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": DAY, "w": 7 * DAY}
_GECKO_ID: Final = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
GECKO_PREFIX: Final = "coingecko"

Coins = Annotated[
    str, Path(max_length=10_000, description="chain:address or coingecko:id, comma-separated (ethereum:0xC02a...)")
]


@dataclass(frozen=True, slots=True)
class Coin:
    asked: str  # the key of the answer: the coin as the client wrote it
    chain_id: int
    address: str
    by_gecko_id: bool  # asked as coingecko:<id> (DefiLlama gives those no decimals)


def width(value: str, field: str) -> int:
    """DefiLlama's searchWidth and period: "4h", "600" (seconds), "1d", "30m", "2w"; at most ten years."""
    raw = value.strip().lower()
    unit = _UNITS.get(raw[-1:], 1)
    number = raw[:-1] if raw[-1:] in _UNITS else raw
    expected = f"{value[:20]!r}: expected seconds or a number with s/m/h/d/w, e.g. 4h"
    if not number:
        raise ApiError(422, field, expected)
    try:
        count = params.digits(number, field, 0, MAX_WIDTH)
    except ApiError:
        raise ApiError(422, field, expected) from None
    if count * unit > MAX_WIDTH:
        raise ApiError(422, field, f"{value!r} is wider than {MAX_WIDTH // DAY} days")
    return count * unit


def coin(ctx: ApiContext, value: str, field: str) -> Coin | None:
    """One coin id; None for a `coingecko:` id no served token has (left out of the answer)."""
    text = value.strip()
    prefix, sep, rest = text.partition(":")
    if sep and prefix.lower() == GECKO_PREFIX:
        gecko_id = rest.strip()
        if not _GECKO_ID.match(gecko_id):
            raise ApiError(422, field, f"{text[:120]!r}: a CoinGecko id is lowercase letters, digits and -._")
        entry = ctx.tokens.by_gecko.get(gecko_id)
        return None if entry is None else Coin(text, entry.chain_id, entry.address, True)
    chain_id, address = params.parse_token(text, field)
    return Coin(text, chain_id, address, False)


def coin_list(ctx: ApiContext, value: str, field: str, limit: int) -> list[Coin]:
    found = (coin(ctx, item, field) for item in params.split_list(value, field, limit))
    return [c for c in found if c is not None]


def _described(ctx: ApiContext, c: Coin, doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` with the coin's symbol (and decimals, for chain:address coins) in front, as DefiLlama orders them."""
    entry = ctx.tokens.get(c.chain_id, c.address)
    if entry is None:
        return doc
    head: dict[str, Any] = (
        {"symbol": entry.symbol} if c.by_gecko_id else {"decimals": entry.decimals, "symbol": entry.symbol}
    )
    return {**head, **doc}


def _near(ctx: ApiContext, c: Coin, target: int, search: int) -> PriceQuote | None:
    """The newest stored quote at or before target + search, if it is within `search` seconds of target."""
    quote = ctx.repo.latest_price(c.chain_id, c.address, at=target + search)
    return quote if quote is not None and abs(quote.timestamp - target) <= search else None


def prices_at(ctx: ApiContext, coins: Sequence[Coin], at: int | None, search: int) -> dict[str, Any]:
    target = int(time.time()) if at is None else at
    out: dict[str, Any] = {}
    for c in coins:
        quote = ctx.repo.latest_price(c.chain_id, c.address) if at is None else _near(ctx, c, target, search)
        if quote is None or abs(quote.timestamp - target) > search:
            continue
        doc = {"price": float(quote.usd), "timestamp": quote.timestamp, "confidence": quote.confidence}
        out[c.asked] = _described(ctx, c, doc)
    return {"coins": out}


def batch(ctx: ApiContext, asked: Sequence[tuple[Coin, Sequence[int]]], search: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c, stamps in asked:
        found = [q for q in (_near(ctx, c, t, search) for t in stamps) if q is not None]
        points = [{"timestamp": q.timestamp, "price": float(q.usd), "confidence": q.confidence} for q in found]
        entry = ctx.tokens.get(c.chain_id, c.address)
        out[c.asked] = {"symbol": entry.symbol if entry else None, "prices": points}
    return {"coins": out}


def chart(
    ctx: ApiContext, coins: Sequence[Coin], start: int | None, end: int | None, span: int, period: int
) -> dict[str, Any]:
    """Stored quotes in [start, end]: the newest per `period` seconds (0: per timestamp), the most confident
    at that timestamp, at most the last `span` points — bucketed and limited in SQL."""
    out: dict[str, Any] = {}
    for c in coins:
        series = reads.price_series(ctx.repo, c.chain_id, c.address, start=start, end=end, period=period, limit=span)
        if not series:
            continue
        doc = {
            "confidence": min(q.confidence for q in series),
            "prices": [{"timestamp": q.timestamp, "price": float(q.usd)} for q in series],
        }
        entry = ctx.tokens.get(c.chain_id, c.address)
        out[c.asked] = {"symbol": entry.symbol if entry else None, **_described(ctx, c, doc)}
    return {"coins": out}


def percentage(ctx: ApiContext, coins: Sequence[Coin], at: int | None, forward: bool, period: int) -> dict[str, Any]:
    """Percent change of each coin's price over `period` ending (or, forward, starting) at `at`; a coin
    without a quote near both ends is left out (a change we cannot measure is not 0)."""
    anchor = int(time.time()) if at is None else at
    other = anchor + period if forward else anchor - period
    search = max(MIN_PERCENTAGE_WIDTH, period // 10)
    out: dict[str, Any] = {}
    for c in coins:
        first, last = (_near(ctx, c, t, search) for t in sorted((anchor, other)))
        if first is None or last is None or first.usd == 0:
            continue
        out[c.asked] = float((last.usd - first.usd) / first.usd * Decimal(100))
    return {"coins": out}


def first_prices(ctx: ApiContext, coins: Sequence[Coin]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in coins:
        quote = reads.first_price(ctx.repo, c.chain_id, c.address)
        if quote is not None:
            entry = ctx.tokens.get(c.chain_id, c.address)
            doc = {"price": float(quote.usd), "timestamp": quote.timestamp}
            out[c.asked] = {"symbol": entry.symbol if entry else None, **doc}
    return {"coins": out}


def batch_coins(ctx: ApiContext, raw: str, field: str, limit: int, now: int) -> list[tuple[Coin, list[int]]]:
    """/batchHistorical's `coins`: a JSON object of coin -> list of unix timestamps."""
    try:
        doc = json.loads(raw)
    except ValueError:
        raise ApiError(422, field, 'expected a JSON object like {"coingecko:ethereum": [1700000000]}') from None
    if not isinstance(doc, dict) or not doc:
        raise ApiError(422, field, 'expected a non-empty JSON object like {"coingecko:ethereum": [1700000000]}')
    if len(doc) > limit:
        raise ApiError(422, field, f"has {len(doc)} coins; at most {limit} per request")
    total = sum(len(v) if isinstance(v, list) else 1 for v in doc.values())
    if total > MAX_BATCH_POINTS:
        raise ApiError(422, field, f"has {total} timestamps; at most {MAX_BATCH_POINTS} per request")
    out = []
    for key, stamps in doc.items():
        if not isinstance(stamps, list) or not all(type(t) is int and 0 <= t <= params.MAX_STORED_INT for t in stamps):
            raise ApiError(422, field, f"{str(key)[:120]!r}: expected a list of unix timestamps (whole seconds)")
        params.time_range(max(stamps, default=None), None, start_field=field, now=now)
        found = coin(ctx, str(key), field)
        if found is not None:
            out.append((found, stamps))
    return out


async def closest_block(ctx: ApiContext, chain_id: int, timestamp: int) -> bytes:
    """DefiLlama's /block: the block closest in time. Among the stored blocks; refined block by block over
    RPC (a binary search between the stored neighbours) when this server reads the chain."""
    before, after = reads.blocks_around(ctx.repo, chain_id, timestamp)
    if before is None and after is None:
        missing = ApiError(404, "chain", f"no block of chain {chain_id} is stored")
        raise not_ready(ctx, "chain", f"chain {chain_id}") or missing
    exact = chain_id in ctx.quoting
    if exact and before is not None and after is not None and after.number - before.number > 1:
        try:
            before, after = await _bisect(ctx, chain_id, before, after, timestamp)
        except DefiscopeError as exc:
            raise ApiError(503, "chain", f"reading chain {chain_id} failed; try again later", detail=str(exc)) from exc
    candidates = [b for b in (before, after) if b is not None]
    best = min(candidates, key=lambda b: (abs(b.timestamp - timestamp), b.number))
    # Ours, beyond DefiLlama's fields: whether every block was considered or only the stored ones.
    return to_bytes({"height": best.number, "timestamp": best.timestamp, "among": "chain" if exact else "stored"})


async def _bisect(
    ctx: ApiContext, chain_id: int, low: BlockRef, high: BlockRef, timestamp: int
) -> tuple[BlockRef, BlockRef]:
    """Narrow (low: at or before `timestamp`, high: after it) to adjacent blocks: log2(gap) block reads."""
    client = ctx.quoting[chain_id].client
    while high.number - low.number > 1:
        middle = await client.block((low.number + high.number) // 2)
        low, high = (middle, high) if middle.timestamp <= timestamp else (low, middle)
    return low, high


def router(settings: ApiSettings) -> APIRouter:
    api = APIRouter(tags=["DefiLlama coins"], responses=COMMON_ERRORS)
    search_q = Annotated[str, Query(alias="searchWidth", max_length=12)]
    stamp = Annotated[int, Path(ge=0, le=params.MAX_STORED_INT)]
    most = settings.max_tokens
    points_cap = 10 * settings.max_page_size

    @api.get("/prices/current/{coins}", summary="DefiLlama coins: current prices")
    async def current(request: Request, coins: Coins, search_width: search_q = "6h") -> Response:
        ctx = context(request)
        asked, search = coin_list(ctx, coins, "coins", most), width(search_width, "searchWidth")
        return await cached(request, lambda: prices_at(ctx, asked, None, search))

    @api.get("/prices/historical/{timestamp}/{coins}", summary="DefiLlama coins: prices at a time")
    async def historical(request: Request, timestamp: stamp, coins: Coins, search_width: search_q = "6h") -> Response:
        params.time_range(timestamp, None, start_field="timestamp", now=await index_now(request))
        ctx = context(request)
        asked, search = coin_list(ctx, coins, "coins", most), width(search_width, "searchWidth")
        return await cached(request, lambda: prices_at(ctx, asked, timestamp, search))

    @api.get("/batchHistorical", summary="DefiLlama coins: prices of several coins at several times")
    async def batch_historical(
        request: Request,
        coins: Annotated[str, Query(max_length=40_000, description='JSON: {"coingecko:ethereum": [1700000000]}')],
        search_width: search_q = "600",
    ) -> Response:
        ctx = context(request)
        now = await index_now(request)
        asked, search = batch_coins(ctx, coins, "coins", most, now), width(search_width, "searchWidth")
        return await cached(request, lambda: batch(ctx, asked, search))

    @api.get("/chart/{coins}", summary="DefiLlama coins: price series")
    async def price_chart(
        request: Request,
        coins: Coins,
        start: Annotated[int | None, Query(ge=0, le=params.MAX_STORED_INT)] = None,
        end: Annotated[int | None, Query(ge=0, le=params.MAX_STORED_INT)] = None,
        span: Annotated[int, Query(ge=0, le=points_cap, description=f"points; 0: the most, {points_cap}")] = 0,
        period: Annotated[str, Query(max_length=12, description="one point per period, e.g. 2d, 1h")] = "0",
        search_width: search_q = "600",
    ) -> Response:
        params.time_range(start, end, now=await index_now(request))
        ctx = context(request)
        asked = coin_list(ctx, coins, "coins", most)
        step, _ = width(period, "period"), width(search_width, "searchWidth")
        return await cached(request, lambda: chart(ctx, asked, start, end, span or points_cap, step))

    @api.get("/percentage/{coins}", summary="DefiLlama coins: percent price change over a period")
    async def price_change(
        request: Request,
        coins: Coins,
        timestamp: Annotated[int | None, Query(ge=0, le=params.MAX_STORED_INT)] = None,
        look_forward: Annotated[bool, Query(alias="lookForward")] = False,
        period: Annotated[str, Query(max_length=12)] = DEFAULT_PERIOD,
    ) -> Response:
        params.time_range(timestamp, None, start_field="timestamp", now=await index_now(request))
        ctx = context(request)
        asked, seconds = coin_list(ctx, coins, "coins", most), width(period, "period")
        return await cached(request, lambda: percentage(ctx, asked, timestamp, look_forward, seconds))

    @api.get("/prices/first/{coins}", summary="DefiLlama coins: the earliest stored price")
    async def first(request: Request, coins: Coins) -> Response:
        ctx = context(request)
        asked = coin_list(ctx, coins, "coins", most)
        return await cached(request, lambda: first_prices(ctx, asked))

    @api.get("/block/{chain}/{timestamp}", summary="DefiLlama coins: the block closest to a time")
    async def block(request: Request, chain: Annotated[str, Path(max_length=40)], timestamp: stamp) -> Response:
        params.time_range(timestamp, None, start_field="timestamp", now=await index_now(request))
        ctx = context(request)
        chain_id = params.chain(chain, "chain").chain_id
        return await cached_async(request, lambda: closest_block(ctx, chain_id, timestamp))

    return api
