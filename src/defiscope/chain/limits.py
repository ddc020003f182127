"""A provider's limits, per endpoint: a request-rate and compute-unit budget that backs off when the provider
says so, batch caps, and the eth_getLogs block range learnt from the provider's refusals.

Two control loops, kept apart on purpose, and a lane for background work:

* `Throttle` paces requests (GCRA: a token bucket that lets a big batch run into debt instead of never
  fitting). A 429 halves the rate and pauses until Retry-After; each second of successes adds back a
  twentieth of the ceiling (additive increase, multiplicative decrease under the configured ceiling).
* Requests made under `background_reads()` (risk scoring beside the indexer) yield: they wait until no other
  request waits and the budget has no debt, and book at most `BACKGROUND_BOOKING_SECONDS` of it at once
  (`RpcClient.batch_items` splits their batches), so indexing never queues behind them; their refusals pause
  the endpoint but do not halve its rate.
* `LogRange` sizes eth_getLogs ranges: a refusal shrinks the range to the one the provider suggests (or half),
  and a run of successes grows it back by a quarter.

    limits = FREE_PLAN                      # 25 requests/s, 100 items per batch, 10,000-block log ranges
    throttle = Throttle(limits, name="https://eth.example/v2/***")
    await throttle.acquire("eth_call", items=1)
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Final

import structlog

log = structlog.get_logger(__name__)

#: Compute units per call, from Alchemy's published "raw method costs" (docs.alchemy.com, compute units); calls
#: not listed cost `DEFAULT_COMPUTE_UNITS`, an eth_call's.
COMPUTE_UNITS: Final[Mapping[str, int]] = {
    "eth_blockNumber": 10,
    "eth_chainId": 10,
    "eth_getTransactionReceipt": 15,
    "eth_getBlockByNumber": 16,
    "eth_getStorageAt": 17,
    "eth_gasPrice": 19,
    "eth_getBalance": 19,
    "eth_getCode": 19,
    "eth_getBlockByHash": 21,
    "eth_getTransactionCount": 26,
    "eth_call": 26,
    "eth_getLogs": 75,
    "eth_estimateGas": 87,
}
DEFAULT_COMPUTE_UNITS: Final = 26
#: A wait longer than this is logged as a stall: users otherwise mistake a throttled read for a hang.
STALL_SECONDS: Final = 1.0
#: Refusals within this many seconds of a rate decrease do not decrease it again.
DECREASE_WINDOW: Final = 1.0
#: The most of an endpoint's budget one background request books, in seconds at its current rate.
BACKGROUND_BOOKING_SECONDS: Final = 1.0
#: How often a waiting background request looks again whether the budget is free.
BACKGROUND_POLL_SECONDS: Final = 0.05
_BACKGROUND: ContextVar[bool] = ContextVar("defiscope_background_reads", default=False)


@contextmanager
def background_reads() -> Iterator[None]:
    """Mark the requests made inside (and in tasks started inside) as background work that yields to the rest."""
    token = _BACKGROUND.set(True)
    try:
        yield
    finally:
        _BACKGROUND.reset(token)


def in_background() -> bool:
    return _BACKGROUND.get()


@dataclass(frozen=True, slots=True)
class EndpointLimits:
    """What one endpoint allows. None means "no limit known" (a 429 still slows us down)."""

    requests_per_second: float | None = 25.0
    #: Providers that price by compute units (Alchemy, QuickNode credits) cap CU per second too.
    compute_units_per_second: float | None = None
    #: How far a burst may run ahead of the rate, in seconds of budget. Kept below the provider's own
    #: tolerance so network jitter does not trip its limiter.
    burst_seconds: float = 0.5
    max_batch_items: int = 100
    max_log_blocks: int | None = 10_000
    #: Longest Retry-After honoured: a longer one waits this long, then tries again.
    max_retry_after: float = 60.0


#: A free plan of a typical provider: the defaults for a configured endpoint.
FREE_PLAN: Final = EndpointLimits()
#: A local node (a devnet, your own node): no budget, only what a refusal teaches.
UNLIMITED: Final = EndpointLimits(
    requests_per_second=None, compute_units_per_second=None, max_batch_items=1000, max_log_blocks=None
)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; None if absent or garbled."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class _Bucket:
    """GCRA over one unit (requests or compute units) at a rate that the throttle may lower and raise."""

    __slots__ = ("ceiling", "rate", "tat", "tolerance")

    def __init__(self, ceiling: float, tolerance: float) -> None:
        self.ceiling = ceiling
        self.rate = ceiling
        self.tolerance = tolerance
        self.tat = 0.0  # theoretical arrival time of the next unit

    def reserve(self, cost: float, now: float) -> float:
        """Book `cost` units; returns when they may be sent (>= now)."""
        tat = max(self.tat, now)
        send_at = max(now, tat - self.tolerance)
        self.tat = tat + cost / self.rate
        return send_at


@dataclass(slots=True)
class Throttle:
    """Paces one endpoint's requests under its limits; learns a lower rate from its refusals."""

    limits: EndpointLimits
    name: str = ""
    clock: Callable[[], float] = time.monotonic
    _requests: _Bucket | None = None
    _compute: _Bucket | None = None
    _paused_until: float = 0.0
    _last_decrease: float = float("-inf")
    _last_stall_log: float = float("-inf")
    _recent: deque[tuple[float, int]] = field(default_factory=deque)
    _foreground_waiting: int = 0

    def __post_init__(self) -> None:
        burst = self.limits.burst_seconds
        if self.limits.requests_per_second:
            self._requests = _Bucket(self.limits.requests_per_second, burst)
        if self.limits.compute_units_per_second:
            self._compute = _Bucket(self.limits.compute_units_per_second, burst)

    @property
    def current_rate(self) -> float | None:
        """Requests per second allowed now; None while unlimited."""
        return self._requests.rate if self._requests is not None else None

    def delay(self, methods: list[str]) -> float:
        """Book one HTTP request carrying `methods` (a batch counts each item); seconds to wait before sending."""
        now = self.clock()
        start = max(now, self._paused_until)
        if self._requests is not None:
            start = max(start, self._requests.reserve(len(methods), start))
        if self._compute is not None:
            units = sum(COMPUTE_UNITS.get(m, DEFAULT_COMPUTE_UNITS) for m in methods)
            start = max(start, self._compute.reserve(units, start))
        self._recent.append((start, len(methods)))
        while self._recent and self._recent[0][0] < start - 1.0:
            self._recent.popleft()
        return start - now

    @property
    def booking_cap(self) -> int | None:
        """Items a background request may carry (`BACKGROUND_BOOKING_SECONDS` at the current rate); None while
        unlimited."""
        rate = self.current_rate
        return None if rate is None else max(1, int(rate * BACKGROUND_BOOKING_SECONDS))

    def budget_free(self) -> bool:
        """No request waits, no pause, and no bucket in debt: a background request may book now."""
        now = self.clock()
        if self._foreground_waiting or now < self._paused_until:
            return False
        return all(bucket is None or bucket.tat <= now for bucket in (self._requests, self._compute))

    async def acquire(self, methods: list[str]) -> float:
        """Wait until the request may go; returns the seconds waited (a long wait is logged as a stall)."""
        yielded = 0.0
        if in_background():
            started = self.clock()
            while not self.budget_free():  # noqa: ASYNC110 - the budget frees with the clock, no event to wait on
                await asyncio.sleep(BACKGROUND_POLL_SECONDS)
            yielded = self.clock() - started
        wait = self.delay(methods)  # booked in the same step as the check above: no other request in between
        if wait <= 0:
            return yielded
        now = self.clock()
        if wait >= STALL_SECONDS and now - self._last_stall_log >= STALL_SECONDS:
            # One line a second at most: enough to see the stall, not a line per queued request.
            self._last_stall_log = now
            log.info("rpc.throttled", endpoint=self.name, wait_s=round(wait, 2), rate=self.current_rate)
        self._foreground_waiting += not in_background()
        try:
            await asyncio.sleep(wait)
        finally:
            self._foreground_waiting -= not in_background()
        return yielded + wait

    def rate_limited(self, retry_after: float | None, fallback: float) -> float:
        """The provider refused for rate: halve the rate, pause for Retry-After (or `fallback`); returns the pause."""
        now = self.clock()
        pause = min(self.limits.max_retry_after, retry_after if retry_after is not None else fallback)
        self._paused_until = max(self._paused_until, now + pause)
        if self._requests is None:
            # No ceiling configured: start from half of what went out in the last second.
            sent = sum(items for at, items in self._recent if at >= now - 1.0)
            self._requests = _Bucket(float(max(2, sent)), self.limits.burst_seconds)
            self._requests.ceiling = float("inf")
        # Refusals of requests that were in flight together are one signal: halve once per window. A background
        # request's refusal pauses but does not halve: its chunks follow each other into the provider's debt, and
        # each halving would slow the indexer's own reads for a minute after the scoring is done.
        decrease = now - self._last_decrease >= DECREASE_WINDOW and not in_background()
        if decrease:
            self._last_decrease = now
        for bucket in (self._requests, self._compute):
            if bucket is not None:
                if decrease:
                    bucket.rate = max(bucket.rate / 2, 1.0)
                bucket.tat = max(bucket.tat, self._paused_until)
        log.warning("rpc.rate_limited", endpoint=self.name, pause_s=round(pause, 2), rate=self.current_rate)
        return pause

    def succeeded(self) -> None:
        """Additive increase, per second not per request (so a fast client does not climb faster): a second of
        successes wins back a twentieth of the ceiling, or 1 request/s where no ceiling is configured."""
        for bucket in (self._requests, self._compute):
            if bucket is not None and bucket.rate < bucket.ceiling:
                step = bucket.ceiling / 20 if bucket.ceiling != float("inf") else 1.0
                bucket.rate = min(bucket.ceiling, bucket.rate + step / bucket.rate)


_SUGGESTED_RANGE = re.compile(r"\[\s*(0x[0-9a-fA-F]+)\s*,\s*(0x[0-9a-fA-F]+)\s*\]")
_BLOCK_COUNT = (
    re.compile(r"(\d[\d,]*)\s*(k?)\s*-?\s*block", re.IGNORECASE),  # "up to a 2K block range", "10000 blocks"
    re.compile(r"block range[^\d\[]{0,24}(\d[\d,]*)(k?)\b", re.IGNORECASE),  # "exceed maximum block range: 5000"
)


def suggested_span(message: str, start: int) -> int | None:
    """The block span a provider's refusal suggests: its range "[0x.., 0x..]" (Alchemy, Infura) when it starts at
    `start`, else a block count it names ("maximum block range: 5000"); None if it names none."""
    match = _SUGGESTED_RANGE.search(message)
    if match:
        low, high = int(match.group(1), 16), int(match.group(2), 16)
        if high >= low and low == start:
            return high - low + 1
    for pattern in _BLOCK_COUNT:
        found = pattern.search(message)
        if found:
            count = int(found.group(1).replace(",", "")) * (1000 if found.group(2) else 1)
            if count > 0:
                return count
    return None


#: Successes at the current span before it grows, and by how much it grows.
GROW_AFTER: Final = 2
GROW_BY: Final = 4  # span += span // GROW_BY


@dataclass(slots=True)
class LogRange:
    """The eth_getLogs span (blocks) to ask for next, learnt from refusals; at most `ceiling` when set."""

    ceiling: int | None = None
    span: int | None = None
    successes: int = 0
    refusals: int = 0

    def __post_init__(self) -> None:
        if self.span is None:
            self.span = self.ceiling

    def next_span(self, remaining: int) -> int:
        return min(remaining, self.span) if self.span else remaining

    def refused(self, tried: int, message: str, start: int) -> int:
        hint = suggested_span(message, start)
        span = hint if hint is not None and hint < tried else max(1, tried // 2)
        self.span = span
        self.successes = 0
        self.refusals += 1
        return span

    def succeeded(self, tried: int) -> None:
        if self.span is None or tried < self.span:
            return  # a short tail of the range says nothing about the span
        self.successes += 1
        if self.successes >= GROW_AFTER:
            grown = self.span + max(1, self.span // GROW_BY)
            self.span = min(grown, self.ceiling) if self.ceiling else grown
            self.successes = 0
