"""The delivery worker: takes due messages from the outbox and sends them, at least once, until told to stop.

    async with open_worker(engine, DeliverySettings.from_env()) as worker:
        sink = OutboxSink(bells=(worker.bell,))    # the evaluator's sink rings the worker after each commit
        await worker.run(stop)                     # in `serve` (a task beside the indexer), or `delivery worker`

Each pass claims up to `concurrency` free messages and sends them concurrently; a finished attempt is recorded at
once and frees its slot. Between passes it sleeps until the bell rings (a commit in this process), the next retry
falls due, or `poll` seconds pass (messages committed by other processes). Each pass also prunes delivered rows and
old stream events when retention's interval has passed (`alerts.retention`). The database is the only state: a
worker killed mid-delivery leaves leased rows that any worker takes again when the lease ends, so a receiver may
see a message twice, always with the same `webhook-id` to deduplicate by. On a clean stop, attempts in flight are
abandoned and their leases given back, so the next start sends them at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator, Callable
from typing import Final, Protocol

import httpx
import structlog
from sqlalchemy import Engine

from defiscope.alerts.delivery.mail import EmailSender
from defiscope.alerts.delivery.outcome import Envelope, Outcome
from defiscope.alerts.delivery.queue import OutboxQueue
from defiscope.alerts.delivery.settings import DeliverySettings
from defiscope.alerts.delivery.ssrf import AddressPolicy, Resolver, guarded_client
from defiscope.alerts.delivery.webhook import WebhookSender
from defiscope.alerts.retention import Pruner, RetentionSettings
from defiscope.alerts.wakeup import Bell

log = structlog.get_logger(__name__)

#: Seconds a failing database look waits before the next (the worker keeps going: the indexer may be busy).
_STORE_RETRY: Final = 2.0


class Channels(Protocol):
    async def send(self, envelope: Envelope) -> Outcome: ...


class ChannelSenders:
    """Routes an envelope to its channel's sender."""

    __slots__ = ("mail", "webhook")

    def __init__(self, webhook: WebhookSender, mail: EmailSender) -> None:
        self.webhook = webhook
        self.mail = mail

    async def send(self, envelope: Envelope) -> Outcome:
        if envelope.channel == "webhook":
            return await self.webhook.send(envelope.message_id, envelope.target, envelope.secret, envelope.body)
        if envelope.channel == "email":
            return await self.mail.send(envelope.message_id, envelope.target, envelope.body)
        return Outcome("refused", f"unknown channel {envelope.channel!r}")


async def attempt(channels: Channels, envelope: Envelope) -> Outcome:
    """One attempt at `envelope`; a sender bug must not lose the message: it counts as a failed try."""
    try:
        return await channels.send(envelope)
    except Exception as exc:
        log.error("alerts.send_crashed", row=envelope.row_id, exc_info=exc)
        return Outcome("failed", f"internal error: {type(exc).__name__}: {exc}")


@contextlib.asynccontextmanager
async def open_channels(settings: DeliverySettings, resolver: Resolver | None = None) -> AsyncIterator[ChannelSenders]:
    """The real channels (signed webhooks through the guarded client, e-mail); the client is closed on exit."""
    async with webhook_client(settings, resolver) as client:
        yield ChannelSenders(WebhookSender(client, settings), EmailSender(settings))


def webhook_client(settings: DeliverySettings, resolver: Resolver | None = None) -> httpx.AsyncClient:
    """The guarded client webhooks are sent with (see `ssrf`), sized to the worker's concurrency."""
    policy = AddressPolicy.of(settings.webhook_allow_hosts)
    return guarded_client(policy, settings.webhook_timeout, resolver, max_connections=settings.concurrency)


class DeliveryWorker:
    def __init__(
        self,
        queue: OutboxQueue,
        channels: Channels,
        settings: DeliverySettings,
        *,
        bell: Bell | None = None,
        clock: Callable[[], float] = time.time,
        pruner: Pruner | None = None,
    ) -> None:
        self.queue = queue
        self.channels = channels
        self.settings = settings
        self.bell = bell or Bell()
        self.clock = clock
        self.pruner = pruner  # retention: delivered rows and old stream events, on its schedule
        self._in_flight: dict[asyncio.Task[None], Envelope] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set."""
        log.info(
            "alerts.worker_started", concurrency=self.settings.concurrency, max_attempts=self.settings.max_attempts
        )
        try:
            while not stop.is_set():
                seen = self.bell.version
                await self._prune()
                next_due = await self._pass()
                await self._sleep(stop, seen, next_due)
        finally:
            await self._abandon()
            log.info("alerts.worker_stopped")

    async def _pass(self) -> float | None:
        """Claim what is due into the free slots; when the next pending message falls due (None: none)."""
        free = self.settings.concurrency - len(self._in_flight)
        if free <= 0:
            return None
        try:
            claimed, next_due = await asyncio.to_thread(self.queue.claim, self.clock(), free)
        except Exception as exc:  # a locked or unreachable store: try again shortly, never crash the server
            log.warning("alerts.claim_failed", error=str(exc))
            return self.clock() + _STORE_RETRY
        for envelope in claimed:
            task = asyncio.create_task(self._deliver(envelope))
            self._in_flight[task] = envelope
            task.add_done_callback(self._finished)
        return next_due

    async def _prune(self) -> None:
        if self.pruner is None:
            return
        try:
            pruned = await asyncio.to_thread(self.pruner.maybe, self.clock())
        except Exception as exc:  # a busy store: pruning waits for its next turn, delivery goes on
            log.warning("alerts.prune_failed", error=str(exc))
            return
        if pruned is not None and (pruned.outbox or pruned.stream):
            log.info("alerts.pruned", outbox=pruned.outbox, stream=pruned.stream, days=self.pruner.settings.days)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.pop(task, None)
        self.bell.ring()  # a free slot: look again

    async def _sleep(self, stop: asyncio.Event, seen: int, next_due: float | None) -> None:
        timeout = self.settings.poll
        if next_due is not None:
            timeout = min(timeout, max(0.0, next_due - self.clock()))
        if stop.is_set() or timeout <= 0:
            return
        stopping = asyncio.create_task(stop.wait())
        ringing = asyncio.create_task(self.bell.wait_past(seen, timeout))
        await asyncio.wait({stopping, ringing}, return_when=asyncio.FIRST_COMPLETED)
        for task in (stopping, ringing):
            task.cancel()

    async def _deliver(self, envelope: Envelope) -> None:
        started = time.perf_counter()
        outcome = await attempt(self.channels, envelope)
        try:
            state = await asyncio.to_thread(self.queue.record, envelope, outcome, self.clock())
        except Exception as exc:  # not recorded: the lease runs out and the message is sent again (at least once)
            log.warning("alerts.record_failed", message_id=envelope.message_id, outcome=outcome.kind, error=str(exc))
            return
        log.info(
            "alerts.delivery",
            message_id=envelope.message_id,
            channel=envelope.channel,
            attempt=envelope.attempts,
            outcome=outcome.kind,
            state=state,
            detail=outcome.detail,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )

    async def _abandon(self) -> None:
        """Cancel attempts in flight and give their leases back (recorded attempts are kept)."""
        abandoned = {task: envelope.row_id for task, envelope in self._in_flight.items()}
        for task in abandoned:
            task.cancel()
        for task in abandoned:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self.queue.release, abandoned.values())


@contextlib.asynccontextmanager
async def open_worker(
    engine: Engine,
    settings: DeliverySettings,
    *,
    bell: Bell | None = None,
    resolver: Resolver | None = None,
    retention: RetentionSettings | None = None,
) -> AsyncIterator[DeliveryWorker]:
    """A worker over `engine`'s outbox with the real channels, pruning by `retention` (default: from the
    environment); its webhook client is closed on exit."""
    pruner = Pruner(engine, retention or RetentionSettings.from_env())
    async with open_channels(settings, resolver) as channels:
        yield DeliveryWorker(OutboxQueue(engine, settings), channels, settings, bell=bell, pruner=pruner)


async def work_until_signalled(
    engine: Engine, settings: DeliverySettings, retention: RetentionSettings | None = None
) -> None:
    """A worker until SIGINT or SIGTERM: `defiscope delivery worker` and `python -m defiscope.alerts.delivery`."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with open_worker(engine, settings, retention=retention) as worker:
        await worker.run(stop)
