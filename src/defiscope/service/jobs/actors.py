"""The jobs as Dramatiq actors on RabbitMQ: what a producer sends and what a worker runs.

    jobs = Jobs(open_broker(settings), settings)            # a producer: the CLI, the scheduler
    jobs.backfill_chunk.send(chunk.to_message())
    jobs = Jobs(broker, settings, WorkerProcess.open(settings))   # a worker: the same actors, bound to its store

Dramatiq acknowledges a message only after its actor returns, so the messages of a worker that dies (SIGKILL,
a lost host) go back to the queue and another worker runs them; failures are retried with exponential backoff,
then left in the dead-letter queue (`<queue>.XQ`) with the reason in the job ledger.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import asdict
from typing import Any, Final, ParamSpec

import dramatiq
import structlog
from dramatiq.broker import MessageProxy
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.errors import BrokerConnectionError
from dramatiq.middleware import Middleware
from pika.exceptions import AMQPError

from defiscope import tracing
from defiscope.alerts.engine import AlertEngine
from defiscope.alerts.outbox import OutboxSink
from defiscope.alerts.wiring import alert_engine
from defiscope.analytics.grades.formula import FORMULA_VERSION
from defiscope.errors import DefiscopeError, InputError
from defiscope.service.block_hooks import Dispatch
from defiscope.service.jobs import compute, delivery, tasks
from defiscope.service.jobs.context import WorkerProcess, WorkerThread, holder_id
from defiscope.service.jobs.errors import BrokerUnavailable
from defiscope.service.jobs.lease import Lease, holding
from defiscope.service.jobs.settings import JobSettings
from defiscope.service.jobs.specs import (
    BackfillChunk,
    discovery_key,
    grades_key,
    grades_lease,
    index_key,
    retention_key,
    signals_key,
    signals_lease,
)

log = structlog.get_logger(__name__)

P = ParamSpec("P")
_MS: Final = 1000
#: The message option that carries the sender's trace context (`tracing.carrier()`) to the job.
TRACE_OPTION: Final = "trace_context"
#: A chunk runs for at most this long (Dramatiq interrupts it, then retries): a stuck RPC must not hold a chunk.
CHUNK_TIME_LIMIT_S: Final = 3600
#: A delivery job sends one message (bounded by the webhook timeout); this only stops one that hangs.
DELIVERY_TIME_LIMIT_MS: Final = 600_000
#: How often a signal rules' pass waiting for its confirmations looks at the stored head again.
CONFIRMATION_POLL_MS: Final = 2000
#: How often a grades job waiting for its chain's lease (another worker judging the chain) asks again.
LEASE_POLL_MS: Final = 1000
#: Past a retry time or a lease's end, so the look finds it due despite two processes' clock reads.
LOOK_MARGIN_MS: Final = 50


class NotAWorker(DefiscopeError):
    """A job was asked to run in a process that only sends them."""


@contextmanager
def broker_errors(settings: JobSettings) -> Iterator[None]:
    """A broker that cannot be reached, as one `BrokerUnavailable` line naming it (its password masked)."""
    try:
        yield
    except (AMQPError, BrokerConnectionError) as exc:
        raise BrokerUnavailable(f"message broker at {masked_url(settings.broker_url)} unreachable: {exc!r}") from exc


def masked_url(url: str) -> str:
    """The broker URL without its password.

    >>> masked_url("amqp://guest:guest@127.0.0.1:5672/%2F")
    'amqp://guest:***@127.0.0.1:5672/%2F'
    """
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at:
        return url
    return f"{scheme}{sep}{credentials.split(':', 1)[0]}:***@{host}"


def open_broker(settings: JobSettings) -> RabbitmqBroker:
    """The RabbitMQ broker, publishing with confirms (a send returns once RabbitMQ has the message)."""
    return RabbitmqBroker(url=settings.broker_url, confirm_delivery=True)


class Jobs:
    """The job actors on one broker; a worker passes its `WorkerProcess`, a producer does not."""

    def __init__(self, broker: RabbitmqBroker, settings: JobSettings, process: WorkerProcess | None = None) -> None:
        self.broker = broker
        self.settings = settings
        self._process = process
        retried = {"max_retries": settings.chunk_retries, "min_backoff": _MS, "max_backoff": 60 * _MS}
        self.backfill_chunk = self._actor(
            self._backfill_chunk,
            "backfill",
            **retried,
            time_limit=CHUNK_TIME_LIMIT_S * _MS,
            throws=(InputError,),  # bad input stays bad: recorded, not retried
        )
        self.follow_head = self._actor(
            self._follow_head,
            "follow",
            max_retries=0,  # the scheduler re-sends a follow job whenever the chain's lease has run out
            time_limit=int((settings.follow_slice_seconds + 2 * settings.lease_seconds + 60) * _MS),
        )
        self.discovery_scan = self._actor(
            self._discovery_scan, "discovery", **retried, time_limit=CHUNK_TIME_LIMIT_S * _MS
        )
        self.deliver_alert = self._actor(self._deliver_alert, "delivery", **retried, time_limit=DELIVERY_TIME_LIMIT_MS)
        self.prune_outbox = self._actor(self._prune_outbox, "delivery", **retried, time_limit=CHUNK_TIME_LIMIT_S * _MS)
        computed = {**retried, "time_limit": CHUNK_TIME_LIMIT_S * _MS, "throws": (InputError,)}
        self.publish_grades = self._actor(self._publish_grades, "analytics", **computed)
        self.judge_signals = self._actor(self._judge_signals, "analytics", **computed)
        self.track_index = self._actor(self._track_index, "analytics", **computed)
        if not any(isinstance(m, TraceContext) for m in broker.middleware):
            broker.add_middleware(TraceContext())
        if process is not None:
            broker.add_middleware(_ThreadContexts(process))

    def _actor(self, fn: Callable[P, None], queue: str, **options: Any) -> dramatiq.Actor[P, None]:
        name = fn.__name__.lstrip("_")
        return dramatiq.Actor(
            fn, broker=self.broker, actor_name=name, queue_name=self.settings.queue(queue), priority=0, options=options
        )

    @property
    def process(self) -> WorkerProcess:
        if self._process is None:
            raise NotAWorker("jobs run in `defiscope worker` processes, not in a producer")
        return self._process

    def _backfill_chunk(self, message: dict[str, Any]) -> None:
        chunk = BackfillChunk.from_message(message)
        process = self.process
        tasks.run_keyed(process, chunk.key, "backfill", lambda t: tasks.backfill_chunk(process, t, chunk))

    def _discovery_scan(self, chain_id: int, block: int | None = None) -> None:
        process = self.process
        thread = process.thread()
        key, at = (
            thread.run(tasks.discovery_block(thread, chain_id))
            if block is None
            else (discovery_key(chain_id, block), block)
        )
        tasks.run_keyed(process, key, "discovery", lambda t: tasks.discovery_scan(process, t, chain_id, at))

    def _follow_head(self, chain_id: int, handover: dict[str, Any] | None = None) -> None:
        process = self.process
        thread = process.thread()
        given = None if handover is None else Lease(**handover)
        lease = thread.run(tasks.follow_slice(process, thread, chain_id, holder_id(), given, self.dispatch()))
        if lease is not None:
            # The slice is over (or the process stops): the continuation takes the lease over from this holder,
            # on whichever worker gets it; a watchdog's follow job finds the lease held and returns.
            self.follow_head.send(chain_id, asdict(lease))
            log.info("follow.handed_over", chain_id=chain_id, token=lease.token)

    def dispatch(self) -> Dispatch:
        """What the follow job sends instead of running it inline (`block_hooks.worker_hooks`)."""
        return Dispatch(
            deliveries=self.send_deliveries,
            grades=self.publish_grades.send,
            index=self.track_index.send,
            indices={},
        )

    def send_deliveries(self, row_ids: Sequence[int]) -> None:
        """One delivery job per new outbox row (`OutboxSink`'s dispatch, after the alert's commit). A broker that
        fails here leaves the rows pending: the scheduler's outbox sweep (`sweep.OutboxSweep`) sends their jobs once
        the grace period has passed (or a `defiscope delivery worker`, same claims, takes them)."""
        try:
            for row_id in row_ids:
                self.deliver_alert.send(row_id)
        except (AMQPError, BrokerConnectionError) as exc:
            log.warning("delivery.not_sent", rows=list(row_ids), error=repr(exc))

    def _deliver_alert(self, row_id: int) -> None:
        process = self.process
        thread = process.thread()
        look = thread.run(delivery.deliver_row(process, thread, row_id))
        if look is not None:  # not settled: come back when its retry falls due or its lease runs out
            self.deliver_alert.send_with_options(args=(row_id,), delay=_delay_ms(look))

    def _prune_outbox(self, period_start: int) -> None:
        process = self.process
        tasks.run_keyed(process, retention_key(period_start), "retention", lambda _t: delivery.prune_records(process))

    def _publish_grades(self, chain_id: int, block: int) -> None:
        process = self.process
        with holding(process.leases, grades_lease(chain_id, FORMULA_VERSION), holder_id()) as held:
            if held is None:  # another worker is judging the chain's blocks: this one may find its block judged
                self.publish_grades.send_with_options(args=(chain_id, block), delay=LEASE_POLL_MS)
                return

            async def judge_in_order(thread: WorkerThread) -> Mapping[str, object]:
                publisher = await compute.worker_publisher(process, thread)
                depths = sorted(await (await self._signal_engine(thread)).published_depths(chain_id))

                started: set[int] = set()  # depths whose passes' start this job made sure of (once each)

                def judge(number: int) -> None:  # the signal rules judge each publication, each depth once confirmed
                    for depth in depths:
                        if depth not in started:
                            compute.start_signal_passes(process.repo, chain_id, number, depth)
                            started.add(depth)
                        self.judge_signals.send(chain_id, number, depth)

                return await compute.publish_grades_through(
                    process.repo, publisher, chain_id, block, keep=held.keep, published=judge
                )

            tasks.run_keyed(process, grades_key(chain_id, block, FORMULA_VERSION), "grades", judge_in_order)

    def _judge_signals(self, chain_id: int, block: int, depth: int) -> None:
        process = self.process

        async def judge(thread: WorkerThread) -> Mapping[str, object]:
            engine = await self._signal_engine(thread)
            return await compute.judge_signals_through(process.repo, engine, chain_id, block, depth)

        # Its rules' confirmations are not stored yet, or another worker is judging the chain at this depth.
        if compute.confirmed(process.repo, chain_id, block, depth):
            with holding(process.leases, signals_lease(chain_id, depth), holder_id()) as held:
                if held is not None:
                    tasks.run_keyed(process, signals_key(chain_id, block, depth), "signals", judge)
                    return
        self.judge_signals.send_with_options(args=(chain_id, block, depth), delay=CONFIRMATION_POLL_MS)

    def _track_index(self, chain_id: int, index_id: str, block: int) -> None:
        process = self.process
        key = index_key(chain_id, index_id, block)
        tasks.run_keyed(process, key, "index", lambda _t: compute.track_index_to(process, chain_id, index_id, block))

    async def _signal_engine(self, thread: WorkerThread) -> AlertEngine:
        """This thread's alert engine for the signal rules' pass (its messages sent as delivery jobs)."""
        repo = self.process.repo
        return await thread.kept(
            "signal-engine", lambda: nullcontext(alert_engine(repo, OutboxSink(dispatch=self.send_deliveries)))
        )


def _delay_ms(at: float) -> int:
    return max(0, math.ceil((at - time.time()) * _MS)) + LOOK_MARGIN_MS


class _ThreadContexts(Middleware):
    """Each worker thread closes its event loop and engines as it shuts down."""

    def __init__(self, process: WorkerProcess) -> None:
        self.process = process

    def before_worker_thread_shutdown(self, broker: dramatiq.Broker, thread: Any) -> None:
        self.process.close_thread()


class TraceContext(Middleware):
    """A job's span joins the trace of whoever sent it (an API request, a CLI command, the job that handed over):
    the sender's context rides in the message's options. A no-op while tracing is off."""

    def __init__(self) -> None:
        self._local = threading.local()

    def before_enqueue(self, broker: dramatiq.Broker, message: dramatiq.Message[Any], delay: int) -> None:
        headers = tracing.carrier()
        if headers:
            message.options[TRACE_OPTION] = headers

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        stack = ExitStack()
        stack.enter_context(tracing.joined(message.options.get(TRACE_OPTION, {})))
        attributes = {"job.actor": message.actor_name, "job.queue": message.queue_name, "job.id": message.message_id}
        stack.enter_context(tracing.span(f"job {message.actor_name}", attributes))
        self._local.stack = stack

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        stack: ExitStack | None = getattr(self._local, "stack", None)
        if stack is None:
            return
        self._local.stack = None
        if exception is None:
            stack.close()
        else:  # the span records the failure and is marked an error
            stack.__exit__(type(exception), exception, exception.__traceback__)

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self.after_process_message(broker, message)
