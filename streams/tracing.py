"""Trace context across processes: W3C ``traceparent``, from the HTTP request or socket event
through Kafka headers and every agent to the warehouse row.

- The edge starts a trace per request or socket event (or continues the caller's
  ``traceparent``) and binds ``trace_id`` to its log lines.
- Every event produced while a trace is current carries a ``traceparent`` header: a new span
  of the same trace.
- An agent handling a batch knows each input's trace; an output event continues the trace of
  the input it answers, matched by the business id they share (``gift_id``, ``message_id``,
  ...): a batch of 500 gifts keeps 500 traces apart.
- The sink writes the trace id to each raw table's ``_trace_id`` column, and
  ``python -m ops trace EVENT_ID`` follows it.

This is the format OpenTelemetry propagates (``00-<trace id>-<span id>-<flags>``); exporting
spans to a collector is not done here.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from streams.contracts.base import Event

HEADER = "traceparent"
TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}")
# The ids an output event shares with the input that caused it.
CORRELATION_FIELDS = ("gift_id", "message_id", "topup_id", "payout_id", "action_id", "stream_id")

_current: ContextVar[str | None] = ContextVar("traceparent", default=None)
_by_correlation: ContextVar[dict[tuple[str, str], str] | None] = ContextVar("traceparents", default=None)


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
def traced(traceparent: str | bytes | None = None) -> Iterator[str]:
    """Make a trace current: the caller's (a valid ``traceparent``), else a new one. Yields its id."""
    trace_id = trace_id_of(traceparent) or secrets.token_hex(16)
    token = _current.set(new_traceparent(trace_id))
    try:
        yield trace_id
    finally:
        _current.reset(token)


def _keys(event: Event) -> Iterator[tuple[str, str]]:
    for name in CORRELATION_FIELDS:
        value = getattr(event, name, None)
        if value is not None:
            yield name, str(value)


@contextmanager
def handling(inputs: Iterable[tuple[Event, str | bytes | None]]) -> Iterator[None]:
    """While a batch is handled: the trace of each input (event, its ``traceparent`` header), so
    the events produced for it continue its trace."""
    traces: dict[tuple[str, str], str] = {}
    for event, header in inputs:
        trace_id = trace_id_of(header)
        if trace_id is not None:
            for key in _keys(event):
                traces.setdefault(key, trace_id)
    token = _by_correlation.set(traces)
    try:
        yield
    finally:
        _by_correlation.reset(token)


def header_for(event: Event) -> tuple[str, bytes] | None:
    """The ``traceparent`` header an outgoing event carries, if a trace covers it."""
    traces = _by_correlation.get()
    if traces:
        for key in _keys(event):
            trace_id = traces.get(key)
            if trace_id is not None:
                return HEADER, new_traceparent(trace_id).encode()
    current = _current.get()
    if current is not None:
        return HEADER, new_traceparent(trace_id_of(current)).encode()
    return None


def header_value(headers: Iterable[tuple[str, Any]] | Mapping[str, Any] | None) -> bytes | None:
    """The ``traceparent`` among a record's headers (pairs, or a mapping: clients differ)."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers or ()
    for name, value in pairs:
        if name == HEADER:
            return value.encode() if isinstance(value, str) else value
    return None
