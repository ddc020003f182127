"""The /v1 endpoints: protocols, chains, prices, health. Figures are exact decimal strings with their blocks.

GET /v1/protocols?chain=ethereum&sort=tvl&order=desc&limit=20
GET /v1/prices?tokens=ethereum:0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2
"""

# No `from __future__ import annotations`: FastAPI must evaluate the per-settings Query bounds in router().

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from defiscope.api import models as m
from defiscope.api import params, views
from defiscope.api import yields as yields_view
from defiscope.api.respond import JSON, cached, context, to_bytes
from defiscope.api.settings import ApiSettings
from defiscope.api.views import Interval, SortKey

Slug = Annotated[str, Path(max_length=100, pattern=r"^[A-Za-z0-9._-]+$", description="protocol slug")]
ChainParam = Annotated[str | None, Query(max_length=40, description="chain slug, alias or id (ethereum, bsc, 1)")]
Start = Annotated[int | None, Query(ge=0, description="unix seconds, inclusive")]
End = Annotated[int | None, Query(ge=0, description="unix seconds, inclusive; not in the future")]


def router(settings: ApiSettings) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["v1"], responses={404: {"model": m.Error}, 422: {"model": m.Error}})

    @api.get("/protocols", response_model=m.ProtocolPage, summary="Protocols by TVL, paginated")
    async def protocols(
        request: Request,
        limit: Annotated[int, Query(ge=1, le=settings.max_page_size)] = 50,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
        sort: SortKey = SortKey.TVL,
        order: Literal["asc", "desc"] = "desc",
        chain: ChainParam = None,
        category: Annotated[str | None, Query(max_length=60)] = None,
    ) -> Response:
        chain_id = None if chain is None else params.chain(chain, "chain").chain_id
        query = views.ProtocolQuery(limit, offset, sort, order == "desc", chain_id, category)
        return await cached(request, lambda: views.protocol_page(context(request), query))

    @api.get("/protocols/{slug}", response_model=m.ProtocolDetail, summary="One protocol: TVL now and breakdown")
    async def protocol(request: Request, slug: Slug) -> Response:
        return await cached(request, lambda: views.protocol_detail(context(request), slug))

    @api.get("/protocols/{slug}/tvl", response_model=m.ProtocolHistory, summary="A protocol's TVL history")
    async def protocol_tvl(
        request: Request,
        slug: Slug,
        chain: ChainParam = None,
        start: Start = None,
        end: End = None,
        interval: Interval = Interval.HOUR,
    ) -> Response:
        params.time_range(start, end)
        info = None if chain is None else params.chain(chain, "chain")
        return await cached(request, lambda: views.protocol_history(context(request), slug, info, start, end, interval))

    @api.get("/protocols/{slug}/explain", response_model=m.Explanation, summary="Provenance of a stored figure")
    async def protocol_explain(
        request: Request,
        slug: Slug,
        chain: ChainParam = None,
        block: Annotated[int | None, Query(ge=0, description="block number; default the latest stored")] = None,
    ) -> Response:
        info = None if chain is None else params.chain(chain, "chain")
        return await cached(request, lambda: views.protocol_explain(context(request), slug, info, block))

    @api.get("/chains", response_model=list[m.ChainSummary], summary="TVL per chain, each underlying once")
    async def chains(request: Request) -> Response:
        return await cached(request, lambda: views.chain_list(context(request)))

    @api.get("/chains/{chain}/tvl", response_model=m.ChainHistory, summary="A chain's TVL history")
    async def chain_tvl(
        request: Request,
        chain: Annotated[str, Path(max_length=40)],
        start: Start = None,
        end: End = None,
        interval: Interval = Interval.HOUR,
    ) -> Response:
        params.time_range(start, end)
        info = params.chain(chain, "chain")
        return await cached(request, lambda: views.chain_history(context(request), info, start, end, interval))

    @api.get("/prices", response_model=m.Prices, summary="Latest stored USD prices of tokens")
    async def prices(
        request: Request,
        tokens: Annotated[str, Query(max_length=100 * settings.max_tokens, description="chain:address,...")],
    ) -> Response:
        asked = [
            (t, *params.parse_token(t, "tokens")) for t in params.split_list(tokens, "tokens", settings.max_tokens)
        ]
        return await cached(request, lambda: views.prices(context(request), asked))

    @api.get("/prices/history", response_model=m.PriceHistory, summary="Stored prices of one token over time")
    async def price_history(
        request: Request,
        token: Annotated[str, Query(max_length=100, description="chain:address")],
        start: Start = None,
        end: End = None,
        limit: Annotated[int, Query(ge=1, le=10 * settings.max_page_size)] = 1000,
    ) -> Response:
        params.time_range(start, end)
        chain_id, address = params.parse_token(token, "token")
        return await cached(
            request, lambda: views.price_history(context(request), token, chain_id, address, start, end, limit)
        )

    @api.get("/yields", response_model=yields_view.Yields, summary="Supply, borrow and staking rates, latest block")
    async def yields(
        request: Request,
        chain: ChainParam = None,
        protocol: Annotated[str | None, Query(max_length=100, pattern=r"^[A-Za-z0-9._-]+$")] = None,
        kind: yields_view.KindParam | None = None,
    ) -> Response:
        chain_id = None if chain is None else params.chain(chain, "chain").chain_id
        return await cached(request, lambda: yields_view.yields(context(request), chain_id, protocol, kind))

    @api.get("/health", response_model=m.Health, summary="Per chain: last indexed block and lag")
    async def health(request: Request) -> Response:
        # Not cached: the lag grows with the clock, not with the blocks.
        body = to_bytes(await run_in_threadpool(views.health, context(request)))
        return Response(body, media_type=JSON, headers={"Cache-Control": "no-store"})

    return api
