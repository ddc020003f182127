"""A worker process: Dramatiq's worker threads consuming the chosen queues, until SIGINT or SIGTERM.

    run_worker(JobSettings.from_env(), queues=("backfill",), concurrency=4)

On a signal the process stops taking messages, lets each thread finish its job (a follow slice ends early and
hands its lease to its continuation), and exits. A worker killed outright loses nothing: its unacknowledged
messages return to their queues.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Final

import structlog
from dramatiq import Worker

from defiscope import tracing
from defiscope.service.jobs.actors import Jobs, broker_errors, open_broker
from defiscope.service.jobs.context import WorkerProcess
from defiscope.service.jobs.settings import QUEUES, InvalidJobSettings, JobSettings

log = structlog.get_logger(__name__)

#: Milliseconds a stopping worker waits for its threads' jobs (a follow slice notices within half a second).
STOP_TIMEOUT_MS: Final = 30_000
_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)


def check_queues(queues: Sequence[str]) -> tuple[str, ...]:
    unknown = sorted(set(queues) - set(QUEUES))
    if unknown or not queues:
        raise InvalidJobSettings(f"unknown queue {', '.join(unknown) or '(none)'}: choose among {', '.join(QUEUES)}")
    return tuple(dict.fromkeys(queues))


def run_worker(
    settings: JobSettings, queues: Sequence[str], concurrency: int, stop: threading.Event | None = None
) -> None:
    """Consume `queues` with `concurrency` threads until `stop` is set (by default: until SIGINT or SIGTERM)."""
    wanted = check_queues(queues)
    if concurrency < 1:
        raise InvalidJobSettings(f"concurrency must be 1 or more, got {concurrency}")
    stop = stop or stop_on_signals(threading.Event())
    with traced("defiscope-worker"):
        _consume(settings, wanted, concurrency, stop)


def _consume(settings: JobSettings, wanted: Sequence[str], concurrency: int, stop: threading.Event) -> None:
    process = WorkerProcess.open(settings)
    broker = open_broker(settings)
    try:
        with broker_errors(settings):
            Jobs(broker, settings, process)
            for name in wanted:  # declared now: a broker that cannot be reached fails here, in one line
                broker.declare_queue(settings.queue(name), ensure=True)
            worker = Worker(broker, queues={settings.queue(q) for q in wanted}, worker_threads=concurrency)
            # One message in hand per thread: a slow worker hoards nothing, a killed one gives back only its jobs.
            worker.queue_prefetch = concurrency
            worker.start()
        log.info("worker.started", queues=wanted, concurrency=concurrency)
        stop.wait()
        process.stopping.set()
        worker.stop(timeout=STOP_TIMEOUT_MS)
        log.info("worker.stopped")
    finally:
        broker.close()
        process.close()


def stop_on_signals(stop: threading.Event) -> threading.Event:
    """`stop`, set by SIGINT or SIGTERM (call from the main thread)."""
    for sig in _SIGNALS:
        signal.signal(sig, lambda *_: stop.set())
    return stop


@contextmanager
def traced(service: str) -> Iterator[None]:
    """Tracing on as `DEFISCOPE_TRACE_*` say (off by default) for this process, flushed at the end."""
    configured = tracing.configure(tracing.TraceSettings.from_env(service=service))
    try:
        yield
    finally:
        if configured is not None:
            tracing.shutdown()
