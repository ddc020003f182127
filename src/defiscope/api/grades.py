"""GET /v1/grades, /v1/grades/{slug}/history and /v1/signals: the grades as published, from the store.

    GET /v1/grades                      the newest published document (`defiscope grades --json`, verbatim)
    GET /v1/grades?block=1234           what was published at or before block 1234 of chain 1
    GET /v1/grades/aave/history         per publication: block, trader and investor grade
    GET /v1/signals?slug=aave&limit=20  published signals, newest first

Answers are not cached per indexed block: a publication is written by the indexer's hook after its block is
stored, so a per-block cache could keep the previous one for a block. Reading one is a single indexed query.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from defiscope.analytics.grades import published
from defiscope.api import models as m
from defiscope.api.errors import ApiError
from defiscope.api.respond import context, entry_response, fresh_entry, to_bytes


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


async def grades(request: Request, block: int | None) -> Response:
    publication = await _answer(lambda: published.publication_at(context(request).repo, block))
    return _fresh(publication.document.encode(), request)


async def history(request: Request, slug: str) -> Response:
    points = await _answer(lambda: published.history_of(context(request).repo, slug))
    return _fresh(to_bytes({"slug": slug, "history": points}), request)


async def signals(request: Request, slug: str | None, limit: int) -> Response:
    found = await _answer(lambda: published.signals_published(context(request).repo, slug, limit))
    return _fresh(to_bytes({"signals": found}), request)


async def _answer(read: Callable[[], Any]) -> Any:
    """`read()` in a worker thread; a missing publication or an unknown slug is a 404 naming the parameter."""
    try:
        return await asyncio.to_thread(read)
    except (published.NoPublication, published.UnknownGraded) as missing:
        raise ApiError(404, missing.field, str(missing)) from None


def _fresh(body: bytes, request: Request) -> Response:
    return entry_response(fresh_entry(body, request), request.headers.get("if-none-match"))


__all__ = ["GradeHistory", "Grades", "Signals", "grades", "history", "signals"]
