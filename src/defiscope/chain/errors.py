"""Typed chain errors. Each names the endpoint, the chain and the call, so a log line says what to fix.

>>> err = RequestTimeout("no answer within 5.0 s", endpoint="http://127.0.0.1:8545", chain_id=1,
...                      call="eth_blockNumber")
>>> str(err)
'no answer within 5.0 s [chain 1, endpoint http://127.0.0.1:8545, call eth_blockNumber]'
>>> err.transient
True
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

from defiscope.errors import DefiscopeError


def redact_url(url: str) -> str:
    """Hide credentials and API keys (user:pass@ and path tokens after the host stay, query strings go)."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    if parts.username or parts.password:
        netloc = f"***@{netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, "***" if parts.query else "", ""))


class ChainError(DefiscopeError):
    """Base of every error the chain layer raises."""

    #: Whether repeating the same read later may succeed (so retry and failover are allowed).
    transient: bool = False

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None = None,
        chain_id: int | None = None,
        call: str | None = None,
    ) -> None:
        self.message = message
        self.endpoint = redact_url(endpoint) if endpoint else None
        self.chain_id = chain_id
        self.call = call
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.chain_id is not None:
            where.append(f"chain {self.chain_id}")
        if self.endpoint:
            where.append(f"endpoint {self.endpoint}")
        if self.call:
            where.append(f"call {self.call}")
        return f"{self.message} [{', '.join(where)}]" if where else self.message


class EndpointUnreachable(ChainError):
    """The TCP connection could not be made (refused, DNS failure, reset)."""

    transient = True


class RequestTimeout(ChainError):
    """The endpoint did not answer within the configured timeout."""

    transient = True


class RateLimited(ChainError):
    """HTTP 429 or a JSON-RPC 'limit exceeded' error."""

    transient = True

    def __init__(self, message: str, *, retry_after: float | None = None, **where: object) -> None:
        self.retry_after = retry_after
        super().__init__(message, **where)  # type: ignore[arg-type]


class MalformedResponse(ChainError):
    """The endpoint answered something that is not the JSON-RPC we asked for."""

    transient = True


class RpcError(ChainError):
    """A JSON-RPC error object returned by the node."""

    def __init__(self, message: str, *, code: int, data: object = None, **where: object) -> None:
        self.code = code
        self.data = data
        super().__init__(message, **where)  # type: ignore[arg-type]


class CallReverted(RpcError):
    """An `eth_call` reverted; `reason` is the decoded revert reason."""

    def __init__(self, reason: str, *, code: int = 3, data: object = None, **where: object) -> None:
        self.reason = reason
        super().__init__(f"execution reverted: {reason}", code=code, data=data, **where)


class RangeTooLarge(RpcError):
    """The node refused an `eth_getLogs` range (too many blocks or results)."""


class BatchTooLarge(RpcError):
    """The node refused a JSON-RPC batch for its size; smaller batches will do."""


class StateUnavailable(RpcError):
    """The node lacks the block or state asked for (pruned, or behind); another endpoint may have it."""

    transient = True


class BlockUnavailable(ChainError):
    """A pinned block is no longer served by any endpoint: reorged away, or pruned. Pin a new block."""


class HttpError(ChainError):
    """The endpoint answered with an HTTP error status; 5xx may pass, 4xx is a configuration problem."""

    def __init__(self, message: str, *, status: int, **where: object) -> None:
        self.status = status
        self.transient = status >= 500
        super().__init__(message, **where)  # type: ignore[arg-type]


class WrongChain(ChainError):
    """The endpoint serves another chain than the one it is configured for."""


class InvalidInput(ChainError, ValueError):
    """A caller passed something malformed (address, block, URL)."""


class AllEndpointsFailed(ChainError):
    """Every attempt at a request failed; `errors` holds each attempt's failure."""

    def __init__(self, errors: Sequence[ChainError], *, chain_id: int, call: str) -> None:
        self.errors = tuple(errors)
        self.transient = all(e.transient for e in self.errors)
        last_by_endpoint = {e.endpoint: e.message for e in self.errors}
        summary = "; ".join(f"{url}: {message}" for url, message in last_by_endpoint.items())
        single = next(iter(last_by_endpoint)) if len(last_by_endpoint) == 1 else None
        super().__init__(
            f"{len(self.errors)} attempts on {len(last_by_endpoint)} endpoint(s) failed: {summary}"
            if single is None
            else f"{len(self.errors)} attempts failed: {last_by_endpoint[single]}",
            chain_id=chain_id,
            call=call,
            endpoint=single,
        )
