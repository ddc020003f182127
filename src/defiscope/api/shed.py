"""Load shedding: a bound on the requests one process works on at once, a bounded queue behind it, and a
maximum wait in that queue. A request past either answers 503 with `Retry-After` at once, naming why.

Why: an open-loop client (many users) keeps sending at its own rate whatever the server manages. Without a
bound, a server that falls behind queues without limit, every answer comes later than the one before, clients
give up (time out) while the server still builds the answers nobody waits for, and the rate answered collapses
far below what the server could do. With a bound, the server answers what it can in time and refuses the rest
quickly, so its throughput stays at its capacity and each client learns at once to come back later.

`Shed` sits inside `Gate`: keys and rate limits are checked first, and an answer the cache holds already (the
cheapest there is, served by `Gate`) is never refused; only requests that go on to routing, validation and
building are counted. Exempt paths (health, metrics) are always let through: an operator must see an
overloaded server as overloaded, not as down.

    admission = Admission(limit=64, queue=256, max_wait=5.0)
    refused = await admission.enter()     # None: admitted (call leave() when done); else the Refusal
    app.add_middleware(Shed, admission=admission, counts=metrics.shed, exempt=("/v1/health", "/metrics"))
"""

from __future__ import annotations

import asyncio
import enum
import math
import time
from collections import deque
from collections.abc import Iterable

from prometheus_client import Counter
from starlette.types import ASGIApp, Receive, Scope, Send

from defiscope.api.errors import error_response


class Refusal(enum.Enum):
    """Why a request was shed (the `reason` label of `defiscope_http_shed_total`)."""

    QUEUE_FULL = "queue_full"
    QUEUE_WAIT = "queue_wait"


class Admission:
    """At most `limit` requests admitted at once; up to `queue` more wait, first come first served, each at
    most `max_wait` seconds. A slot freed goes straight to the oldest waiter (no overtaking by newcomers)."""

    __slots__ = ("_running", "_waiting", "limit", "max_wait", "queue")

    def __init__(self, *, limit: int, queue: int, max_wait: float) -> None:
        self.limit = limit
        self.queue = queue
        self.max_wait = max_wait
        self._running = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    @property
    def running(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def enter(self) -> Refusal | None:
        """None once admitted (the caller must `leave()`), or why not."""
        if self._running < self.limit and not self._waiting:
            self._running += 1
            return None
        if len(self._waiting) >= self.queue:
            return Refusal.QUEUE_FULL
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            async with asyncio.timeout(self.max_wait):
                await asyncio.shield(turn)  # shielded: a timeout must not cancel a slot handed over meanwhile
        except TimeoutError:
            if turn.done():  # handed a slot just as the wait ran out: take it rather than waste it
                return None
            self._waiting.remove(turn)
            return Refusal.QUEUE_WAIT
        except BaseException:  # the request itself was cancelled (client gone, shutdown)
            if turn.done():
                self.leave()  # the slot it was given goes on to the next waiter
            else:
                self._waiting.remove(turn)
            raise
        return None

    def leave(self) -> None:
        """Free one slot: to the oldest waiter if any (it counts as running from now), else back to the pool."""
        if self._waiting:
            self._waiting.popleft().set_result(None)
        else:
            self._running -= 1


class Shed:
    """ASGI middleware: requests to paths other than `exempt` pass through `admission` (see the module)."""

    def __init__(self, app: ASGIApp, admission: Admission, counts: Counter, exempt: Iterable[str] = ()) -> None:
        self.app = app
        self.admission = admission
        self.counts = counts
        self.exempt = frozenset(exempt)
        self.retry_after = str(max(1, math.ceil(admission.max_wait)))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        refused = await self.admission.enter()
        if refused is not None:
            self.counts.labels(refused.value).inc()
            await error_response(
                503, None, self._problem(refused, time.monotonic() - started), {"Retry-After": self.retry_after}
            )(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.admission.leave()

    def _problem(self, refused: Refusal, waited: float) -> str:
        a = self.admission
        if refused is Refusal.QUEUE_FULL:
            return f"server overloaded: {a.limit} requests in progress and {a.queue} queued; retry later"
        return f"server overloaded: queued {waited:.1f} s, over the {a.max_wait:g} s allowed; retry later"
