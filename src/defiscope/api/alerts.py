"""/v1/alerts/rules: a key's alert rules (create, list, get, update, delete), their alerts and backtests.

POST /v1/alerts/rules  {"kind": "price_move", "params": {...}, "confirmations": 0, "cooldown_blocks": 0,
                        "channels": [{"type": "webhook", "url": "https://..."}]}   -> 201 {"id", "webhook_secret"}
GET  /v1/alerts/rules/{id}/backtest?from_block=A&to_block=B                     -> the bodies live alerts carry

A backtest of a `new_protocol` rule over pools reads the young pools' holdings at each stored block from the chain
(at most `MAX_POOL_BACKTEST_BLOCKS` blocks): only on a server that reads the rule's chain (`serve`: on its quote
client, with the indexer's pool discovery in memory); elsewhere, and when the node keeps no state at those blocks,
it answers 400 naming the field.

Every route needs an API key and sees only that key's rules: another key's rule answers 404, as a missing one.
Nothing here is cached (the gate's block cache serves only routes answered through `respond.cached`).
"""

# No `from __future__ import annotations`: FastAPI evaluates the body and path annotations.

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from defiscope.alerts import manage
from defiscope.alerts.backtest import backtest, backtestable
from defiscope.alerts.engine import pool_window
from defiscope.alerts.figures import StoredFigures
from defiscope.alerts.pools import PoolChain, StoredPools, load_discovery
from defiscope.alerts.rules import RuleSpec
from defiscope.alerts.wiring import governance_source, signal_source
from defiscope.api import models as m
from defiscope.api.context import QuoteChain
from defiscope.api.errors import ApiError
from defiscope.api.params import MAX_STORED_INT
from defiscope.api.respond import context
from defiscope.chain.block import BlockRef
from defiscope.protocols.registry import adapters_for
from defiscope.store.alerts import RuleStore, StoredAlert, StoredRule
from defiscope.store.keys import StoredKey
from defiscope.tvl.engine import TvlEngine

RuleId = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_]+$", description="rule id")]
Block = Annotated[int, Query(ge=0, le=MAX_STORED_INT)]


class RuleCreated(BaseModel):
    id: str
    webhook_secret: str = Field(description="whsec_...: signs this rule's webhooks (Standard Webhooks); shown once")


class ChannelOut(BaseModel):
    type: str
    target: str


class RuleOut(BaseModel):
    id: str
    kind: str
    chain_id: int
    params: dict[str, Any]
    confirmations: int | str
    cooldown_blocks: int
    channels: list[ChannelOut]
    created_at: int
    updated_at: int


class RuleList(BaseModel):
    items: list[RuleOut]


class AlertOut(BaseModel):
    alert_id: str
    rule_id: str
    chain_id: int
    subject: str
    state: str
    block: dict[str, Any]
    value: str | None
    previous: str | None
    threshold: str | None
    evidence: dict[str, Any]
    resolved_block: dict[str, Any] | None
    resolved_value: str | None


class AlertList(BaseModel):
    items: list[AlertOut]


class Backtest(BaseModel):
    rule_id: str
    from_block: int
    to_block: int
    alerts: list[dict[str, Any]] = Field(description="webhook bodies (alert.firing / alert.resolved), oldest first")


def _owner(request: Request) -> str:
    key: StoredKey | None = getattr(request.state, "api_key", None)
    if key is None:
        raise ApiError(
            401, "X-API-Key", "alert rules belong to an API key: send one (create one: defiscope keys create)"
        )
    return key.key_id


def _rules(request: Request) -> RuleStore:
    return RuleStore(context(request).repo.engine)


def _found(rule: StoredRule | None, rule_id: str) -> StoredRule:
    if rule is None:  # someone else's rule looks exactly like no rule
        raise ApiError(404, "rule_id", f"no alert rule {rule_id!r} for this API key")
    return rule


async def _pool_chain(request: Request, rule: StoredRule, from_block: int, to_block: int) -> PoolChain | None:
    """For a `scope: pool` rule, the chain its young pools are read from: in `serve`, the indexer's discovery in
    memory (`ApiContext.pools`); else the server's quote client of the rule's chain (its own RPC budget, not the
    indexer's) with the creation cursors loaded from the store for this request. None for other rules, or when
    this server reads no such chain (the backtest then says so)."""
    ctx = context(request)
    if pool_window(backtestable(rule, from_block, to_block).spec.params) is None:
        return None
    shared, quoting = ctx.pools.get(rule.chain_id), ctx.quoting.get(rule.chain_id)
    if shared is not None or quoting is None:
        return shared
    pools = StoredPools.of(quoting.client, quoting.deployment, adapters_for(quoting.deployment))
    await load_discovery(pools, ctx.repo)
    return pools


def indexer_pools(engines: Mapping[int, TvlEngine], quoting: Mapping[int, QuoteChain]) -> dict[int, PoolChain]:
    """What `serve` gives pool-scope backtests: each indexed chain's discovery and token book in memory, read on
    its quote client (a backtest spends the quotes' RPC budget, never the indexer's)."""
    return {
        chain_id: StoredPools(quoting[chain_id].client, engine.tokens, engine.adapters)
        for chain_id, engine in engines.items()
        if chain_id in quoting
    }


def router() -> APIRouter:
    api = APIRouter(prefix="/v1/alerts", tags=["alerts"], responses=m.COMMON_ERRORS)

    @api.post("/rules", status_code=201, response_model=RuleCreated, summary="Create an alert rule")
    def create_rule(request: Request, rule: Annotated[RuleSpec, Body()]) -> RuleCreated:
        stored, secret = manage.create(rule, _owner(request))
        _rules(request).add(stored)
        return RuleCreated(id=stored.id, webhook_secret=secret)

    @api.get("/rules", response_model=RuleList, summary="This key's alert rules")
    def list_rules(request: Request) -> dict[str, Any]:
        return {"items": [manage.rule_document(r) for r in _rules(request).owned(_owner(request))]}

    @api.get("/rules/{rule_id}", response_model=RuleOut, summary="One alert rule")
    def get_rule(request: Request, rule_id: RuleId) -> dict[str, Any]:
        return manage.rule_document(_found(_rules(request).get(rule_id, _owner(request)), rule_id))

    @api.put("/rules/{rule_id}", response_model=RuleOut, summary="Replace an alert rule (its secret stays)")
    def update_rule(request: Request, rule_id: RuleId, rule: Annotated[RuleSpec, Body()]) -> dict[str, Any]:
        owner = _owner(request)
        store = _rules(request)
        current = _found(store.get(rule_id, owner), rule_id)
        return manage.rule_document(_found(store.replace(manage.with_spec(current, rule), owner), rule_id))

    @api.delete("/rules/{rule_id}", status_code=204, summary="Delete an alert rule and its alerts")
    def delete_rule(request: Request, rule_id: RuleId) -> Response:
        if not _rules(request).remove(rule_id, _owner(request)):
            _found(None, rule_id)
        return Response(status_code=204)

    @api.get("/rules/{rule_id}/alerts", response_model=AlertList, summary="The alerts a rule raised")
    def rule_alerts(request: Request, rule_id: RuleId) -> dict[str, Any]:
        store = _rules(request)
        _found(store.get(rule_id, _owner(request)), rule_id)
        return {"items": [_alert_document(a) for a in store.alerts(rule_id)]}

    @api.get("/rules/{rule_id}/backtest", response_model=Backtest, summary="When a rule would have fired")
    async def backtest_rule(request: Request, rule_id: RuleId, from_block: Block, to_block: Block) -> Backtest:
        repo = context(request).repo
        rule = _found(RuleStore(repo.engine).get(rule_id, _owner(request)), rule_id)
        governance, signals = governance_source(repo), signal_source(repo)
        pools = await _pool_chain(request, rule, from_block, to_block)
        figures = StoredFigures(repo.engine)
        bodies = await backtest(
            figures, rule, from_block, to_block, governance=governance, signals=signals, pools=pools
        )
        return Backtest(rule_id=rule_id, from_block=from_block, to_block=to_block, alerts=bodies)

    return api


def _ref(block: BlockRef | None) -> dict[str, Any] | None:
    return None if block is None else {"number": block.number, "hash": block.hash, "timestamp": block.timestamp}


def _alert_document(alert: StoredAlert) -> dict[str, Any]:
    return {
        "alert_id": alert.id,
        "rule_id": alert.rule_id,
        "chain_id": alert.chain_id,
        "subject": alert.subject,
        "state": alert.state,
        "block": _ref(alert.block),
        "value": alert.value,
        "previous": alert.previous,
        "threshold": alert.threshold,
        "evidence": alert.evidence,
        "resolved_block": _ref(alert.resolved_block),
        "resolved_value": alert.resolved_value,
    }
