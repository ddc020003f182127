"""A provider simulator: an HTTP proxy in front of an anvil that answers as a hosted RPC provider would.

It enforces a profile's limits (requests per second counted per batch item, items per batch, eth_getLogs block
range and result count, added latency), refuses as providers do (429 with or without Retry-After, -32005, range
refusals with a suggested range, over HTTP 200 or 4xx), and injects faults at a seeded rate (5xx, hangs,
truncated JSON, bad hex, missing fields). It accepts any path, as providers' URLs carry a key in it.

    with ProviderProxy(chain.rpc_url, PROFILES["free"]) as proxy:
        client = RpcClient(1, [proxy.url])          # http://127.0.0.1:PORT/v2/devnet-key
        ...
        proxy.counters.rate_refusals                # how often it said 429
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from defiscope.devnet.errors import DevnetError
from defiscope.devnet.world import DevnetChain

RefusalStyle = Literal["alchemy", "infura"]
FaultKind = Literal["http-5xx", "timeout", "truncated-json", "bad-hex", "missing-field"]
FAULT_KINDS: Final[tuple[FaultKind, ...]] = ("http-5xx", "timeout", "truncated-json", "bad-hex", "missing-field")
#: Methods a provider does not have; the devnet's own tooling uses them, so they pass without limits.
DEVNET_PREFIXES: Final = ("anvil_", "evm_", "hardhat_")
#: The path of the proxy's URL: any path is served, this one shows a key in it like a provider's URL.
KEY_PATH: Final = "/v2/devnet-key"
#: Entries of request history the counters keep.
HISTORY: Final = 100_000


@dataclass(frozen=True, slots=True)
class ProviderProfile:
    """What a provider plan allows and how it says no. None: no such limit."""

    name: str
    requests_per_second: float | None = None
    burst_seconds: float = 1.0  # how far a client may run ahead of the rate
    max_batch_items: int | None = None
    max_log_blocks: int | None = None
    max_log_results: int | None = None
    latency: float = 0.0  # seconds added to every answer
    #: A rate refusal: HTTP 429 with a Retry-After header, or without one (the client must guess).
    retry_after_header: bool = True
    #: Range refusals worded like Alchemy's (-32602 "Log response size exceeded ... [0x.., 0x..]") or Infura's
    #: (-32005 "query returned more than N results. Try with this block range [0x.., 0x..].").
    refusal_style: RefusalStyle = "alchemy"
    refusal_status: int = 200  # some providers send range refusals with HTTP 400


PROFILES: Final[dict[str, ProviderProfile]] = {
    "none": ProviderProfile("none"),
    "free": ProviderProfile(
        "free",
        requests_per_second=25,
        max_batch_items=100,
        max_log_blocks=10_000,
        max_log_results=10_000,
        latency=0.05,
    ),
    "strict": ProviderProfile(
        "strict",
        requests_per_second=10,
        burst_seconds=0.5,
        max_batch_items=20,
        max_log_blocks=2_000,
        max_log_results=2_000,
        latency=0.1,
        retry_after_header=False,
        refusal_style="infura",
        refusal_status=400,
    ),
}


@dataclass(frozen=True, slots=True)
class Faults:
    """Inject one of `kinds` into a share `rate` of the answers, chosen by a generator seeded with `seed`."""

    rate: float = 0.0
    seed: int = 0
    kinds: tuple[FaultKind, ...] = FAULT_KINDS
    hang_seconds: float = 30.0  # how long a "timeout" fault holds the answer

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise DevnetError(f"fault rate must be within 0 and 1, got {self.rate}")
        unknown = set(self.kinds) - set(FAULT_KINDS)
        if unknown or not self.kinds:
            raise DevnetError(f"fault kinds must be among {', '.join(FAULT_KINDS)}, got {sorted(self.kinds)}")


def profile(name: str) -> ProviderProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise DevnetError(f"unknown provider profile {name!r}: one of {', '.join(PROFILES)}") from None


@dataclass(slots=True)
class ProxyCounters:
    """What the proxy saw; read by tests and benchmarks (the proxy's thread is the only writer)."""

    requests: int = 0  # HTTP requests
    items: int = 0  # JSON-RPC items in them
    rate_refusals: int = 0
    batch_refusals: int = 0
    range_refusals: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    #: (monotonic time, items) of the requests let through to the node, latest last (bounded: a proxy may run
    #: for hours).
    admitted: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=HISTORY))
    #: Block spans of the eth_getLogs queries asked, and whether each was refused.
    log_spans: deque[tuple[int, bool]] = field(default_factory=lambda: deque(maxlen=HISTORY))


class _Budget:
    """GCRA: a request of n items is admitted if the theoretical arrival time, less the tolerance, has come."""

    def __init__(self, rate: float, tolerance: float) -> None:
        self.rate = rate
        self.tolerance = tolerance
        self.tat = 0.0

    def admit(self, items: int, now: float) -> float:
        """0 if admitted (and booked), else the seconds until it would be."""
        tat = max(self.tat, now)
        wait = tat - self.tolerance - now
        if wait > 0:
            return wait
        self.tat = tat + items / self.rate
        return 0.0


def _error(item_id: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": item_id, "error": error}


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status_code=status, headers=headers, media_type="application/json")


class ProviderProxy:
    """The simulator for one upstream node, serving on 127.0.0.1 in a thread of its own."""

    def __init__(
        self,
        upstream: str,
        plan: ProviderProfile | str = "free",
        *,
        faults: Faults | None = None,
        port: int = 0,
    ) -> None:
        self.upstream = upstream
        self.profile = profile(plan) if isinstance(plan, str) else plan
        self.faults = faults or Faults()
        self.counters = ProxyCounters()
        self._random = random.Random(self.faults.seed)
        rate = self.profile.requests_per_second
        self._budget = _Budget(rate, self.profile.burst_seconds) if rate else None
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}{KEY_PATH}"
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST"])])
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False, timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._http: httpx.AsyncClient | None = None
        self._thread = threading.Thread(target=self._run, name=f"provider-proxy-{self.port}", daemon=True)

    # ---------------------------------------------------------------- lifecycle

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        async with httpx.AsyncClient(timeout=120.0, limits=httpx.Limits(max_connections=64)) as http:
            self._http = http
            await self._server.serve(sockets=[self._sock])

    def start(self) -> ProviderProxy:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise DevnetError(f"provider proxy for {self.upstream} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> ProviderProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- one request

    async def _handle(self, request: Request) -> Response:
        # A provider counts a request when it reaches its edge: the budget is charged at arrival, not after the
        # simulated latency (whose timer wake-ups bunch requests that arrived spread out).
        arrived = time.monotonic()
        body = await request.body()
        try:
            payload = json.loads(body)
        except ValueError:
            return _json(_error(None, -32700, "parse error"), status=400)
        items = payload if isinstance(payload, list) else [payload]
        if not items or not all(isinstance(i, dict) for i in items):
            return _json(_error(None, -32600, "invalid request"), status=400)
        self.counters.requests += 1
        self.counters.items += len(items)
        if all(str(i.get("method", "")).startswith(DEVNET_PREFIXES) for i in items):
            return await self._forward(body)
        if self.profile.latency:
            await asyncio.sleep(self.profile.latency)
        refusal = self._refuse_for_rate(items, arrived) or self._refuse_for_size(payload, items)
        if refusal is not None:
            return refusal
        fault = self._pick_fault()
        if fault in ("http-5xx", "timeout"):
            return await self._fail(fault)
        answer = await self._forward(body)
        if answer.status_code != 200:
            return answer
        answers = json.loads(bytes(answer.body))
        status = 200
        if any(i.get("method") == "eth_getLogs" for i in items):
            answers, status = self._cap_logs(payload, answers)
        if fault is not None:
            return self._garble(fault, answers)
        return _json(answers, status=status)

    def _refuse_for_rate(self, items: Sequence[dict[str, Any]], now: float) -> Response | None:
        if self._budget is None:
            self.counters.admitted.append((now, len(items)))
            return None
        wait = self._budget.admit(len(items), now)
        if wait == 0:
            self.counters.admitted.append((now, len(items)))
            return None
        self.counters.rate_refusals += 1
        headers = {"Retry-After": str(math.ceil(wait))} if self.profile.retry_after_header else {}
        first = items[0].get("id")
        body = _error(first, 429, "Your app has exceeded its compute units per second capacity.")
        if self.profile.refusal_style == "infura":
            body = _error(first, -32005, "project ID request rate exceeded")
        return _json(body, status=429, headers=headers)

    def _refuse_for_size(self, payload: Any, items: Sequence[dict[str, Any]]) -> Response | None:
        cap = self.profile.max_batch_items
        if not isinstance(payload, list) or cap is None or len(items) <= cap:
            return None
        self.counters.batch_refusals += 1
        return _json(_error(None, -32600, f"batch size too large: {len(items)} items, at most {cap}"))

    def _pick_fault(self) -> FaultKind | None:
        if self.faults.rate <= 0 or self._random.random() >= self.faults.rate:
            return None
        kind = self._random.choice(self.faults.kinds)
        self.counters.faults[kind] = self.counters.faults.get(kind, 0) + 1
        return kind

    async def _fail(self, fault: FaultKind) -> Response:
        if fault == "timeout":
            await asyncio.sleep(self.faults.hang_seconds)
            return Response("gateway timeout", status_code=504)
        return Response("upstream unavailable", status_code=503)

    def _garble(self, fault: FaultKind, answers: Any) -> Response:
        if fault == "truncated-json":
            text = json.dumps(answers)
            return Response(text[: len(text) // 2], media_type="application/json")
        for item in answers if isinstance(answers, list) else [answers]:
            if "result" not in item:
                continue
            if fault == "missing-field":
                del item["result"]
            elif isinstance(item["result"], str):
                item["result"] = "0x" + "zz" * 4
            elif isinstance(item["result"], dict):
                item["result"]["hash"] = "0xnot-hex"
            elif isinstance(item["result"], list):
                item["result"] = [{"garbled": True}]
        return _json(answers)

    async def _forward(self, body: bytes) -> Response:
        assert self._http is not None
        upstream = await self._http.post(self.upstream, content=body, headers={"Content-Type": "application/json"})
        return Response(upstream.content, status_code=upstream.status_code, media_type="application/json")

    # ---------------------------------------------------------------- eth_getLogs caps

    def _cap_logs(self, payload: Any, answers: Any) -> tuple[Any, int]:
        """Replace the answers of eth_getLogs queries over the caps by the profile's refusal."""
        items = payload if isinstance(payload, list) else [payload]
        by_id = {a.get("id"): a for a in (answers if isinstance(answers, list) else [answers])}
        status = 200
        for item in items:
            answer = by_id.get(item.get("id"))
            if item.get("method") != "eth_getLogs" or answer is None or "result" not in answer:
                continue
            try:
                query = item["params"][0]
                low, high = int(query["fromBlock"], 16), int(query["toBlock"], 16)
            except (LookupError, TypeError, ValueError):
                continue  # block tags ("latest"): the span is not known here, so no cap applies
            refusal = self._log_refusal(low, high, answer["result"])
            self.counters.log_spans.append((high - low + 1, refusal is not None))
            if refusal is not None:
                self.counters.range_refusals += 1
                answer.pop("result")
                answer["error"] = refusal
                status = self.profile.refusal_status
        return answers, status

    def _log_refusal(self, low: int, high: int, logs: list[dict[str, Any]]) -> dict[str, Any] | None:
        blocks, results = self.profile.max_log_blocks, self.profile.max_log_results
        too_wide = blocks is not None and high - low + 1 > blocks
        too_many = results is not None and len(logs) > results
        if not (too_wide or too_many):
            return None
        end = self._fitting_end(low, high, logs)
        hint = f"[{hex(low)}, {hex(end)}]"
        if self.profile.refusal_style == "infura":
            message = (
                f"query returned more than {results} results. Try with this block range {hint}."
                if too_many
                else f"exceed maximum block range: {blocks}"
            )
            return {"code": -32005, "message": message}
        message = (
            f"Log response size exceeded. You can make eth_getLogs requests with up to a {blocks} block range "
            f"and no limit on the response size, or you can request any block range with a cap of {results} "
            f"logs in the response. Based on your parameters, this block range should work: {hint}"
        )
        return {"code": -32602, "message": message}

    def _fitting_end(self, low: int, high: int, logs: list[dict[str, Any]]) -> int:
        """The last block of the widest range from `low` within both caps (at least one block)."""
        end = high if self.profile.max_log_blocks is None else min(high, low + self.profile.max_log_blocks - 1)
        cap = self.profile.max_log_results
        if cap is not None:
            numbers = sorted(int(entry["blockNumber"], 16) for entry in logs)
            if len(numbers) > cap:
                # Stop before the block holding the (cap+1)-th log, but keep at least the first block.
                end = min(end, max(low, numbers[cap] - 1))
        return end


def serve_through_simulator(
    chains: Sequence[DevnetChain], plan: ProviderProfile, faults: Faults, stack: ExitStack
) -> tuple[DevnetChain, ...]:
    """The chains as served by one simulator each (stopped when `stack` closes)."""
    proxies = [stack.enter_context(ProviderProxy(chain.rpc_url, plan, faults=faults)) for chain in chains]
    return tuple(chain.with_rpc_url(proxy.url) for chain, proxy in zip(chains, proxies, strict=True))
