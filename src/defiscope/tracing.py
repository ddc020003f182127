"""OpenTelemetry traces: API requests, JSON-RPC calls, and (later) jobs, in one tree per request.

Off by default, and then free: `span()` returns a shared no-op context manager after one flag check, and
no OpenTelemetry object is created. `DEFISCOPE_TRACE_EXPORTER=console` prints finished spans as JSON on
stderr; `otlp` sends them over OTLP/HTTP to `DEFISCOPE_TRACE_ENDPOINT` (needs the `otlp` extra).
`DEFISCOPE_TRACE_SAMPLE` (0..1, default 1) records that share of new traces: a recorded span costs tens of
microseconds plus its export (`benchmarks/tracing_cost.py`), an unsampled one a few.

    configure(TraceSettings.from_env())                  # once per process (each API worker does it)
    with span("rpc eth_call", {"rpc.chain_id": 1}):      # a child of whatever span is current
        ...
    headers = carrier()                                  # {'traceparent': '00-...'} to put in a job's headers
    with joined(headers), span("job backfill"):          # the job's spans join the request that queued it
        ...

Context follows asyncio tasks and `run_in_threadpool` (contextvars), so the RPC spans of a quote computed
on the event loop or in a worker thread are children of the API request's span.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Final, Literal

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from defiscope.chain.errors import InvalidInput

Exporter = Literal["off", "console", "otlp"]
EXPORTERS: Final = ("off", "console", "otlp")
TRACER_NAME: Final = "defiscope"
#: A local OpenTelemetry collector's OTLP/HTTP traces endpoint.
DEFAULT_ENDPOINT: Final = "http://127.0.0.1:4318/v1/traces"
_PROPAGATOR: Final = TraceContextTextMapPropagator()
_OFF: Final = nullcontext(None)


@dataclass(frozen=True, slots=True)
class TraceSettings:
    """Where spans go: `DEFISCOPE_TRACE_EXPORTER` (off, console, otlp), `DEFISCOPE_TRACE_ENDPOINT`,
    `DEFISCOPE_TRACE_SERVICE` (the service.name resource: api, worker, ...)."""

    exporter: Exporter = "off"
    endpoint: str = DEFAULT_ENDPOINT
    service: str = "defiscope"
    sample: float = 1.0  # share of new traces recorded (DEFISCOPE_TRACE_SAMPLE); joined ones follow the caller

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, service: str = "defiscope") -> TraceSettings:
        """The environment's settings; `service` names this process kind unless DEFISCOPE_TRACE_SERVICE does."""
        env = os.environ if env is None else env
        exporter = env.get("DEFISCOPE_TRACE_EXPORTER", "off").strip().lower() or "off"
        if exporter not in EXPORTERS:
            raise InvalidInput(f"DEFISCOPE_TRACE_EXPORTER: expected one of {', '.join(EXPORTERS)}, got {exporter!r}")
        raw_sample = env.get("DEFISCOPE_TRACE_SAMPLE", "1")
        try:
            sample = float(raw_sample)
        except ValueError:
            sample = -1.0
        if not 0.0 <= sample <= 1.0:
            raise InvalidInput(f"DEFISCOPE_TRACE_SAMPLE: expected a share between 0 and 1, got {raw_sample!r}")
        return cls(
            sample=sample,
            exporter=exporter,  # type: ignore[arg-type]  # checked against EXPORTERS above
            endpoint=env.get("DEFISCOPE_TRACE_ENDPOINT", DEFAULT_ENDPOINT),
            service=env.get("DEFISCOPE_TRACE_SERVICE", service),
        )


class _State:
    """The process's tracer once tracing is on; None keeps every helper a no-op."""

    tracer: trace.Tracer | None = None
    provider: TracerProvider | None = None


def enabled() -> bool:
    return _State.tracer is not None


def check(settings: TraceSettings) -> None:
    """Raise the one-line `InvalidInput` that `configure` would, without starting anything (a command checks
    before it spawns processes that would each fail)."""
    if settings.exporter == "otlp":
        _exporter(settings).shutdown()


def _exporter(settings: TraceSettings) -> SpanExporter:
    if settings.exporter == "console":
        return ConsoleSpanExporter(out=sys.stderr)  # stdout stays for command output, as with logs
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found,unused-ignore]
            OTLPSpanExporter,
        )
    except ImportError:
        raise InvalidInput(
            "DEFISCOPE_TRACE_EXPORTER=otlp needs the OTLP exporter: pip install 'defiscope[otlp]'"
        ) from None
    exporter: SpanExporter = OTLPSpanExporter(endpoint=settings.endpoint)
    return exporter


def configure(settings: TraceSettings, processor: SpanProcessor | None = None) -> TracerProvider | None:
    """Turn tracing on for this process as `settings` say (or with `processor`, e.g. an in-memory exporter's
    in tests); returns the provider, None when tracing stays off. Our own provider, not the global one, so that
    a second call (tests) replaces it cleanly."""
    shutdown()
    if processor is None and settings.exporter == "off":
        return None
    provider = TracerProvider(
        resource=Resource.create({"service.name": settings.service}),
        sampler=ParentBased(TraceIdRatioBased(settings.sample)),
    )
    provider.add_span_processor(processor or BatchSpanProcessor(_exporter(settings)))
    _State.provider = provider
    _State.tracer = provider.get_tracer(TRACER_NAME)
    return provider


def shutdown() -> None:
    """Flush and stop the exporter (at process exit); tracing is off afterwards."""
    provider, _State.provider, _State.tracer = _State.provider, None, None
    if provider is not None:
        provider.shutdown()


def span(
    name: str, attributes: Mapping[str, str | int | float | bool] | None = None, *, server: bool = False
) -> AbstractContextManager[Span | None]:
    """A span named `name`, child of the current one; the shared no-op when tracing is off. An exception
    leaving it is recorded and marks the span as an error."""
    tracer = _State.tracer
    if tracer is None:
        return _OFF
    kind = SpanKind.SERVER if server else SpanKind.INTERNAL
    return tracer.start_as_current_span(name, kind=kind, attributes=dict(attributes or {}))


def client_span(name: str, attributes: Mapping[str, str | int | float | bool]) -> AbstractContextManager[Span | None]:
    """A span for a call to another service (a JSON-RPC endpoint)."""
    tracer = _State.tracer
    if tracer is None:
        return _OFF
    return tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=dict(attributes))


def fail(current: Span | None, reason: str) -> None:
    """Mark `current` as failed with `reason` (an answer that is an error without an exception: a 5xx)."""
    if current is not None:
        current.set_status(Status(StatusCode.ERROR, reason))


def carrier() -> dict[str, str]:
    """The current trace context as W3C headers (`traceparent`), to hand to a job or a downstream request;
    empty when tracing is off or no span is current."""
    headers: dict[str, str] = {}
    if _State.tracer is not None:
        _PROPAGATOR.inject(headers)
    return headers


@contextlib.contextmanager
def joined(headers: Mapping[str, str]) -> Iterator[None]:
    """Make the trace context in `headers` (from `carrier()` or an HTTP request) current: spans opened inside
    are its children. A no-op when tracing is off or the headers carry none."""
    if _State.tracer is None or "traceparent" not in headers:
        yield
        return
    token = otel_context.attach(_PROPAGATOR.extract(dict(headers)))
    try:
        yield
    finally:
        otel_context.detach(token)
