"""Trace context across processes: W3C ``traceparent``, from the HTTP request or socket event
through Kafka headers and every agent to the warehouse row.

- The edge starts a trace per request or socket event (or continues the caller's
  ``traceparent``) and binds ``trace_id`` to its log lines.
- Each hop (a request, a socket event, an agent handling an input) is a span; every event
  produced under it carries a ``traceparent`` naming that span as the parent.
- An agent handling a batch knows each input's trace; an output event continues the trace of
  the input it answers, matched by the business id they share (``gift_id``, ``message_id``,
  ...): a batch of 500 gifts keeps 500 traces apart, one span each.
- The sink writes the trace id to each raw table's ``_trace_id`` column, and
  ``python -m ops trace EVENT_ID`` follows it.

Spans are exported over OTLP/HTTP by the OpenTelemetry SDK when an endpoint is configured
(the standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``), from
a background thread in batches; without one, only the context travels (no span is recorded).
A share of new traces is recorded (``OBSERVE_TRACE_SAMPLE_RATIO``, head sampling: a recorded
span costs ~50 µs of CPU, a gift makes four); a caller's sampled ``traceparent`` is always
followed.
``OBSERVE_TELEMETRY=false`` turns tracing off altogether (to measure what it costs).
"""

from __future__ import annotations

import atexit
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from streams.contracts.base import Event

HEADER = "traceparent"
TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
# The ids an output event shares with the input that caused it.
CORRELATION_FIELDS = ("gift_id", "message_id", "topup_id", "payout_id", "action_id", "stream_id")

_current: ContextVar[str | None] = ContextVar("traceparent", default=None)
_span: ContextVar[trace.Span | None] = ContextVar("span", default=None)
_by_correlation: ContextVar[dict[tuple[str, Any], str] | None] = ContextVar("traceparents", default=None)


SPAN_KINDS = {"server": trace.SpanKind.SERVER, "consumer": trace.SpanKind.CONSUMER}


class _Tracing:
    enabled = True
    tracer: trace.Tracer | None = None  # set when spans are exported


_TRACING = _Tracing()


def configure(
    deployable: str, *, enabled: bool = True, exporter: SpanExporter | None = None, sample_ratio: float = 1.0
) -> TracerProvider | None:
    """At a process's start: tracing on or off, and the spans sent to ``exporter`` (OTLP/HTTP in
    the deployables) in batches from a background thread, as ``service.name=deployable``. A new
    trace is recorded with probability ``sample_ratio``; a continued one as its caller decided
    (the ``traceparent``'s sampled flag), so a trace is whole or absent. The provider, when
    spans are exported."""
    _TRACING.enabled = enabled
    _TRACING.tracer = None
    if not enabled or exporter is None:
        return None
    provider = TracerProvider(
        sampler=ParentBased(TraceIdRatioBased(sample_ratio)),
        resource=Resource.create({"service.name": deployable}),
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    atexit.register(provider.shutdown)  # flushes the spans still queued
    _TRACING.tracer = provider.get_tracer("live-platform")
    return provider


def _parent_context(traceparent: str | None) -> Any:
    match = TRACEPARENT.fullmatch(traceparent or "")
    if match is None or match.group(1) == "0" * 32 or match.group(2) == "0" * 16:
        return None
    parent = trace.SpanContext(
        int(match.group(1), 16),
        int(match.group(2), 16),
        is_remote=True,
        trace_flags=trace.TraceFlags(int(match.group(3), 16) & trace.TraceFlags.SAMPLED),
    )
    return trace.set_span_in_context(trace.NonRecordingSpan(parent))


def _open_span(
    name: str, parent: str | None, kind: trace.SpanKind, attributes: dict[str, str] | None = None
) -> tuple[str, trace.Span | None]:
    """A hop: its ``traceparent`` (the parent's trace, or a new one) and its exported span
    (None when spans are not exported)."""
    tracer = _TRACING.tracer
    if tracer is None:
        return new_traceparent(trace_id_of(parent)), None
    match = TRACEPARENT.fullmatch(parent or "")
    if (
        match is not None
        and match.group(1) != "0" * 32
        and match.group(2) != "0" * 16
        and not int(match.group(3), 16) & 1
    ):
        # A trace its head left unsampled (most of them): the SDK would only make a span that
        # records nothing, so the hop gets its id here, unsampled too, at a fraction of the cost.
        return f"00-{match.group(1)}-{secrets.token_hex(8)}-00", None
    span = tracer.start_span(name, context=_parent_context(parent), kind=kind, attributes=attributes)
    context = span.get_span_context()
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}", span


def new_traceparent(trace_id: str | None = None) -> str:
    """A new span: of ``trace_id``'s trace, or of a new trace."""
    return f"00-{trace_id or secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def trace_id_of(traceparent: str | bytes | None) -> str | None:
    if isinstance(traceparent, bytes):
        traceparent = traceparent.decode("latin-1")
    match = TRACEPARENT.fullmatch(traceparent or "")
    return match.group(1) if match and match.group(1) != "0" * 32 else None


def current_trace_id() -> str | None:
    return trace_id_of(_current.get())


@contextmanager
def traced(
    traceparent: str | bytes | None = None,
    name: str = "request",
    kind: Literal["server", "consumer"] = "server",
) -> Iterator[str | None]:
    """Make a hop current, in the caller's trace (a valid ``traceparent``) or a new one. Yields
    the trace id (None while tracing is off)."""
    if not _TRACING.enabled:
        yield None
        return
    if isinstance(traceparent, bytes):
        traceparent = traceparent.decode("latin-1")
    current, span = _open_span(name, traceparent, SPAN_KINDS[kind])
    token, span_token = _current.set(current), _span.set(span)
    try:
        yield trace_id_of(current)
    finally:
        _current.reset(token)
        _span.reset(span_token)
        if span is not None:
            span.end()


def describe(name: str, attributes: Mapping[str, str | int] | None = None) -> None:
    """Name the current hop's span once it is known (an HTTP route is, after routing)."""
    span = _span.get()
    if span is not None:
        span.update_name(name)
        span.set_attributes(attributes or {})


_CORRELATION_BY_MODEL: dict[type[Event], tuple[str, ...]] = {}


def _keys(event: Event) -> Iterator[tuple[str, Any]]:
    """The correlation ids an event carries (a handful of dict lookups: this runs per event)."""
    model = type(event)
    names = _CORRELATION_BY_MODEL.get(model)
    if names is None:
        names = _CORRELATION_BY_MODEL[model] = tuple(f for f in CORRELATION_FIELDS if f in model.model_fields)
    fields = event.__dict__
    for name in names:
        value = fields[name]
        if value is not None:
            yield name, value


@contextmanager
def handling(inputs: Iterable[tuple[Event, str | bytes | None]], name: str = "handle") -> Iterator[None]:
    """While a batch is handled: a hop per traced input (event, its ``traceparent`` header), so
    the events produced for it continue its trace with that hop as their parent."""
    if not _TRACING.enabled:
        yield
        return
    traces: dict[tuple[str, Any], str] = {}
    spans: list[trace.Span] = []
    for event, header in inputs:
        parent = header.decode("latin-1") if isinstance(header, bytes) else header
        if trace_id_of(parent) is None:
            continue
        hop, span = _open_span(name, parent, trace.SpanKind.CONSUMER, {"event.id": str(event.event_id)})
        if span is not None:
            spans.append(span)
        for key in _keys(event):
            traces.setdefault(key, hop)
    token = _by_correlation.set(traces)
    try:
        yield
    finally:
        _by_correlation.reset(token)
        for span in spans:
            span.end()


def header_for(event: Event) -> tuple[str, bytes] | None:
    """The ``traceparent`` header an outgoing event carries (its parent: the hop that produced
    it), if a trace covers it."""
    traces = _by_correlation.get()
    if traces:
        for key in _keys(event):
            hop = traces.get(key)
            if hop is not None:
                return HEADER, hop.encode()
    current = _current.get()
    if current is not None:
        return HEADER, current.encode()
    return None


def header_value(headers: Iterable[tuple[str, Any]] | Mapping[str, Any] | None) -> bytes | None:
    """The ``traceparent`` among a record's headers (pairs, or a mapping: clients differ)."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers or ()
    for name, value in pairs:
        if name == HEADER:
            return value.encode() if isinstance(value, str) else value
    return None
