"""GET /v1/grades, /v1/grades/{slug}/history and /v1/signals: the grades as published, from the store.

    GET /v1/grades                      the newest published document (`defiscope grades --json`, verbatim)
    GET /v1/grades?block=1234           what was published at or before block 1234 of chain 1
    GET /v1/grades/aave/history         per publication: block, trader and investor grade
    GET /v1/signals?slug=aave&limit=20  published signals, newest first
    GET /v1/grades/evaluation?splits=6  the walk-forward evaluation of the published history

Answers are not cached per indexed block: a publication is written by the indexer's hook after its block is
stored, so a per-block cache could keep the previous one for a block. Reading one is a single indexed query.

The evaluation is computed from the stored publications and prices, not stored itself: it is a pure function of
them, so a stored copy would only need invalidating (a reorg, a publication replaced). It is computed in a worker
thread at most once per version of the published history (`GradeStore.version`: the count, newest row and newest
block of the publications), so it changes only when a publication does, not with every indexed block (a price of
another chain stored late, stamped before the newest publication, shows from the next one). A history too short
for the walk-forward is a 409 naming `history` and how many publications are needed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from pydantic import ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from defiscope.analytics.grades import published
from defiscope.analytics.grades.catalog import CLOCK_CHAIN
from defiscope.analytics.grades.compute import graded_tokens
from defiscope.api import models as m
from defiscope.api.errors import ApiError
from defiscope.api.respond import context, entry_response, fresh_entry, to_bytes
from defiscope.store.grades import GradeStore


class PublishedBlock(m._Model):
    number: int
    hash: str
    timestamp: int = Field(description="unix seconds")


class FactorScore(m._Model):
    name: str
    value: float | None = Field(description="the factor's value; null when it could not be computed")
    percentile: float | None = Field(description="0-100 among the graded protocols, 100 the best")
    weight: float = Field(description="published weight in its grade, 0-1")
    effective_weight: float | None = Field(description="share of the grade at this block after renormalising")
    horizon: str = Field(description="trader or investor")
    inputs_block: int | None = Field(description="newest chain-1 block of its inputs")
    missing_reason: str | None


class GradeEntry(m._Model):
    slug: str
    token: str
    trader_grade: float | None
    investor_grade: float | None
    trader_grade_missing: str | None = Field(description="why there is no trader grade")
    investor_grade_missing: str | None = Field(description="why there is no investor grade")
    factors: list[FactorScore]


class Grades(m._Model):
    block: PublishedBlock
    formula_version: str
    grades: list[GradeEntry]


class HistoryPoint(m._Model):
    block: PublishedBlock
    formula_version: str
    trader_grade: float | None
    investor_grade: float | None


class GradeHistory(m._Model):
    slug: str
    history: list[HistoryPoint]


class Mover(m._Model):
    name: str
    before: float = Field(description="grade points before the transition")
    after: float
    change: float


class Signal(m._Model):
    entity: str
    block: int
    horizon: str = Field(description="trader or investor")
    state: str = Field(description="bullish, neutral or bearish")
    previous: str
    grade: float
    movers: list[Mover]


class Signals(m._Model):
    signals: list[Signal]


class Unavailable(m._Model):
    unavailable: str = Field(description="why this figure has no value for these data (never 0 in its place)")


class ICFigure(m._Model):
    mean: float = Field(description="mean rank information coefficient over the evaluated periods")
    std: float
    t_statistic: float
    p_value: float = Field(description="two-sided, Student's t with periods - 1 degrees of freedom")
    periods: int
    skipped: int = Field(description="evaluated periods without an IC (too thin a cross-section)")


class DeflatedFigure(m._Model):
    probability: float = Field(description="deflated Sharpe ratio: P(true Sharpe > benchmark); 0.95 the usual bar")
    benchmark: float = Field(description="the Sharpe ratio the best of n_trials unskilled variants would show")
    sharpe: float
    n_obs: int
    n_trials: int


class PeriodIC(m._Model):
    block: int
    ic: float | None


class PeriodSpread(m._Model):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    block: int
    period_return: float | None = Field(alias="return", description="top-minus-bottom return; null: no book")
    cumulative: float = Field(description="compounded since the first evaluated period")


class VariantReport(m._Model):
    name: str = Field(description="formula, or calibrated_<model>")
    ic: ICFigure | Unavailable
    delayed_ic: ICFigure | Unavailable = Field(description="the same scores traded one horizon late")
    hit_rate: float | Unavailable
    top_minus_bottom: float | Unavailable = Field(description="mean long-short return per evaluated period")
    turnover: float | Unavailable
    sharpe: float | Unavailable
    deflated_sharpe: DeflatedFigure | Unavailable
    ic_by_period: list[PeriodIC]
    top_minus_bottom_by_period: list[PeriodSpread]


class WalkForwardSetup(m._Model):
    horizon: int = Field(description="periods each forward return spans")
    n_splits: int
    min_train: int
    embargo: int
    quantiles: int


class GradeReport(m._Model):
    horizon: str = Field(description="trader or investor")
    setup: WalkForwardSetup
    evaluated_periods: int
    n_trials: int
    signal_hit_rate: float | Unavailable
    variants: list[VariantReport]


class Evaluation(m._Model):
    publications: int
    periods_per_day: int
    grades: list[GradeReport]


async def grades(request: Request, block: int | None) -> Response:
    publication = await _answer(lambda: published.publication_at(context(request).repo, block))
    return _fresh(publication.document.encode(), request)


async def history(request: Request, slug: str) -> Response:
    points = await _answer(lambda: published.history_of(context(request).repo, slug))
    return _fresh(to_bytes({"slug": slug, "history": points}), request)


async def signals(request: Request, slug: str | None, limit: int) -> Response:
    found = await _answer(lambda: published.signals_published(context(request).repo, slug, limit))
    return _fresh(to_bytes({"signals": found}), request)


async def evaluation(request: Request, splits: int) -> Response:
    ctx = context(request)
    tokens = graded_tokens(ctx.deployments.values())
    version = await asyncio.to_thread(GradeStore(ctx.repo.engine).version, CLOCK_CHAIN)

    def build() -> bytes:
        return to_bytes(published.evaluation_document(ctx.repo, tokens, n_splits=splits))

    try:
        entry = await ctx.evaluations.get(splits, version, build, getattr(request.scope.get("route"), "path", ""))
    except published.HistoryTooShort as short:
        raise ApiError(409, short.field, str(short)) from None
    return entry_response(entry, request.headers.get("if-none-match"))


async def _answer(read: Callable[[], Any]) -> Any:
    """`read()` in a worker thread; a missing publication or an unknown slug is a 404 naming the parameter."""
    try:
        return await asyncio.to_thread(read)
    except (published.NoPublication, published.UnknownGraded) as missing:
        raise ApiError(404, missing.field, str(missing)) from None


def _fresh(body: bytes, request: Request) -> Response:
    return entry_response(fresh_entry(body, request), request.headers.get("if-none-match"))


__all__ = ["Evaluation", "GradeHistory", "Grades", "Signals", "evaluation", "grades", "history", "signals"]
