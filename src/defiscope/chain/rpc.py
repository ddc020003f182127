"""Async JSON-RPC over HTTP: batches, timeouts, retries with backoff and jitter, failover, accounting.

One `RpcClient` serves one chain through one or more endpoints. Reads are retried on transient errors
(timeouts, refused connections, 5xx, a node missing the state) on the healthiest endpoint left; writes
(`idempotent=False`) are sent once. Every error is typed and names endpoint, chain and call.

Each endpoint has its provider's limits (`defiscope.chain.limits`): requests are paced under its request and
compute-unit budget, a rate-limit refusal pauses the endpoint for Retry-After and lowers its rate without
spending an attempt, batches are cut to its item cap (and to a smaller one it refuses a batch for), and
eth_getLogs ranges follow what its refusals teach. Answers are checked before use: a body over the size
cap, bad JSON, bad hex or a missing field is a `MalformedResponse` naming the endpoint, never a value.

    async with RpcClient(1, ["http://127.0.0.1:8545"]) as rpc:
        number = int(await rpc.request("eth_blockNumber", []), 16)
        answers = await rpc.batch([("eth_getBalance", [addr, "latest"]) for addr in addrs])
"""

from __future__ import annotations

import asyncio
import json
import random
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from types import TracebackType
from typing import Any, Final

import httpx
import structlog

from defiscope import tracing
from defiscope.chain.abi import decode_revert
from defiscope.chain.accounting import EndpointStats
from defiscope.chain.errors import (
    AllEndpointsFailed,
    BatchTooLarge,
    CallReverted,
    ChainError,
    EndpointUnreachable,
    HttpError,
    InvalidInput,
    MalformedResponse,
    RangeTooLarge,
    RateLimited,
    RequestTimeout,
    RpcError,
    StateUnavailable,
    WrongChain,
    redact_url,
)
from defiscope.chain.limits import (
    STALL_SECONDS,
    UNLIMITED,
    EndpointLimits,
    LogRange,
    Throttle,
    in_background,
    parse_retry_after,
)
from defiscope.chain.results import result_problem

log = structlog.get_logger(__name__)

#: Phrases nodes use when refusing an eth_getLogs range (geth, Erigon, Infura, Alchemy, QuickNode, ...).
RANGE_REFUSALS: Final = (
    "block range",
    "range is too large",
    "range too large",
    "query returned more than",
    "too many blocks",
    "exceed maximum block range",
    "response size exceeded",
    "log response size",
    "query timeout exceeded",
)
#: Phrases meaning "this node lacks that state now": another endpoint, or a retry, may have it.
STATE_MISSING: Final = (
    "header not found",
    "missing trie node",
    "unknown block",
    "block not found",
    "resource not found",  # anvil, for a block hash it does not have
    "state is not available",
)
RATE_LIMIT_CODES: Final = (-32005, -32029, 429)
RATE_LIMIT_PHRASES: Final = ("rate limit", "too many requests", "rate exceeded", "exceeded its compute units")
#: Phrases of a refusal of the batch's size (the whole batch is refused, not each item).
BATCH_REFUSALS: Final = ("batch size", "batch too large", "batch limit", "batch of more than", "too many items")
#: Largest answer body read; a node answering more is misbehaving (or the read must be split).
MAX_RESPONSE_BYTES: Final = 64_000_000
#: Rate-limit refusals one call may wait through before it fails (each waits Retry-After or a backoff).
MAX_THROTTLED_RETRIES: Final = 30
#: eth_getLogs pieces of one query sent at once (once a span is known); the throttles pace them.
LOG_PIECES_IN_FLIGHT: Final = 4
#: Pause after a rate-limit refusal that names no Retry-After: providers count in one-second windows.
RATE_LIMIT_PAUSE: Final = 1.0
#: Nodes cap request bodies (anvil and geth at a few MB); batches are split to stay under this size.
MAX_REQUEST_BYTES: Final = 1_000_000


def split_batch(
    calls: Sequence[tuple[str, Sequence[Any]]], *, max_items: int, max_bytes: int
) -> list[Sequence[tuple[str, Sequence[Any]]]]:
    """Consecutive chunks of at most `max_items` calls whose JSON params add up to at most `max_bytes`."""
    chunks: list[Sequence[tuple[str, Sequence[Any]]]] = []
    start, size = 0, 0
    for i, (method, params) in enumerate(calls):
        item = len(method) + len(json.dumps(params, separators=(",", ":"))) + 48  # envelope: id, jsonrpc
        if i > start and (i - start >= max_items or size + item > max_bytes):
            chunks.append(calls[start:i])
            start, size = i, 0
        size += item
    chunks.append(calls[start:])
    return chunks


@dataclass(frozen=True, slots=True)
class RpcResponse:
    """One item of a batch: a result, or the typed error the node gave for it."""

    result: Any = None
    error: RpcError | None = None

    def unwrap(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result


@dataclass(slots=True)
class Endpoint:
    """One URL of a chain, with its health: an EWMA of successes, and a cool-down after failures."""

    url: str
    stats: EndpointStats = field(default_factory=EndpointStats)
    health: float = 1.0
    failures_in_a_row: int = 0
    cooldown_until: float = 0.0
    verified: bool = False
    semaphore: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(8))
    limits: EndpointLimits = UNLIMITED
    throttle: Throttle = field(default_factory=lambda: Throttle(UNLIMITED))

    @property
    def name(self) -> str:
        return redact_url(self.url)

    def succeeded(self) -> None:
        self.health = 0.7 * self.health + 0.3
        self.failures_in_a_row = 0
        self.cooldown_until = 0.0

    def failed(self, now: float) -> None:
        self.health = 0.7 * self.health
        self.failures_in_a_row += 1
        self.cooldown_until = now + min(30.0, 0.5 * 2**self.failures_in_a_row)


def _validate_url(url: str) -> str:
    parsed = httpx.URL(url) if "://" in url else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise InvalidInput(f"invalid RPC URL {redact_url(url)!r}: expected http(s)://host[:port][/path]")
    return url


class RpcClient:
    """JSON-RPC client of one chain over one or more HTTP endpoints."""

    def __init__(
        self,
        chain_id: int,
        urls: Sequence[str],
        *,
        timeout: float = 10.0,
        max_attempts: int = 4,
        backoff_base: float = 0.1,
        backoff_max: float = 5.0,
        max_batch_items: int = 1000,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        max_concurrency: int = 8,
        verify_chain_id: bool = True,
        limits: EndpointLimits | Mapping[str, EndpointLimits] | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        max_throttled_retries: int = MAX_THROTTLED_RETRIES,
    ) -> None:
        """`limits`: one set for every endpoint, or per URL (URLs not in the mapping get none).
        `max_throttled_retries`: rate refusals a request may meet before it fails (they spend no attempt)."""
        if not urls:
            raise InvalidInput(f"no RPC URL configured for chain {chain_id}: set DEFISCOPE_RPC_{chain_id}")
        self.chain_id = chain_id
        self.endpoints = [Endpoint(_validate_url(u)) for u in urls]
        for ep in self.endpoints:
            ep.semaphore = asyncio.Semaphore(max_concurrency)
            ep.limits = limits if isinstance(limits, EndpointLimits) else (limits or {}).get(ep.url, UNLIMITED)
            ep.throttle = Throttle(ep.limits, name=ep.name)
        self.max_response_bytes = max_response_bytes
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.max_throttled_retries = max_throttled_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_batch_items = max_batch_items
        self.max_request_bytes = max_request_bytes
        self.verify_chain_id = verify_chain_id
        self._ids = 0
        self._verify_lock = asyncio.Lock()
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=max_concurrency * len(self.endpoints), max_keepalive_connections=32),
            headers={"Content-Type": "application/json", "User-Agent": "defiscope"},
            verify=_tls_context(),
        )
        caps = [ep.limits.max_log_blocks for ep in self.endpoints if ep.limits.max_log_blocks]
        #: The eth_getLogs span to ask for: the smallest configured cap, then what refusals teach.
        self.log_range = LogRange(ceiling=min(caps) if caps else None)
        #: A batch cap learnt from a refusal of a batch's size (below the configured ones).
        self.learnt_batch_items: int | None = None

    @property
    def log_span(self) -> int | None:
        """Largest eth_getLogs span (blocks) to ask for now; None while no limit is known."""
        return self.log_range.span

    async def __aenter__(self) -> RpcClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ---------------------------------------------------------------- public API

    async def request(self, method: str, params: Sequence[Any], *, idempotent: bool = True) -> Any:
        """One JSON-RPC call; returns its result or raises a typed `ChainError`."""
        (response,) = await self._send([(method, params)], idempotent=idempotent)
        return response.unwrap()

    async def batch(self, calls: Sequence[tuple[str, Sequence[Any]]], *, idempotent: bool = True) -> list[RpcResponse]:
        """Many calls in as few HTTP requests as the batch limit allows; per-item errors are returned."""
        if not calls:
            return []
        chunks = split_batch(calls, max_items=self.batch_items(), max_bytes=self.max_request_bytes)
        answers = await asyncio.gather(*(self._send_chunk(chunk, idempotent=idempotent) for chunk in chunks))
        return [item for chunk in answers for item in chunk]

    def batch_items(self) -> int:
        """Items per HTTP request: within every endpoint's cap (any may serve a chunk) and any learnt one."""
        caps = [self.max_batch_items, *(ep.limits.max_batch_items for ep in self.endpoints)]
        if self.learnt_batch_items is not None:
            caps.append(self.learnt_batch_items)
        if in_background():  # a background request books at most a second of budget: indexing never waits long
            caps.extend(cap for ep in self.endpoints if (cap := ep.throttle.booking_cap) is not None)
        return max(1, min(caps))

    async def _send_chunk(self, chunk: Sequence[tuple[str, Sequence[Any]]], *, idempotent: bool) -> list[RpcResponse]:
        try:
            return await self._send(chunk, idempotent=idempotent)
        except BatchTooLarge:
            if len(chunk) == 1:
                raise
            self.learnt_batch_items = min(self.learnt_batch_items or len(chunk), max(1, len(chunk) // 2))
            log.warning("rpc.batch_cap", chain_id=self.chain_id, items=self.learnt_batch_items)
            return await self.batch(chunk, idempotent=idempotent)

    async def get_logs(self, filter_params: Mapping[str, Any], from_block: int, to_block: int) -> list[Any]:
        """`eth_getLogs` over [from_block, to_block], in order: pieces of the span learnt so far go out a few at a
        time (the endpoints' throttles keep them within budget); a refused piece splits itself."""
        if from_block > to_block:
            raise InvalidInput(f"from_block {from_block} is after to_block {to_block}", chain_id=self.chain_id)
        pieces: dict[int, list[Any]] = {}
        cursor = from_block

        async def worker() -> None:
            nonlocal cursor
            while cursor <= to_block:
                start = cursor
                cursor = start + self.log_range.next_span(to_block - start + 1)
                pieces[start] = await self._logs_covering(filter_params, start, cursor - 1)

        await asyncio.gather(*(worker() for _ in range(LOG_PIECES_IN_FLIGHT)))
        return [entry for start in sorted(pieces) for entry in pieces[start]]

    async def _logs_covering(self, filter_params: Mapping[str, Any], from_block: int, to_block: int) -> list[Any]:
        """One piece, block after block: a refused range shrinks (to the provider's hint, or half) and the rest
        of the piece follows the span learnt."""
        logs: list[Any] = []
        start = from_block
        while start <= to_block:
            span = self.log_range.next_span(to_block - start + 1)
            end = start + span - 1
            params = {**filter_params, "fromBlock": hex(start), "toBlock": hex(end)}
            try:
                logs.extend(await self.request("eth_getLogs", [params]))
            except RangeTooLarge as exc:
                if end == start:
                    raise
                span = self.log_range.refused(span, exc.message, start)
                log.info("getlogs.shrink", chain_id=self.chain_id, span=span, refused=end - start + 1)
                continue
            self.log_range.succeeded(span)
            start = end + 1
        return logs

    async def verify(self) -> None:
        """Check the endpoints serve this chain: a mismatch raises `WrongChain` naming the URL; unreachable
        endpoints are tolerated (failover) unless all are."""
        outcomes = await asyncio.gather(*(self._verify(ep) for ep in self.endpoints), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, WrongChain):
                raise outcome
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        if len(failures) == len(self.endpoints):
            errors = [f for f in failures if isinstance(f, ChainError)]
            if len(errors) != len(failures) or len(errors) == 1:
                raise failures[0]
            raise AllEndpointsFailed(errors, chain_id=self.chain_id, call="eth_chainId")

    def stats(self) -> dict[str, EndpointStats]:
        return {ep.name: ep.stats for ep in self.endpoints}

    def total_requests(self) -> int:
        return sum(ep.stats.requests for ep in self.endpoints)

    # ---------------------------------------------------------------- internals

    def _ranked(self) -> list[Endpoint]:
        now = time.monotonic()
        order = {id(ep): i for i, ep in enumerate(self.endpoints)}
        return sorted(self.endpoints, key=lambda ep: (ep.cooldown_until > now, -ep.health, order[id(ep)]))

    def _backoff(self, round_no: int, error: ChainError) -> float:
        """Full-jitter exponential backoff; a rate limit's Retry-After is honoured when longer."""
        delay = random.uniform(0, min(self.backoff_max, self.backoff_base * 2**round_no))
        if isinstance(error, RateLimited) and error.retry_after is not None:
            delay = max(delay, min(error.retry_after, self.backoff_max))
        return delay

    async def _send(self, calls: Sequence[tuple[str, Sequence[Any]]], *, idempotent: bool) -> list[RpcResponse]:
        """One JSON-RPC request (a call or a batch) with its retries, as one client span when tracing is on."""
        if not tracing.enabled():
            return await self._deliver(calls, idempotent=idempotent)
        method = calls[0][0]
        attributes: dict[str, str | int] = {"rpc.system": "jsonrpc", "rpc.chain_id": self.chain_id}
        with tracing.client_span(f"rpc {method}", {**attributes, "rpc.method": method, "rpc.batch_size": len(calls)}):
            return await self._deliver(calls, idempotent=idempotent)

    async def _deliver(self, calls: Sequence[tuple[str, Sequence[Any]]], *, idempotent: bool) -> list[RpcResponse]:
        what = calls[0][0] if len(calls) == 1 else f"batch of {len(calls)} ({calls[0][0]}, ...)"
        attempts_left = self.max_attempts if idempotent else 1
        throttled = 0
        errors: list[ChainError] = []
        tried: set[int] = set()
        round_no = 0
        while True:
            candidates = [ep for ep in self._ranked() if id(ep) not in tried]
            if not candidates:
                # Every endpoint failed once: wait before the next round. A rate-limited endpoint's throttle
                # already holds the next request for Retry-After, so no backoff on top.
                if not isinstance(errors[-1], RateLimited):
                    await asyncio.sleep(self._backoff(round_no, errors[-1]))
                round_no += 1
                tried.clear()
                candidates = self._ranked()
            endpoint = candidates[0]
            tried.add(id(endpoint))
            try:
                if self.verify_chain_id and not endpoint.verified:
                    await self._verify(endpoint)
                return await self._post(endpoint, calls, what)
            except RateLimited as exc:
                # A refusal for rate is the provider's pacing, not a failure: it was not served, so it is safe
                # to send again once the pause is over, without spending an attempt (up to a bound).
                errors.append(exc)
                throttled += 1
                if throttled > self.max_throttled_retries:
                    break
            except ChainError as exc:
                if not exc.transient:
                    raise
                errors.append(exc)
                log.warning("rpc.retry", chain_id=self.chain_id, endpoint=endpoint.name, call=what, error=exc.message)
                attempts_left -= 1
                if attempts_left <= 0:
                    break
        if len(errors) == 1:
            raise errors[0]
        raise AllEndpointsFailed(errors, chain_id=self.chain_id, call=what)

    async def _verify(self, endpoint: Endpoint) -> None:
        async with self._verify_lock:
            if endpoint.verified:
                return
            (answer,) = await self._post(endpoint, [("eth_chainId", [])], "eth_chainId")
            got = int(answer.unwrap(), 16)
            if got != self.chain_id:
                raise WrongChain(
                    f"endpoint serves chain {got}, but it is configured for chain {self.chain_id}",
                    endpoint=endpoint.url,
                    chain_id=self.chain_id,
                    call="eth_chainId",
                )
            endpoint.verified = True

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    async def _post(
        self, endpoint: Endpoint, calls: Sequence[tuple[str, Sequence[Any]]], what: str
    ) -> list[RpcResponse]:
        ids = [self._next_id() for _ in calls]
        items = [
            {"jsonrpc": "2.0", "id": i, "method": m, "params": list(p)} for i, (m, p) in zip(ids, calls, strict=True)
        ]
        body = json.dumps(items[0] if len(items) == 1 else items, separators=(",", ":")).encode()
        where: dict[str, Any] = {"endpoint": endpoint.url, "chain_id": self.chain_id, "call": what}
        waited = await endpoint.throttle.acquire([method for method, _ in calls])
        if waited:
            endpoint.stats.throttled(waited, stall=waited >= STALL_SECONDS)
        started = time.perf_counter()
        received = 0
        try:
            async with endpoint.semaphore:
                status, headers, content = await self._transport(endpoint, body, where)
            received = len(content)
            payload = self._parse(status, headers, content, **where)
            answers = self._match(payload, ids, calls, where)
        except RateLimited as exc:
            endpoint.stats.record(
                calls=len(calls), sent=len(body), received=received, seconds=time.perf_counter() - started, failed=True
            )
            endpoint.stats.rate_limited += 1
            endpoint.throttle.rate_limited(exc.retry_after, fallback=RATE_LIMIT_PAUSE)
            raise
        except ChainError:
            endpoint.stats.record(
                calls=len(calls),
                sent=len(body),
                received=received,
                seconds=time.perf_counter() - started,
                failed=True,
            )
            endpoint.failed(time.monotonic())
            raise
        endpoint.stats.record(
            calls=len(calls), sent=len(body), received=received, seconds=time.perf_counter() - started
        )
        endpoint.succeeded()
        endpoint.throttle.succeeded()
        return answers

    async def _transport(
        self, endpoint: Endpoint, body: bytes, where: dict[str, Any]
    ) -> tuple[int, httpx.Headers, bytes]:
        """POST the body and read the answer up to the size cap; transport failures become typed, transient."""
        try:
            async with self._http.stream("POST", endpoint.url, content=body) as response:
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > self.max_response_bytes:
                    raise self._too_large(int(declared), where)
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self.max_response_bytes:
                        raise self._too_large(size, where)
                    chunks.append(chunk)
                return response.status_code, response.headers, b"".join(chunks)
        except httpx.TimeoutException as exc:
            raise RequestTimeout(f"no answer within {self.timeout} s ({type(exc).__name__})", **where) from exc
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise EndpointUnreachable(f"cannot reach the endpoint: {exc or type(exc).__name__}", **where) from exc
        except httpx.HTTPError as exc:
            raise EndpointUnreachable(f"HTTP transport failed: {exc or type(exc).__name__}", **where) from exc

    def _too_large(self, size: int, where: dict[str, Any]) -> MalformedResponse:
        cap = self.max_response_bytes
        return MalformedResponse(f"answer of {size:,} bytes or more exceeds the {cap:,}-byte cap", **where)

    def _parse(self, status: int, headers: httpx.Headers, content: bytes, **where: Any) -> Any:
        if status == 429:
            raise RateLimited(
                "HTTP 429 too many requests", retry_after=parse_retry_after(headers.get("Retry-After")), **where
            )
        try:
            payload = json.loads(content)
        except ValueError as exc:
            if status >= 400:
                hint = " (check the URL and API key)" if status in (401, 403, 404) else ""
                raise HttpError(f"HTTP {status}{hint}", status=status, **where) from exc
            raise MalformedResponse(f"response is not JSON: {content[:80]!r}", **where) from exc
        if status >= 400 and not _carries_rpc_error(payload):
            hint = " (check the URL and API key)" if status in (401, 403, 404) else ""
            raise HttpError(f"HTTP {status}{hint}", status=status, **where)
        # A 4xx carrying a JSON-RPC error (a refused range, a refused batch) is the node's answer: read it.
        return payload

    def _match(
        self, payload: Any, ids: list[int], calls: Sequence[tuple[str, Sequence[Any]]], where: dict[str, Any]
    ) -> list[RpcResponse]:
        if not isinstance(payload, (list, dict)):
            raise MalformedResponse(f"not a JSON-RPC response: {str(payload)[:80]}", **where)
        items = payload if isinstance(payload, list) else [payload]
        if isinstance(payload, dict) and "error" in payload and (len(ids) > 1 or payload.get("id") not in ids):
            # The node refused the request as a whole (batch too large, rate limited, bad request).
            raise self._classify(payload["error"], calls[0][0] if len(ids) == 1 else "", where, whole=len(ids) > 1)
        by_id: dict[Any, Any] = {}
        for item in items:
            if not isinstance(item, dict) or "id" not in item or isinstance(item["id"], (list, dict)):
                raise MalformedResponse(f"not a JSON-RPC response item: {str(item)[:80]}", **where)
            by_id[item["id"]] = item
        answers: list[RpcResponse] = []
        for call_id, (method, _) in zip(ids, calls, strict=True):
            item = by_id.get(call_id)
            if item is None:
                raise MalformedResponse(f"response lacks the answer to request id {call_id}", **where)
            if "error" in item and item["error"] is not None:
                error = self._classify(
                    item["error"], method, {**where, "call": method if len(ids) > 1 else where["call"]}
                )
                if error.transient or not isinstance(error, RpcError):
                    raise error  # retried as a whole, on this or another endpoint
                answers.append(RpcResponse(error=error))
            elif "result" in item:
                problem = result_problem(method, item["result"])
                if problem is not None:
                    raise MalformedResponse(f"{method} answer {problem}: {str(item['result'])[:80]}", **where)
                answers.append(RpcResponse(result=item["result"]))
            else:
                raise MalformedResponse(f"response item {call_id} has neither result nor error", **where)
        return answers

    @staticmethod
    def _classify(error: Any, method: str, where: dict[str, Any], *, whole: bool = False) -> ChainError:
        """Type a JSON-RPC error object; transient kinds are retried, the rest are the node's answer."""
        if not isinstance(error, dict):
            return MalformedResponse(f"malformed error object {str(error)[:80]}", **where)
        code = int(error.get("code", 0)) if isinstance(error.get("code", 0), int) else 0
        message = str(error.get("message", ""))
        data = error.get("data")
        lowered = message.lower()
        if method == "eth_getLogs" and any(p in lowered for p in RANGE_REFUSALS):
            return RangeTooLarge(message, code=code, data=data, **where)
        if whole and any(p in lowered for p in BATCH_REFUSALS):
            return BatchTooLarge(message, code=code, data=data, **where)
        if code in RATE_LIMIT_CODES or any(p in lowered for p in RATE_LIMIT_PHRASES):
            backoff = data.get("backoff_seconds") if isinstance(data, dict) else None  # Infura's hint
            retry_after = float(backoff) if isinstance(backoff, int | float) and backoff is not True else None
            return RateLimited(f"rate limited: {message} (code {code})", retry_after=retry_after, **where)
        if any(p in lowered for p in STATE_MISSING):
            return StateUnavailable(message, code=code, data=data, **where)
        if code == 3 or "revert" in lowered:
            raw = data.get("data") if isinstance(data, dict) else data
            revert = bytes.fromhex(raw[2:]) if isinstance(raw, str) and raw.startswith("0x") else b""
            reason = (
                decode_revert(revert)
                if revert
                else message.removeprefix("execution reverted").strip(": ") or "no reason"
            )
            return CallReverted(reason, code=code, data=raw, **where)
        return RpcError(f"{message} (code {code})", code=code, data=data, **where)


def _carries_rpc_error(payload: Any) -> bool:
    items = payload if isinstance(payload, list) else [payload]
    return bool(items) and all(isinstance(i, dict) and isinstance(i.get("error"), dict) for i in items)


@cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default verification (certifi's CAs), built once: loading the CA file costs tens of milliseconds,
    and a client is opened per command, per test and per simulation tick."""
    return httpx.create_ssl_context()
