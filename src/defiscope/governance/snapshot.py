"""Snapshot's Hub GraphQL API: an async client for proposals (paged, retried, bounded), off by default.

Snapshot votes are off-chain signals (temperature checks, ARFCs) that often precede an on-chain proposal.
The Hub answers GraphQL at one URL; a key (`x-api-key` header) raises the keyless limit (documented as 100
requests a minute) to a monthly quota.

    settings = SnapshotSettings(enabled=True)                       # or DEFISCOPE_SNAPSHOT_ENABLED=1
    async with SnapshotClient(settings) as hub:
        docs = await hub.proposals(("uniswapgovernance.eth",), created_gte=1_700_000_000)
        docs[0].title, docs[0].scores                               # str, [Decimal, ...] as the Hub sent them

Pages are `first`/`skip` over `orderBy: "created", orderDirection: desc` until a short page (or
`max_pages`); a proposal created between two pages shifts the list, so pages are merged by id. A 429 or a
5xx is retried (tenacity), waiting the server's Retry-After when it gives one (up to `max_retry_after`),
else exponential backoff with full jitter; a timeout or a refused connection is retried the same way.
Every failure is a `SnapshotError` whose one-line message names the host and what to do.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from types import TracebackType
from typing import Any, Final

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_random_exponential

from defiscope.chain.limits import parse_retry_after
from defiscope.errors import DefiscopeError
from defiscope.governance.snapshot_settings import SnapshotSettings

#: Largest body read from one page: 100 proposals with long markdown bodies stay far below it.
MAX_BODY_BYTES: Final = 16 * 1024 * 1024

#: The fields the governance view shows. `quorum` 0 means the space sets none; `scores_state` is "final"
#: once the Hub has computed the closed vote's scores.
PROPOSALS_QUERY: Final = """
query Proposals($spaces: [String], $createdGte: Int, $first: Int, $skip: Int) {
  proposals(
    first: $first, skip: $skip,
    where: {space_in: $spaces, created_gte: $createdGte},
    orderBy: "created", orderDirection: desc
  ) {
    id title body choices start end snapshot state author created network type link
    scores scores_total scores_state quorum votes
    space { id name }
  }
}
"""


# --- errors -------------------------------------------------------------------------------------------------


class SnapshotError(DefiscopeError):
    """A failure of the Snapshot Hub; the message is one line naming the host and what to do."""

    transient: bool = False  # the same request may succeed later unchanged
    retry_after: float | None = None


class SnapshotUnreachable(SnapshotError):
    """Offline, DNS failure, refused connection, TLS failure, or no answer within the timeout."""

    transient = True


class SnapshotRateLimited(SnapshotError):
    """HTTP 429; retried unless its Retry-After is longer than we hold a caller for."""

    def __init__(self, message: str, *, retry_after: float | None, transient: bool = True) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.transient = transient


class SnapshotHttpError(SnapshotError):
    """Any other error status; a 5xx is retried (after its Retry-After, when it gives one)."""

    def __init__(self, message: str, *, status: int, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.transient = status >= 500
        self.retry_after = retry_after


class SnapshotMalformed(SnapshotError):
    """A 200 whose body is not the documented GraphQL answer (or carries GraphQL `errors`)."""


# --- answers ------------------------------------------------------------------------------------------------


class SpaceDoc(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    name: str | None = None


class ProposalDoc(BaseModel):
    """One proposal as the Hub answers it. Scores and quorum are the Hub's JSON numbers (voting power in
    token units as floats), kept digit for digit as `Decimal`."""

    model_config = ConfigDict(frozen=True)
    id: str
    title: str
    body: str | None = None
    choices: list[str]
    start: int
    end: int
    snapshot: str | None = None  # the block voting power is read at, as a decimal string
    state: str | None = None  # pending, active, closed
    author: str
    created: int
    network: str | None = None  # chain id of the space's strategies, as a string
    type: str | None = None  # single-choice, basic, approval, quadratic, ranked-choice, weighted
    link: str | None = None
    scores: list[Decimal] | None = None
    scores_total: Decimal | None = None
    scores_state: str | None = None
    quorum: Decimal | None = None
    votes: int | None = None
    space: SpaceDoc | None = None


Sleep = Callable[[float], Awaitable[None]]


class SnapshotClient:
    """One httpx client to the Hub; `proposals()` pages, retries and validates."""

    def __init__(
        self,
        settings: SnapshotSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.settings = settings
        headers = {"accept": "application/json", "content-type": "application/json"}
        if settings.api_key:
            headers["x-api-key"] = settings.api_key
        self._http = httpx.AsyncClient(
            timeout=settings.timeout, headers=headers, transport=transport, follow_redirects=False
        )
        self._sleep = sleep

    async def __aenter__(self) -> SnapshotClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def proposals(self, spaces: Sequence[str], *, created_gte: int) -> tuple[list[ProposalDoc], bool]:
        """Proposals of `spaces` created at or after `created_gte`, newest first, merged by id; and whether
        `max_pages` cut the list short (older proposals left out)."""
        size = self.settings.page_size
        merged: dict[str, ProposalDoc] = {}
        for page in range(self.settings.max_pages):
            variables = {"spaces": list(spaces), "createdGte": created_gte, "first": size, "skip": page * size}
            docs = await self._page(variables)
            for doc in docs:
                merged.setdefault(doc.id, doc)
            if len(docs) < size:
                return sorted(merged.values(), key=lambda d: d.created, reverse=True), False
        return sorted(merged.values(), key=lambda d: d.created, reverse=True), True

    async def _page(self, variables: Mapping[str, Any]) -> list[ProposalDoc]:
        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda e: isinstance(e, SnapshotError) and e.transient),
            stop=stop_after_attempt(self.settings.max_attempts),
            wait=self._wait,
            reraise=True,
            sleep=self._sleep,
        )
        async for attempt in retrying:
            with attempt:
                return parse_proposals(await self._post(variables), self.settings.host)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    @staticmethod
    def _wait(state: RetryCallState) -> float:
        """The server's Retry-After when it gave one, else exponential backoff with full jitter."""
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, SnapshotError) and error.retry_after is not None:
            return error.retry_after
        return float(wait_random_exponential(multiplier=0.5, max=8.0)(state))

    async def _post(self, variables: Mapping[str, Any]) -> bytes:
        host = self.settings.host
        payload = {"operationName": "Proposals", "query": PROPOSALS_QUERY, "variables": variables}
        try:
            async with self._http.stream("POST", self.settings.url, json=payload) as response:
                _check_status(response, host, self.settings.max_retry_after)
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_BODY_BYTES:
                        raise SnapshotMalformed(f"{host} answered more than {MAX_BODY_BYTES} bytes for one page")
                return bytes(body)
        except httpx.TimeoutException as exc:
            raise SnapshotUnreachable(
                f"{host} did not answer within {self.settings.timeout:g} s ({type(exc).__name__}): "
                "try later or raise DEFISCOPE_SNAPSHOT_TIMEOUT"
            ) from exc
        except httpx.TransportError as exc:
            raise SnapshotUnreachable(
                f"cannot reach {host} ({type(exc).__name__}: {_first_line(exc)}): check the network or "
                "DEFISCOPE_SNAPSHOT_URL, or list on-chain proposals only (--source chain)"
            ) from exc


def _check_status(response: httpx.Response, host: str, max_retry_after: float) -> None:
    status = response.status_code
    if status == 200:
        return
    if status == 429:
        wait = parse_retry_after(response.headers.get("retry-after"))
        if wait is not None and wait > max_retry_after:
            # Too long to hold a request for: fail now (not transient), saying when to come back.
            raise SnapshotRateLimited(
                f"{host} rate-limited us for {wait:.0f} s: try then, or set DEFISCOPE_SNAPSHOT_API_KEY",
                retry_after=None,
                transient=False,
            )
        raise SnapshotRateLimited(
            f"{host} kept answering 429 (rate limited): try later or set DEFISCOPE_SNAPSHOT_API_KEY",
            retry_after=wait,
        )
    if status in (401, 403):
        raise SnapshotHttpError(
            f"{host} refused the API key (HTTP {status}): check DEFISCOPE_SNAPSHOT_API_KEY", status=status
        )
    if status >= 500:
        wait = parse_retry_after(response.headers.get("retry-after"))
        held = wait if wait is not None and wait <= max_retry_after else None
        raise SnapshotHttpError(f"{host} answered HTTP {status}: try later", status=status, retry_after=held)
    raise SnapshotHttpError(f"{host} answered HTTP {status}: check DEFISCOPE_SNAPSHOT_URL", status=status)


def parse_proposals(body: bytes, host: str) -> list[ProposalDoc]:
    """The `proposals` list of a Hub answer; anything else raises `SnapshotMalformed` naming what is wrong."""
    advice = "the Hub's API may have changed, or DEFISCOPE_SNAPSHOT_URL is not a Snapshot Hub"
    try:
        doc = json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SnapshotMalformed(f"{host} answered a body that is not JSON ({_first_line(exc)}): {advice}") from exc
    if not isinstance(doc, dict):
        raise SnapshotMalformed(f"{host} answered JSON that is not an object: {advice}")
    errors = doc.get("errors")
    if errors:
        first = errors[0].get("message") if isinstance(errors, list) and isinstance(errors[0], dict) else errors
        raise SnapshotMalformed(f"{host} answered a GraphQL error ({_first_line(first)}): {advice}")
    data = doc.get("data")
    listed = data.get("proposals") if isinstance(data, dict) else None
    if not isinstance(listed, list):
        raise SnapshotMalformed(f"{host} answered no data.proposals list: {advice}")
    try:
        return [ProposalDoc.model_validate(item) for item in listed]
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise SnapshotMalformed(
            f"{host} answered a proposal whose {where} is wrong ({error['msg']}): {advice}"
        ) from exc


def _first_line(value: object) -> str:
    text = " ".join(str(value).split())
    return text[:160] if text else "no detail"
