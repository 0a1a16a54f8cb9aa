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
import random
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal, NamedTuple

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from streams.contracts.base import Event

HEADER = "traceparent"
TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
NO_TRACE, NO_SPAN = "0" * 32, "0" * 16
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


class Parent(NamedTuple):
    """A valid ``traceparent``'s parts."""

    trace_id: str
    span_id: str
    sampled: bool


def parse(traceparent: str | bytes | None) -> Parent | None:
    """A ``traceparent``'s parts, or None when it is missing or not a valid one."""
    if isinstance(traceparent, bytes):
        traceparent = traceparent.decode("latin-1")
    match = TRACEPARENT.fullmatch(traceparent or "")
    if match is None:
        return None
    trace_id, span_id, flags = match.groups()
    if trace_id == NO_TRACE or span_id == NO_SPAN:
        return None
    return Parent(trace_id, span_id, bool(int(flags, 16) & 1))


# Ids need to be unique, not secret: the OpenTelemetry SDK's own generator is ``random``'s too
# (seeded from the OS, and again in a forked child), at a fraction of the cost of ``secrets``
# (a system call per id). Never all zeros, which would be invalid.
def _span_id() -> str:
    return f"{random.getrandbits(64) or 1:016x}"


def _trace_id() -> str:
    return f"{random.getrandbits(128) or 1:032x}"


def _parent_context(parent: Parent | None) -> Any:
    if parent is None:
        return None
    context = trace.SpanContext(
        int(parent.trace_id, 16),
        int(parent.span_id, 16),
        is_remote=True,
        trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED if parent.sampled else 0),
    )
    return trace.set_span_in_context(trace.NonRecordingSpan(context))


def _open_span(name: str, parent: Parent | None, kind: trace.SpanKind) -> tuple[str, str, trace.Span | None]:
    """A hop: its ``traceparent`` (the parent's trace, or a new one), its trace id and its
    exported span (None when spans are not exported, or the trace is not sampled)."""
    tracer = _TRACING.tracer
    if tracer is None:
        trace_id = parent.trace_id if parent is not None else _trace_id()
        return f"00-{trace_id}-{_span_id()}-01", trace_id, None
    if parent is not None and not parent.sampled:
        # A trace its head left unsampled (most of them): the SDK would only make a span that
        # records nothing, so the hop gets its id here, unsampled too, at a fraction of the cost.
        return f"00-{parent.trace_id}-{_span_id()}-00", parent.trace_id, None
    span = tracer.start_span(name, context=_parent_context(parent), kind=kind)
    context = span.get_span_context()
    trace_id = f"{context.trace_id:032x}"
    return f"00-{trace_id}-{context.span_id:016x}-{context.trace_flags:02x}", trace_id, span


def new_traceparent(trace_id: str | None = None) -> str:
    """A new span: of ``trace_id``'s trace, or of a new trace."""
    return f"00-{trace_id or _trace_id()}-{_span_id()}-01"


def trace_id_of(traceparent: str | bytes | None) -> str | None:
    parent = parse(traceparent)
    return parent.trace_id if parent is not None else None


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
    current, trace_id, span = _open_span(name, parse(traceparent), SPAN_KINDS[kind])
    token, span_token = _current.set(current), _span.set(span)
    try:
        yield trace_id
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
        parent = parse(header)
        if parent is None:
            continue
        hop, _, span = _open_span(name, parent, trace.SpanKind.CONSUMER)
        if span is not None:
            span.set_attribute("event.id", str(event.event_id))
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
