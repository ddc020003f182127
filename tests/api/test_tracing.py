"""OpenTelemetry spans collected in memory: an API request that reads the chain (a quote on the devnet) is one
tree, its JSON-RPC calls children of the request's span; a caller's traceparent and a job's headers join it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from defiscope import tracing
from tests.api.conftest import Indexed

QUOTE = {"chain": "ethereum", "sell": "USDC", "buy": "WETH", "amount": "1000"}
#: A caller's W3C trace context (the example of the Trace Context spec).
CALLER_TRACE = 0x0AF7651916CD43DD8448EB211C80319C
CALLER_SPAN = 0xB7AD6B7169203331
TRACEPARENT = f"00-{CALLER_TRACE:032x}-{CALLER_SPAN:016x}-01"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing.configure(tracing.TraceSettings(service="test"), SimpleSpanProcessor(exporter))
    yield exporter
    tracing.shutdown()


def _one(found: list[ReadableSpan]) -> ReadableSpan:
    assert len(found) == 1, [s.name for s in found]
    return found[0]


def test_a_quotes_rpc_calls_are_children_of_its_request_span(indexed: Indexed, spans: InMemorySpanExporter) -> None:
    spans.clear()  # indexing happened before tracing was on; nothing of it belongs to this request
    answer = indexed.client.get("/v1/quote", params=QUOTE, headers={"traceparent": TRACEPARENT})
    assert answer.status_code == 200
    finished = spans.get_finished_spans()
    request = _one([s for s in finished if s.kind is SpanKind.SERVER])
    assert request.name == "GET /v1/quote"
    assert request.attributes is not None
    assert request.attributes["http.response.status_code"] == 200
    assert request.attributes["http.route"] == "/v1/quote"
    # The caller's context is the parent: the request joins the caller's trace.
    assert request.parent is not None
    assert (request.parent.trace_id, request.parent.span_id) == (CALLER_TRACE, CALLER_SPAN)
    assert request.context.trace_id == CALLER_TRACE

    rpc = [s for s in finished if s.kind is SpanKind.CLIENT]
    assert rpc, "a quote reads the chain"
    for call in rpc:
        assert call.parent is not None
        assert call.parent.span_id == request.context.span_id
        assert call.context.trace_id == CALLER_TRACE
        assert call.attributes is not None
        assert call.attributes["rpc.chain_id"] == 1
        assert call.name == f"rpc {call.attributes['rpc.method']}"
        assert isinstance(call.attributes["rpc.batch_size"], int)
        assert call.attributes["rpc.batch_size"] >= 1
    assert {call.attributes["rpc.method"] for call in rpc if call.attributes} >= {"eth_call"}

    # Served from the cache: a request span and no RPC at all.
    spans.clear()
    assert indexed.client.get("/v1/quote", params=QUOTE).status_code == 200
    assert [s.kind for s in spans.get_finished_spans()] == [SpanKind.SERVER]


def test_a_job_joins_the_trace_of_the_span_that_queued_it(spans: InMemorySpanExporter) -> None:
    with tracing.span("GET /v1/backfill", server=True) as queued:
        headers = tracing.carrier()  # what a job's headers carry
    assert queued is not None
    assert set(headers) == {"traceparent"}
    with tracing.joined(headers), tracing.span("job backfill", {"job.chunk": 3}):
        pass
    job = _one([s for s in spans.get_finished_spans() if s.name == "job backfill"])
    assert job.parent is not None
    assert job.parent.span_id == queued.get_span_context().span_id
    assert job.context.trace_id == queued.get_span_context().trace_id


def test_off_by_default_nothing_is_recorded_or_carried() -> None:
    tracing.configure(tracing.TraceSettings.from_env({}))
    assert not tracing.enabled()
    with tracing.span("anything") as current, tracing.joined({"traceparent": TRACEPARENT}):
        assert current is None
        assert tracing.carrier() == {}
