"""Typed chain errors. Each names the endpoint, the chain and the call, so a log line says what to fix.

>>> err = RequestTimeout("no answer within 5.0 s", endpoint="http://127.0.0.1:8545", chain_id=1,
...                      call="eth_blockNumber")
>>> str(err)
'no answer within 5.0 s [chain 1, endpoint http://127.0.0.1:8545, call eth_blockNumber]'
>>> err.transient
True
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final
from urllib.parse import urlsplit

from defiscope.errors import DefiscopeError, InputError

#: An endpoint's label, given as the URL's fragment (`https://eth.example/v2/KEY#alchemy`): the fragment is
#: never sent to the server, so it names the endpoint in logs and metrics without touching the request.
_LABEL: Final = re.compile(r"^[A-Za-z0-9._-]{1,40}$")


def redact_url(url: str) -> str:
    """The endpoint's name for logs, metrics, errors and API answers: scheme and host (and port), plus its label.

    Providers put API keys in the path, the query or the user-info, so all three go; a fragment that is a
    plain label (letters, digits, ``._-``) is kept to tell endpoints on one host apart.

    >>> redact_url("https://user:pw@eth.example:8443/v2/SECRET?key=SECRET#alchemy")
    'https://eth.example:8443#alchemy'
    >>> redact_url("http://127.0.0.1:8545")
    'http://127.0.0.1:8545'
    >>> redact_url("not a url/SECRET"), redact_url("localhost:8545")  # a bare host[:port] has nothing to hide
    ('<unparsable endpoint>', 'localhost:8545')
    """
    if _BARE_HOST.match(url.strip()):
        return url.strip()
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number, brackets that do not close
        return _UNPARSABLE
    if not parts.scheme or not host or not _HOST.match(host):
        return _UNPARSABLE
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    label = f"#{parts.fragment}" if _LABEL.match(parts.fragment) else ""
    return f"{parts.scheme.lower()}://{netloc}{label}"


def redact_urls_in(text: str) -> str:
    """`text` with every URL in it redacted (`redact_url`): for messages of errors raised outside this module.

    >>> redact_urls_in("ConnectError: cannot reach 'https://eth.example/v2/SECRET' (refused)")
    "ConnectError: cannot reach 'https://eth.example' (refused)"
    """
    return _URL_IN_TEXT.sub(lambda match: redact_url(match.group(0)), text)


_UNPARSABLE: Final = "<unparsable endpoint>"
#: A host name (ending in an alphabetic top-level label), an IPv4 address or localhost, with an optional port:
#: shown as is when given without a scheme. A bare token (an API key pasted alone) matches none of these.
_BARE_HOST: Final = re.compile(
    r"^(?:(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}|(?:[0-9]{1,3}\.){3}[0-9]{1,3}|localhost)(?::[0-9]{1,5})?$"
)
_URL_IN_TEXT: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>()\[\]{},]+")
#: Host names and IP literals only: anything else in the host slot may be a mangled credential.
_HOST: Final = re.compile(r"^[A-Za-z0-9.:_-]{1,253}$")


class _Located(Exception):
    """A message with where it happened (chain, endpoint redacted, call), shown as ``message [where]``."""

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


class ChainError(_Located, DefiscopeError):
    """Base of every failure of an RPC endpoint or node the chain layer raises (not of the caller's input)."""

    #: Whether repeating the same read later may succeed (so retry and failover are allowed).
    transient: bool = False


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


class InvalidInput(_Located, InputError, ValueError):
    """A caller passed something malformed (address, block, URL, setting): an input error, not a chain failure,
    so no retry or failover is tried and the API answers it as the client's mistake."""

    field: str | None = None


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
