"""Trace context: continued from a caller, carried on every event produced under it, and kept
apart per input when an agent handles a batch."""

from __future__ import annotations

import uuid

from streams.bus.producer import event_headers
from streams.contracts.gifts import GiftRequested, GiftSettled
from streams.tracing import current_trace_id, handling, header_value, new_traceparent, trace_id_of, traced
from tests.samples import sample


def trace_of(event: object) -> str | None:
    return trace_id_of(header_value(event_headers(event)))  # type: ignore[arg-type]


def test_a_request_continues_its_callers_trace_and_its_events_carry_it() -> None:
    incoming = new_traceparent()
    with traced(incoming) as trace_id:
        assert trace_id == trace_id_of(incoming) == current_trace_id()
        header = header_value(event_headers(sample(GiftRequested)))
        assert trace_id_of(header) == trace_id
        assert header != incoming.encode(), "a new span of the same trace, not the caller's span"
    assert current_trace_id() is None
    assert trace_of(sample(GiftRequested)) is None, "no trace, no header"


def test_a_malformed_traceparent_starts_a_new_trace() -> None:
    for junk in ("00-zz-11-01", "00-" + "0" * 32 + "-" + "1" * 16 + "-01", "", None):
        with traced(junk) as trace_id:
            assert len(trace_id) == 32
            assert trace_id != "0" * 32


def test_each_output_of_a_batch_continues_the_trace_of_the_input_it_answers() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    ta, tb = new_traceparent(), new_traceparent()
    inputs = [
        (sample(GiftRequested, gift_id=a), ta.encode()),
        (sample(GiftRequested, gift_id=b), tb.encode()),
    ]
    with handling(inputs):
        assert trace_of(sample(GiftSettled, gift_id=b)) == trace_id_of(tb)
        assert trace_of(sample(GiftSettled, gift_id=a)) == trace_id_of(ta)
        assert trace_of(sample(GiftSettled, gift_id=uuid.uuid4())) is None
