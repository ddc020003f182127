"""DefiLlama-compatible endpoints: same paths, parameters and JSON shapes as api.llama.fi / coins.llama.fi.

Shapes follow DefiLlama's public API docs (https://defillama.com/docs/api) and its clients (the PyPI
`defillama` client's endpoint list; DefiLlama/fees-server `src/utils/prices.ts` for the coins shape
`{"coins": {"ethereum:0x..": {decimals, price, symbol, timestamp, confidence}}}`). USD values are JSON
numbers, as DefiLlama sends them; exact strings are on /v1. Fields we have no data for (logos, market caps,
social links) are null, never invented.

    GET /protocols                 GET /protocol/{slug}        GET /tvl/{slug}
    GET /v2/chains                 GET /v2/historicalChainTvl  GET /v2/historicalChainTvl/{chain}
The coins API (/prices, /chart, /batchHistorical, /percentage, /block) is in `defiscope.api.coins`.
"""

# No `from __future__ import annotations`: FastAPI must evaluate the per-settings Query bounds in router().

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Annotated, Any, Final

from fastapi import APIRouter, Path
from starlette.requests import Request
from starlette.responses import Response

from defiscope.analytics.rankings import ProtocolRow
from defiscope.api import params, reads, views
from defiscope.api.context import ApiContext
from defiscope.api.models import COMMON_ERRORS
from defiscope.api.respond import cached, context
from defiscope.api.settings import ApiSettings
from defiscope.chain.registry import CHAINS, ChainInfo
from defiscope.protocols.base import BalanceKind
from defiscope.store import ChainPoint, HistoryPoint
from defiscope.tvl.explain import not_counted_doc
from defiscope.tvl.model import ProtocolSnapshot, not_counted_summary

#: DefiLlama's display names of our chains (their /v2/chains "name"; coins keys use our slugs).
LLAMA_NAMES: Final = {1: "Ethereum", 56: "BSC", 42161: "Arbitrum", 10: "Optimism", 8453: "Base", 137: "Polygon"}
#: CoinGecko ids and symbols of the chains' gas tokens, as /v2/chains gives them.
GAS: Final = {
    1: ("ethereum", "ETH"),
    56: ("binancecoin", "BNB"),
    42161: ("arbitrum", "ARB"),
    10: ("optimism", "OP"),
    8453: (None, None),
    137: ("matic-network", "POL"),
}
DAY: Final = 86_400
#: Daily series (a protocol's, the chains') end with the newest ten years: bounded in SQL, as every history.
MAX_DAYS: Final = 3650
#: DefiLlama's default searchWidth for /prices/current is 6h (4h in older clients).
DEFAULT_WIDTH: Final = 6 * 3600
Slug = Annotated[str, Path(max_length=100, pattern=r"^[A-Za-z0-9._-]+$")]
Coins = Annotated[str, Path(max_length=10_000, description="chain:address,... e.g. ethereum:0xC02a...")]


def llama_chain(chain_id: int) -> str:
    return LLAMA_NAMES.get(chain_id) or (CHAINS[chain_id].display_name if chain_id in CHAINS else str(chain_id))


def _f(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _chain_tvls(row: ProtocolRow, snaps: Sequence[ProtocolSnapshot]) -> dict[str, float]:
    """DefiLlama's flat map: "Ethereum", "Ethereum-borrowed", ..., and the kind totals "borrowed", ..."""
    out: dict[str, float] = {}
    for s in snaps:
        name = llama_chain(s.chain_id)
        out[name] = float(s.total(BalanceKind.TVL))
        for kind in (BalanceKind.BORROWED, BalanceKind.STAKING, BalanceKind.POOL2):
            if any(t.kind is kind for t in s.tokens):
                out[f"{name}-{kind.value}"] = float(s.total(kind))
                out[kind.value] = out.get(kind.value, 0.0) + float(s.total(kind))
    return out


def _listing(ctx: ApiContext, row: ProtocolRow, snaps: Sequence[ProtocolSnapshot]) -> dict[str, Any]:
    info = ctx.info(row.slug)
    chains = [llama_chain(s.chain_id) for s in snaps]
    return {
        "id": row.slug,
        "name": row.name,
        "address": None,
        "symbol": "-",
        "url": info.url or None,
        "description": info.methodology,
        "chain": chains[0] if len(chains) == 1 else "Multi-Chain",
        "logo": None,
        "audits": "0",
        "audit_note": None,
        "gecko_id": None,
        "cmcId": None,
        "category": row.category,
        "chains": chains,
        "module": "defiscope",
        "twitter": None,
        "forkedFrom": [],
        "oracles": [],
        "listedAt": None,
        "methodology": info.methodology,
        "slug": row.slug,
        "tvl": float(row.tvl_usd),
        "chainTvls": _chain_tvls(row, snaps),
        "change_1h": _f(row.change.get("1h")),
        "change_1d": _f(row.change.get("1d")),
        "change_7d": _f(row.change.get("7d")),
        "tokenBreakdowns": {},
        "mcap": None,
        # Ours, beyond DefiLlama's fields: the blocks every figure was read at, and what was not counted.
        "blocks": {llama_chain(s.chain_id): s.block.number for s in snaps},
        "notCounted": not_counted_summary(u for s in snaps for u in s.uncounted),
        "notCountedCount": sum(len(s.uncounted) for s in snaps),
    }


def protocols(ctx: ApiContext) -> list[dict[str, Any]]:
    rows, snapshots = views.ranked(ctx)
    return [_listing(ctx, r, [s for s in snapshots if s.slug == r.slug]) for r in rows]


def _daily(points: Iterable[HistoryPoint], kind: BalanceKind) -> list[dict[str, Any]]:
    """One point per UTC day (each chain's last stored block of the day, summed), dated at the day start;
    the last point is the latest figure itself, as DefiLlama's series ends "now"."""
    days: dict[int, dict[int, HistoryPoint]] = {}
    for p in points:
        days.setdefault(p.block.timestamp - p.block.timestamp % DAY, {})[p.block.chain_id] = p
    return [
        {"date": d, "totalLiquidityUSD": float(sum(p.total(kind) for p in last.values()))}
        for d, last in sorted(days.items())
    ]


def protocol(ctx: ApiContext, slug: str) -> dict[str, Any]:
    rows, snapshots = views.ranked(ctx)
    row = next((r for r in rows if r.slug == slug), None)
    if row is None:
        raise views.unknown_protocol(ctx, slug)
    snaps = [s for s in snapshots if s.slug == slug]
    doc = _listing(ctx, row, snaps)
    history = reads.protocol_points(ctx.repo, slug, None, None, None, width=DAY, limit=MAX_DAYS)
    chain_tvls: dict[str, Any] = {}
    for s in snaps:
        name = llama_chain(s.chain_id)
        points = [p for p in history if p.block.chain_id == s.chain_id]
        chain_tvls[name] = _series(points, [s], BalanceKind.TVL)
        for kind in (BalanceKind.BORROWED, BalanceKind.STAKING, BalanceKind.POOL2):
            if any(t.kind is kind for t in s.tokens):
                chain_tvls[f"{name}-{kind.value}"] = _series(points, [s], kind)
    doc.pop("chainTvls")
    doc.update(
        notCountedPositions=[
            {"chain": llama_chain(s.chain_id), **not_counted_doc(u)} for s in snaps for u in s.uncounted
        ],
        currentChainTvls=_chain_tvls(row, snaps),
        chainTvls=chain_tvls,
        **_series(history, snaps, BalanceKind.TVL),
    )
    return doc


def _series(points: Sequence[HistoryPoint], latest: Sequence[ProtocolSnapshot], kind: BalanceKind) -> dict[str, Any]:
    """{tvl, tokensInUsd, tokens}: the TVL series, and the token breakdown at the latest block."""
    date = max(s.block.timestamp for s in latest)
    in_usd: dict[str, float] = {}
    amounts: dict[str, float] = {}
    for s in latest:
        for t in s.tokens:
            if t.kind is kind and t.value_usd is not None:
                in_usd[t.symbol] = in_usd.get(t.symbol, 0.0) + float(t.value_usd)
                amounts[t.symbol] = amounts.get(t.symbol, 0.0) + t.amount / 10**t.decimals
    return {
        "tvl": _daily(points, kind),
        "tokensInUsd": [{"date": date, "tokens": in_usd}],
        "tokens": [{"date": date, "tokens": amounts}],
    }


def tvl(ctx: ApiContext, slug: str) -> float:
    rows, _ = views.ranked(ctx)
    row = next((r for r in rows if r.slug == slug), None)
    if row is None:
        raise views.unknown_protocol(ctx, slug)
    return float(row.tvl_usd)


def chains(ctx: ApiContext) -> list[dict[str, Any]]:
    out = []
    for c in views.chain_list(ctx):
        gecko, symbol = GAS.get(c.chain_id, (None, None))
        out.append(
            {
                "gecko_id": gecko,
                "tvl": float(c.tvl_usd),
                "tokenSymbol": symbol,
                "cmcId": None,
                "name": llama_chain(c.chain_id),
                "chainId": c.chain_id,
            }
        )
    return out


def historical_chain_tvl(ctx: ApiContext, chain: ChainInfo | None) -> list[dict[str, Any]]:
    """[{date, tvl}] per UTC day: each chain's last stored block of the day, summed over chains."""
    days: dict[int, dict[int, ChainPoint]] = {}
    chain_id = None if chain is None else chain.chain_id
    for p in reads.chain_points(ctx.repo, chain_id, None, None, width=DAY, limit=MAX_DAYS):
        days.setdefault(p.block.timestamp - p.block.timestamp % DAY, {})[p.block.chain_id] = p
    return [{"date": d, "tvl": float(sum(p.tvl_usd for p in last.values()))} for d, last in sorted(days.items())]


def router(settings: ApiSettings) -> APIRouter:
    api = APIRouter(tags=["DefiLlama-compatible"], responses=COMMON_ERRORS)

    @api.get("/protocols", summary="DefiLlama: all protocols with TVL")
    async def llama_protocols(request: Request) -> Response:
        return await cached(request, lambda: protocols(context(request)))

    @api.get("/protocol/{slug}", summary="DefiLlama: one protocol with TVL history")
    async def llama_protocol(request: Request, slug: Slug) -> Response:
        return await cached(request, lambda: protocol(context(request), slug))

    @api.get("/tvl/{slug}", summary="DefiLlama: a protocol's current TVL (a bare number)")
    async def llama_tvl(request: Request, slug: Slug) -> Response:
        return await cached(request, lambda: tvl(context(request), slug))

    @api.get("/v2/chains", summary="DefiLlama: current TVL of every chain")
    async def llama_chains(request: Request) -> Response:
        return await cached(request, lambda: chains(context(request)))

    @api.get("/v2/historicalChainTvl", summary="DefiLlama: daily TVL of all chains")
    async def llama_history(request: Request) -> Response:
        return await cached(request, lambda: historical_chain_tvl(context(request), None))

    @api.get("/v2/historicalChainTvl/{chain}", summary="DefiLlama: daily TVL of one chain")
    async def llama_chain_history(request: Request, chain: Annotated[str, Path(max_length=40)]) -> Response:
        info = params.chain(chain, "chain")
        return await cached(request, lambda: historical_chain_tvl(context(request), info))

    return api
