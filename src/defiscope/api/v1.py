"""The /v1 endpoints: protocols, chains, prices, health. Figures are exact decimal strings with their blocks.

GET /v1/protocols?chain=ethereum&sort=tvl&order=desc&limit=20
GET /v1/prices?tokens=ethereum:0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2
GET /v1/quote?chain=1&sell=USDC&buy=WETH&amount=1000
GET /v1/indices/defi-pulse/history?chain=ethereum&from_block=100
GET /v1/risk/aave-v3?chain=ethereum
"""

# No `from __future__ import annotations`: FastAPI must evaluate the per-settings Query bounds in router().

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from functools import partial
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Path, Query
from starlette.requests import Request
from starlette.responses import Response

from defiscope.analytics.grades.published import MAX_SPLITS, MIN_SPLITS
from defiscope.api import governance as governance_view
from defiscope.api import grades as grades_view
from defiscope.api import health as health_view
from defiscope.api import indices as indices_view
from defiscope.api import models as m
from defiscope.api import params, quotes, views
from defiscope.api import risk as risk_view
from defiscope.api import yields as yields_view
from defiscope.api.errors import ApiError
from defiscope.api.respond import (
    JSON,
    cached,
    cached_async,
    context,
    entry_response,
    fresh_entry,
    index_now,
    to_bytes,
)
from defiscope.api.settings import ApiSettings
from defiscope.api.views import Interval, SortKey

Slug = Annotated[str, Path(max_length=100, pattern=r"^[A-Za-z0-9._-]+$", description="protocol slug")]
ChainParam = Annotated[str | None, Query(max_length=40, description="chain slug, alias or id (ethereum, bsc, 1)")]
Start = Annotated[int | None, Query(ge=0, le=params.MAX_STORED_INT, description="unix seconds, inclusive")]
End = Annotated[
    int | None, Query(ge=0, le=params.MAX_STORED_INT, description="unix seconds, inclusive; not in the future")
]
#: interval=block over more stored blocks than `ApiSettings.max_history_points`.
HISTORY_TOO_LONG: dict[int | str, dict[str, Any]] = {
    400: {"model": m.Error, "description": "interval=block over too many blocks: narrow start/end or use hour/day"}
}


IndexId = Annotated[str, Path(max_length=100, pattern=r"^[a-z0-9][a-z0-9-]*$", description="index id (defi-pulse)")]
IndexChain = Annotated[str, Query(max_length=40, description="chain slug, alias or id the index is tracked on")]
BlockParam = Annotated[int | None, Query(ge=0, le=params.MAX_STORED_INT, description="block number")]
#: Operations reached from an index listing with an item's id.
INDEX_OPERATIONS: Final = ("v1_index", "v1_index_history", "v1_index_holdings", "v1_index_backtest")

#: Operations reached from a protocol listing with an item's slug (OpenAPI links: clients and stateful
#: testers follow them).
PROTOCOL_OPERATIONS: Final = ("v1_protocol", "v1_protocol_tvl", "v1_protocol_explain")


def _links(pointer: str, parameter: str, operations: tuple[str, ...]) -> dict[str, Any]:
    """OpenAPI links passing `$response.body#/<pointer>` as `parameter` to each operation."""
    return {
        operation: {"operationId": operation, "parameters": {parameter: f"$response.body#/{pointer}"}}
        for operation in operations
    }


def router(settings: ApiSettings) -> APIRouter:
    deadline = settings.quote_deadline
    api = APIRouter(prefix="/v1", tags=["v1"], responses=m.COMMON_ERRORS)

    @api.get(
        "/protocols",
        response_model=m.ProtocolPage,
        summary="Protocols by TVL, paginated",
        responses={200: {"links": _links("items/0/slug", "slug", PROTOCOL_OPERATIONS)}},
    )
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

    @api.get(
        "/protocols/{slug}",
        response_model=m.ProtocolDetail,
        summary="One protocol: TVL now and breakdown",
        operation_id="v1_protocol",
    )
    async def protocol(request: Request, slug: Slug) -> Response:
        return await cached(request, lambda: views.protocol_detail(context(request), slug))

    @api.get(
        "/protocols/{slug}/tvl",
        operation_id="v1_protocol_tvl",
        response_model=m.ProtocolHistory,
        responses=HISTORY_TOO_LONG,
        summary="A protocol's TVL history",
    )
    async def protocol_tvl(
        request: Request,
        slug: Slug,
        chain: ChainParam = None,
        start: Start = None,
        end: End = None,
        interval: Interval = Interval.HOUR,
    ) -> Response:
        params.time_range(start, end, now=await index_now(request))
        info = None if chain is None else params.chain(chain, "chain")
        return await cached(request, lambda: views.protocol_history(context(request), slug, info, start, end, interval))

    @api.get(
        "/protocols/{slug}/explain",
        response_model=m.Explanation,
        summary="Provenance of a stored figure",
        operation_id="v1_protocol_explain",
    )
    async def protocol_explain(
        request: Request,
        slug: Slug,
        chain: ChainParam = None,
        block: Annotated[
            int | None, Query(ge=0, le=params.MAX_STORED_INT, description="block number; default the latest stored")
        ] = None,
    ) -> Response:
        info = None if chain is None else params.chain(chain, "chain")
        return await cached(request, lambda: views.protocol_explain(context(request), slug, info, block))

    @api.get(
        "/chains",
        response_model=list[m.ChainSummary],
        summary="TVL per chain, each underlying once",
        responses={200: {"links": _links("0/chain", "chain", ("v1_chain_tvl",))}},
    )
    async def chains(request: Request) -> Response:
        return await cached(request, lambda: views.chain_list(context(request)))

    @api.get(
        "/chains/{chain}/tvl",
        operation_id="v1_chain_tvl",
        response_model=m.ChainHistory,
        responses=HISTORY_TOO_LONG,
        summary="A chain's TVL history",
    )
    async def chain_tvl(
        request: Request,
        chain: Annotated[str, Path(max_length=40)],
        start: Start = None,
        end: End = None,
        interval: Interval = Interval.HOUR,
    ) -> Response:
        params.time_range(start, end, now=await index_now(request))
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
        params.time_range(start, end, now=await index_now(request))
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
        limit: Annotated[int, Query(ge=1, le=settings.max_page_size)] = min(
            yields_view.DEFAULT_PAGE, settings.max_page_size
        ),
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> Response:
        chain_id = None if chain is None else params.chain(chain, "chain").chain_id
        return await cached(
            request,
            lambda: yields_view.yields(context(request), chain_id, protocol, kind, limit=limit, offset=offset),
        )

    @api.get(
        "/quote",
        response_model=quotes.Quote,
        summary="Best exact-input swap route at the latest indexed block; with a recipient, the unsigned tx",
        responses={
            503: {
                "model": m.Error,
                "description": "the chain has no usable indexed block yet, too many quotes are in progress, or "
                "the quote passed its deadline (with Retry-After)",
            }
        },
    )
    async def quote(
        request: Request,
        chain: Annotated[str, Query(max_length=40, description="chain slug, alias or id", examples=["1"])],
        sell: Annotated[str, Query(max_length=64, description="token to sell: symbol or address", examples=["USDC"])],
        buy: Annotated[str, Query(max_length=64, description="token to buy: symbol or address", examples=["WETH"])],
        amount: Annotated[
            str, Query(max_length=80, description="token units to sell, plain decimal", examples=["1000"])
        ],
        routes: Annotated[int, Query(ge=1, le=5, description="split over at most this many routes")] = 1,
        slippage: Annotated[
            Decimal, Query(ge=0, le=50, max_digits=12, decimal_places=6, description="percent, for min_out")
        ] = Decimal("0.5"),
        recipient: Annotated[
            str | None, Query(max_length=42, description="build and simulate the swap for this address")
        ] = None,
    ) -> Response:
        ctx = context(request)
        if ctx.quote_slots.locked():  # every slot busy: refuse now rather than queue behind slow chain reads
            raise ApiError(503, None, "too many quotes in progress; retry shortly", {"Retry-After": quotes.RETRY_AFTER})
        query = quotes.QuoteQuery(
            quotes.quotable(ctx, chain),
            sell,
            buy,
            amount.strip(),
            routes,
            slippage,
            None if recipient is None else params.address(recipient, "recipient"),
        )
        async with ctx.quote_slots:
            try:
                quoted = cached_async(request, lambda: quotes.quote(ctx, query), stale=False)  # a quote is acted on
                return await asyncio.wait_for(quoted, deadline)
            except TimeoutError:
                raise ApiError(
                    503,
                    None,
                    f"the quote took longer than {deadline:g} s; retry shortly",
                    {"Retry-After": quotes.RETRY_AFTER},
                ) from None

    @api.get(
        "/governance/proposals",
        response_model=governance_view.Proposals,
        summary="Governance proposals with their state, votes, quorum and decoded, flagged actions",
    )
    async def governance_proposals(
        request: Request,
        chain: Annotated[str, Query(max_length=40, description="chain slug, alias or id")] = "ethereum",
        protocol: Annotated[
            str | None, Query(max_length=40, description="compound, uniswap (on chain and Snapshot), aave, lido")
        ] = None,
        state: Annotated[
            str | None, Query(max_length=20, description="one of the Governor's 8 states, or Closed (Snapshot)")
        ] = None,
        source: Annotated[
            Literal["chain", "snapshot", "all"],
            Query(description="chain: Governors' events; snapshot: Snapshot's off-chain votes (when enabled); all"),
        ] = "all",
    ) -> Response:
        chain_id = params.chain(chain, "chain").chain_id
        query = governance_view.query_of(protocol, state, source)
        ctx = context(request)
        build = partial(governance_view.proposals, ctx, chain_id, query)
        if governance_view.fresh(ctx, query):  # off-chain data changes without the blocks: no per-block cache
            return entry_response(fresh_entry(await _bytes(build()), request), request.headers.get("if-none-match"))
        return await cached_async(request, lambda: _bytes(build()))

    @api.get("/grades", response_model=grades_view.Grades, summary="Trader and investor grades as published")
    async def grades(
        request: Request,
        block: Annotated[
            int | None,
            Query(ge=0, le=params.MAX_STORED_INT, description="chain-1 block: as published at or before it"),
        ] = None,
    ) -> Response:
        return await grades_view.grades(request, block)

    @api.get(
        "/grades/evaluation",
        response_model=grades_view.Evaluation,
        summary="Walk-forward evaluation of the published grades (IC, hit rate, top-minus-bottom, deflated Sharpe)",
        responses={409: {"model": m.Error, "description": "the published history is too short to evaluate"}},
    )
    async def grade_evaluation(
        request: Request,
        splits: Annotated[
            int,
            Query(ge=MIN_SPLITS, le=MAX_SPLITS, description="walk-forward test blocks after the first window"),
        ] = 6,
    ) -> Response:
        return await grades_view.evaluation(request, splits)

    @api.get(
        "/grades/{slug}/history",
        response_model=grades_view.GradeHistory,
        summary="A graded protocol's trader and investor grades at every publication",
    )
    async def grade_history(request: Request, slug: Slug) -> Response:
        return await grades_view.history(request, slug)

    @api.get("/signals", response_model=grades_view.Signals, summary="Signals on grade transitions, newest first")
    async def signals(
        request: Request,
        slug: Annotated[str | None, Query(max_length=100, description="one graded protocol; default all")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> Response:
        return await grades_view.signals(request, slug, limit)

    @api.get(
        "/indices",
        response_model=indices_view.IndexList,
        summary="The indices, each with its status and latest stored value on the chain",
        responses={200: {"links": _links("items/0/id", "index_id", INDEX_OPERATIONS)}},
    )
    async def indices(request: Request, chain: IndexChain = "ethereum") -> Response:
        chain_id = params.chain(chain, "chain").chain_id
        return await _tracked(request, lambda: indices_view.index_list(context(request), chain_id))

    @api.get(
        "/indices/{index_id}",
        response_model=indices_view.IndexDetail,
        summary="One index: its definition, status and latest stored value",
        operation_id="v1_index",
    )
    async def index(request: Request, index_id: IndexId, chain: IndexChain = "ethereum") -> Response:
        chain_id = params.chain(chain, "chain").chain_id
        return await _tracked(request, lambda: indices_view.index_detail(context(request), index_id, chain_id))

    @api.get(
        "/indices/{index_id}/history",
        response_model=indices_view.IndexHistory,
        summary="An index's stored value per block, with the equal-weight and WETH benchmarks",
        operation_id="v1_index_history",
    )
    async def index_history(
        request: Request,
        index_id: IndexId,
        chain: IndexChain = "ethereum",
        from_block: BlockParam = None,
        to_block: BlockParam = None,
        limit: Annotated[int, Query(ge=1, le=settings.max_history_points, description="the newest N")] = (
            settings.max_history_points
        ),
    ) -> Response:
        chain_id = params.chain(chain, "chain").chain_id
        return await _tracked(
            request,
            lambda: indices_view.index_history(context(request), index_id, chain_id, from_block, to_block, limit),
        )

    @api.get(
        "/indices/{index_id}/holdings",
        response_model=indices_view.IndexHoldings,
        summary="An index's holdings (raw amounts and weights) at a block: the newest stored at or before it",
        operation_id="v1_index_holdings",
    )
    async def index_holdings(
        request: Request, index_id: IndexId, chain: IndexChain = "ethereum", block: BlockParam = None
    ) -> Response:
        chain_id = params.chain(chain, "chain").chain_id
        return await _tracked(request, lambda: indices_view.index_holdings(context(request), index_id, chain_id, block))

    @api.get(
        "/indices/{index_id}/backtest",
        summary="A backtest over the stored history (default all of it), trades quoted exactly at their blocks",
        operation_id="v1_index_backtest",
        responses={200: {"description": "the JSON of `defiscope indices backtest --json`"}},
    )
    async def index_backtest(
        request: Request,
        index_id: IndexId,
        chain: IndexChain = "ethereum",
        from_block: BlockParam = None,
        to_block: BlockParam = None,
    ) -> Response:
        chain_id = params.chain(chain, "chain").chain_id
        return await cached(
            request, lambda: indices_view.index_backtest(context(request), index_id, chain_id, from_block, to_block)
        )

    @api.get(
        "/risk/{slug}",
        summary="A protocol's risk profile as last scored: pillars, composite, admin chains, facts, change log",
        responses={200: {"description": "the JSON of `defiscope risk profile --json`"}},
    )
    async def risk(request: Request, slug: Slug, chain: IndexChain = "ethereum") -> Response:
        chain_id = params.chain(chain, "chain").chain_id
        return await _tracked(request, lambda: risk_view.profile(context(request), slug, chain_id))

    @api.get(
        "/risk/{slug}/score",
        summary="A protocol's stored risk score as the rules saw it: pillar rules and inputs, overrides, admin links",
        responses={200: {"description": "the score document behind `/v1/risk/{slug}` at the same block"}},
    )
    async def risk_score(request: Request, slug: Slug, chain: IndexChain = "ethereum") -> Response:
        chain_id = params.chain(chain, "chain").chain_id
        return await _tracked(request, lambda: risk_view.score(context(request), slug, chain_id))

    @api.get(
        "/risk/{slug}/history",
        response_model=risk_view.RiskHistory,
        summary="Every stored change of a protocol's risk score: block, input that changed, rule, before, after",
    )
    async def risk_history(
        request: Request,
        slug: Slug,
        chain: IndexChain = "ethereum",
        limit: Annotated[int, Query(ge=1, le=settings.max_history_points, description="the newest N")] = (
            settings.max_history_points
        ),
    ) -> Response:
        chain_id = params.chain(chain, "chain").chain_id
        return await _tracked(request, lambda: risk_view.history(context(request), slug, chain_id, limit))

    @api.get(
        "/health",
        response_model=m.Health,
        summary="Per chain: last indexed block, lag, and whether the index is stale",
        responses={503: {"model": m.Health, "description": "a chain's index is stale or catching up"}},
    )
    async def health(request: Request) -> Response:
        # Not cached: the lag grows with the clock, not with the blocks. From memory: the cache's view of the
        # latest stored blocks (re-read at most every version_ttl) and the live indexer's progress.
        ctx = context(request)
        await ctx.cache.version()
        answer = health_view.health(ctx, ctx.cache.blocks)
        headers = {"Cache-Control": "no-store"}
        if answer.status_code == 503:
            headers["Retry-After"] = health_view.RETRY_AFTER
        return Response(to_bytes(answer.body), status_code=answer.status_code, media_type=JSON, headers=headers)

    return api


async def _tracked(request: Request, build: Callable[[], Any]) -> Response:
    """Index values land after their block is indexed (serve's tracker runs behind the indexer): answered from
    the store each time, not from the per-block cache, which would keep a block's answer from before them."""
    body = await asyncio.to_thread(lambda: to_bytes(build()))
    return entry_response(fresh_entry(body, request), request.headers.get("if-none-match"))


async def _bytes(body: Awaitable[Any]) -> bytes:
    return to_bytes(await body)
