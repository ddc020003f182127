"""The jobs as Dramatiq actors on RabbitMQ: what a producer sends and what a worker runs.

    jobs = Jobs(open_broker(settings), settings)            # a producer: the CLI, the scheduler
    jobs.backfill_chunk.send(chunk.to_message())
    jobs = Jobs(broker, settings, WorkerProcess.open(settings))   # a worker: the same actors, bound to its store

Dramatiq acknowledges a message only after its actor returns, so the messages of a worker that dies (SIGKILL,
a lost host) go back to the queue and another worker runs them; failures are retried with exponential backoff,
then left in the dead-letter queue (`<queue>.XQ`) with the reason in the job ledger.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
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
from defiscope.errors import DefiscopeError, InputError
from defiscope.service.jobs import tasks
from defiscope.service.jobs.context import WorkerProcess, holder_id
from defiscope.service.jobs.errors import BrokerUnavailable
from defiscope.service.jobs.lease import Lease
from defiscope.service.jobs.settings import JobSettings
from defiscope.service.jobs.specs import BackfillChunk, discovery_key

log = structlog.get_logger(__name__)

P = ParamSpec("P")
_MS: Final = 1000
#: The message option that carries the sender's trace context (`tracing.carrier()`) to the job.
TRACE_OPTION: Final = "trace_context"
#: A chunk runs for at most this long (Dramatiq interrupts it, then retries): a stuck RPC must not hold a chunk.
CHUNK_TIME_LIMIT_S: Final = 3600


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
        lease = thread.run(tasks.follow_slice(process, thread, chain_id, holder_id(), given))
        if lease is not None:
            # The slice is over (or the process stops): the continuation takes the lease over from this holder,
            # on whichever worker gets it; a watchdog's follow job finds the lease held and returns.
            self.follow_head.send(chain_id, asdict(lease))
            log.info("follow.handed_over", chain_id=chain_id, token=lease.token)


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
