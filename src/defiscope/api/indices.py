"""GET /v1/indices: the shipped indices, their live values per block, holdings, and backtests (issue 17).

    GET /v1/indices?chain=ethereum
    {"items": [{"id": "defi-pulse", "name": ..., "status": "not built", "reason": "index defi-pulse: the
      eligibility rules leave none of 8 candidates ...", "latest": {"block": {...}, "value": null, ...}}]}
    GET /v1/indices/defi-tvl/history?from_block=100&to_block=200
    GET /v1/indices/defi-tvl/holdings?block=150       # the holdings stored at or before block 150
    GET /v1/indices/defi-tvl/backtest?from_block=100  # the same JSON as `defiscope indices backtest --json`

Values are exact decimal strings (the level from the definition's base value), holdings raw integer strings;
a block without a level says why (`reason`), never 0. Values are those `serve` stores as blocks are indexed
(`service.indices`); an index never tracked on the chain is `not tracked`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from defiscope.analytics.indices.backtest import BacktestOptions
from defiscope.analytics.indices.definition import IndexDefinition
from defiscope.analytics.indices.loader import configured_definitions
from defiscope.analytics.indices.metrics import metrics_of
from defiscope.analytics.indices.report import backtest_json
from defiscope.api import models as m
from defiscope.api.context import ApiContext
from defiscope.api.errors import ApiError
from defiscope.api.views import block_model, chain_slug, dec, opt_dec
from defiscope.service.context import ChainTarget
from defiscope.service.indices import run_backtests
from defiscope.store.indices import IndexValueStore, StoredIndexValue

Status = Literal["tracking", "not built", "unvalued", "not tracked"]


class IndexPoint(m._Model):
    block: m.Block
    value: m.Usd | None = Field(description="index level (base value at its build), exact decimal; null: see reason")
    equal_weight: m.Usd | None = Field(description="the same members at equal weights, from the same base")
    weth: m.Usd | None = Field(
        description="ETH held from the build (WETH; Binance-Peg ETH on BNB Chain), from the same base"
    )
    rebalanced: bool = Field(description="the index rebalanced at this block")
    weights: dict[str, m.Usd] = Field(
        default_factory=dict, description="each holding's share of the value at the block, exact decimal"
    )
    reason: str | None = Field(default=None, description="why there is no level at this block")


class IndexSummary(m._Model):
    id: str
    name: str
    description: str
    weighting: str
    cap: str
    rebalance: str
    status: Status = Field(description="tracking; not built (the reason says why); unvalued; not tracked")
    reason: str | None = None
    latest: IndexPoint | None = None


class IndexList(m._Model):
    items: list[IndexSummary]


class IndexDetail(m._Model):
    index: IndexSummary
    definition: dict[str, Any] = Field(description="the definition as validated (eligibility, weighting, ...)")


class IndexHistory(m._Model):
    index: str
    chain: str
    points: list[IndexPoint]


class Holding(m._Model):
    symbol: str
    amount: str = Field(description="raw token units, integer string")
    weight: m.Usd | None = Field(description="share of the value at the block, exact decimal; null when unvalued")


class IndexHoldings(m._Model):
    index: str
    block: m.Block
    value: m.Usd | None
    reason: str | None = None
    holdings: list[Holding]


def index_list(ctx: ApiContext, chain_id: int) -> IndexList:
    store = IndexValueStore(ctx.repo.engine)
    return IndexList(items=[_summary(d, store.at_or_before(d.id, chain_id)) for d in configured_definitions().values()])


def index_detail(ctx: ApiContext, index_id: str, chain_id: int) -> IndexDetail:
    definition = _definition(index_id)
    latest = IndexValueStore(ctx.repo.engine).at_or_before(index_id, chain_id)
    return IndexDetail(index=_summary(definition, latest), definition=definition.model_dump(mode="json"))


def index_history(
    ctx: ApiContext, index_id: str, chain_id: int, from_block: int | None, to_block: int | None, limit: int
) -> IndexHistory:
    _definition(index_id)
    _range(from_block, to_block)
    stored = IndexValueStore(ctx.repo.engine).history(
        index_id, chain_id, from_block=from_block, to_block=to_block, limit=limit
    )
    return IndexHistory(index=index_id, chain=chain_slug(chain_id), points=[_point(v) for v in stored])


def index_holdings(ctx: ApiContext, index_id: str, chain_id: int, block: int | None) -> IndexHoldings:
    _definition(index_id)
    stored = IndexValueStore(ctx.repo.engine).at_or_before(index_id, chain_id, block)
    if stored is None:
        where = "" if block is None else f" at or before block {block}"
        raise ApiError(404, "block" if block is not None else "id", f"index {index_id} has no stored value{where}")
    holdings = [
        Holding(symbol=s, amount=str(a), weight=opt_dec(stored.weights.get(s))) for s, a in stored.holdings.items()
    ]
    return IndexHoldings(
        index=index_id,
        block=block_model(stored.block),
        value=opt_dec(stored.value),
        reason=stored.missing,
        holdings=holdings,
    )


def index_backtest(
    ctx: ApiContext, index_id: str, chain_id: int, from_block: int | None, to_block: int | None
) -> dict[str, Any]:
    """The CLI's backtest (exact router quotes at each rebalance block) over the store's history, on the RPC
    endpoints the server quotes with."""
    definition = _definition(index_id)
    _range(from_block, to_block)
    quoting = ctx.quoting.get(chain_id)
    if quoting is None:
        problem = (
            f"this server reads no RPC for chain {chain_slug(chain_id)}: a backtest quotes its pools at each block"
        )
        raise ApiError(404, "chain", problem)
    urls = tuple(endpoint.url for endpoint in quoting.client.rpc.endpoints)
    target = ChainTarget(chain_id, urls, quoting.deployment)
    (result,) = run_backtests(ctx.repo, target, definition, from_block, to_block, BacktestOptions())
    return backtest_json(result, metrics_of(result))


def _definition(index_id: str) -> IndexDefinition:
    definitions = configured_definitions()
    if index_id not in definitions:
        raise ApiError(404, "id", f"unknown index {index_id!r}; known: {', '.join(sorted(definitions))}")
    return definitions[index_id]


def _range(from_block: int | None, to_block: int | None) -> None:
    if from_block is not None and to_block is not None and from_block > to_block:
        raise ApiError(422, "from_block", f"from_block {from_block} is after to_block {to_block}")


def _summary(definition: IndexDefinition, latest: StoredIndexValue | None) -> IndexSummary:
    rule = definition.rebalance
    schedule = f"drift {rule.threshold_pct} pp" if rule.kind == "drift" else f"{rule.every} day {rule.day}"
    status: Status
    if latest is None:
        status, reason = "not tracked", "no value stored on this chain: serve tracks the indices as it indexes"
    elif latest.value is not None:
        status, reason = "tracking", None
    else:
        status, reason = ("unvalued" if latest.holdings else "not built"), latest.missing
    return IndexSummary(
        id=definition.id,
        name=definition.name,
        description=definition.description,
        weighting=definition.weighting.method,
        cap=dec(definition.weighting.cap),
        rebalance=schedule,
        status=status,
        reason=reason,
        latest=None if latest is None else _point(latest),
    )


def _point(value: StoredIndexValue) -> IndexPoint:
    return IndexPoint(
        block=block_model(value.block),
        value=opt_dec(value.value),
        equal_weight=opt_dec(value.equal_weight),
        weth=opt_dec(value.weth),
        rebalanced=value.rebalanced,
        weights={symbol: dec(share) for symbol, share in value.weights.items()},
        reason=value.missing,
    )
