"""API errors as JSON naming the parameter and the problem — never a traceback, never a bare 500.

{"error": {"field": "tokens", "problem": "unknown chain 'foo'; known chains: ethereum (1), ..."}}
"""

from __future__ import annotations

from typing import Any

import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

log = structlog.get_logger(__name__)


class ApiError(Exception):
    """A request the API refuses: HTTP status, the parameter at fault, and what is wrong with it."""

    def __init__(self, status: int, field: str | None, problem: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(problem)
        self.status = status
        self.field = field
        self.problem = problem
        self.headers = headers or {}


def error_response(status: int, field: str | None, problem: str, headers: dict[str, str] | None = None) -> Response:
    body = orjson.dumps({"error": {"field": field, "problem": problem}})
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str:
    """`("query", "limit")` -> "limit"; the location kind is dropped, nested parts joined with dots."""
    parts = [str(p) for p in loc[1:]] if len(loc) > 1 else [str(p) for p in loc]
    return ".".join(parts) or "request"


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into the JSON shape above."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> Response:
        return error_response(exc.status, exc.field, exc.problem, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {"loc": ("request",), "msg": "invalid request"}
        return error_response(422, _field_of(tuple(first.get("loc", ()))), str(first.get("msg", "invalid value")))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        problem = "no such path" if exc.status_code == 404 else str(exc.detail)
        return error_response(exc.status_code, "path" if exc.status_code in (404, 405) else None, problem)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> Response:
        log.error("api.unhandled", path=request.url.path, exc_info=exc)
        return error_response(500, None, "internal error; it has been logged")
