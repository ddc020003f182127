"""API errors as JSON naming the parameter and the problem — never a traceback, never a bare 500.

{"error": {"field": "tokens", "problem": "unknown chain 'foo'; known chains: ethereum (1), ..."}}

A failure on our side (5xx) answers a fixed problem and an error `id`; the detail (which may name an RPC
endpoint or a file) goes to the log under the same id, so an operator can find it and a client learns nothing
about the deployment.

Our own errors escaping a handler are answered by class (`defiscope.errors`): an `InputError` is the client's
(400, naming its field); a `ChainError` is an RPC failure (503 when it may pass, else 502), answered with
the chain and what failed but never the endpoint; an `AdapterError` 502; a `StoreError` 503; any other 500.
The database's own operational failures (SQLite's "database is locked", a PostgreSQL connection lost) are the
store's too: 503 with Retry-After, since they pass.
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from defiscope.chain.errors import ChainError, redact_urls_in
from defiscope.errors import DefiscopeError, InputError
from defiscope.protocols.base import AdapterError
from defiscope.store.errors import StoreError

log = structlog.get_logger(__name__)


class ApiError(Exception):
    """A request the API refuses: HTTP status, the parameter at fault, and what is wrong with it."""

    def __init__(
        self,
        status: int,
        field: str | None,
        problem: str,
        headers: dict[str, str] | None = None,
        *,
        detail: str | None = None,
    ) -> None:
        super().__init__(problem)
        self.status = status
        self.field = field
        self.problem = problem  # sent to the client: fixed text, or facts about the client's own input
        self.headers = headers or {}
        self.detail = detail  # logged only, under an error id


class NotReady(ApiError):
    """A figure that does not exist yet because this server is still syncing: 503 with Retry-After and
    `status: syncing` beside the error; expected, so not logged as a failure of ours."""

    def __init__(self, field: str | None, problem: str, chains: list[dict[str, Any]], retry_after: int) -> None:
        super().__init__(503, field, problem, {"Retry-After": str(retry_after)})
        self.chains = chains


def new_error_id() -> str:
    return secrets.token_hex(6)


def error_response(
    status: int,
    field: str | None,
    problem: str,
    headers: dict[str, str] | None = None,
    error_id: str | None = None,
) -> Response:
    error: dict[str, str | None] = {"field": field, "problem": problem}
    if error_id is not None:
        error["id"] = error_id
    return Response(orjson.dumps({"error": error}), status_code=status, media_type="application/json", headers=headers)


def logged_error(
    status: int, field: str | None, problem: str, detail: str, headers: dict[str, str] | None = None
) -> Response:
    """A server-side failure: `problem` to the client with a fresh error id, `detail` to the log under that id."""
    error_id = new_error_id()
    log.warning("api.failed", error_id=error_id, status=status, field=field, problem=problem, detail=detail)
    return error_response(status, field, f"{problem} (error id {error_id})", headers, error_id)


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str:
    """`("query", "limit")` -> "limit"; the location kind is dropped, nested parts joined with dots."""
    parts = [str(p) for p in loc[1:]] if len(loc) > 1 else [str(p) for p in loc]
    return ".".join(parts) or "request"


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into the JSON shape above."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> Response:
        if isinstance(exc, NotReady):
            body = {"status": "syncing", "error": {"field": exc.field, "problem": exc.problem}, "chains": exc.chains}
            return Response(orjson.dumps(body), status_code=503, media_type="application/json", headers=exc.headers)
        if exc.status >= 500:
            return logged_error(exc.status, exc.field, exc.problem, exc.detail or exc.problem, exc.headers)
        return error_response(exc.status, exc.field, exc.problem, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {"loc": ("request",), "msg": "invalid request"}
        loc = tuple(first.get("loc", ()))
        if first.get("type") in ("union_tag_invalid", "union_tag_not_found"):  # the tag itself is the field at fault
            ctx = first.get("ctx")
            loc = (*loc, str(ctx.get("discriminator", "") if isinstance(ctx, dict) else "").strip("'"))
        return error_response(422, _field_of(loc), str(first.get("msg", "invalid value")))

    @app.exception_handler(DefiscopeError)
    async def _ours(_request: Request, exc: DefiscopeError) -> Response:
        return defiscope_error_response(exc)

    @app.exception_handler(OperationalError)
    async def _store_busy(_request: Request, exc: OperationalError) -> Response:
        # The statement and its parameters stay in the log: they may name tables and values of other keys.
        return logged_error(503, None, "the store is busy or unavailable; try again", str(exc), {"Retry-After": "1"})

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code >= 500:
            return logged_error(exc.status_code, None, "internal error", str(exc.detail))
        problem = "no such path" if exc.status_code == 404 else str(exc.detail)
        return error_response(exc.status_code, "path" if exc.status_code in (404, 405) else None, problem)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> Response:
        error_id = new_error_id()
        log.error("api.unhandled", error_id=error_id, path=request.url.path, exc_info=exc)
        return error_response(500, None, f"internal error (error id {error_id}); it has been logged", None, error_id)


def defiscope_error_response(exc: DefiscopeError) -> Response:
    """Our own error, answered by its class (see the module docstring)."""
    if isinstance(exc, InputError):
        return error_response(400, exc.field or "request", str(exc))
    if isinstance(exc, ChainError):
        # The message names the chain and the call; the endpoint (whose URL may hold a key) stays in the log.
        where = f"chain {exc.chain_id}" if exc.chain_id is not None else "chain"
        status = 503 if exc.transient else 502
        return logged_error(status, None, f"{where} RPC failed: {redact_urls_in(exc.message)}", str(exc))
    if isinstance(exc, AdapterError):
        return logged_error(502, None, "a protocol could not be read from the chain", str(exc))
    if isinstance(exc, StoreError):
        return logged_error(503, None, "the store is unavailable", str(exc))
    return logged_error(500, None, "internal error", str(exc))
