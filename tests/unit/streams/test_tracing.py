"""Trace context: continued from a caller, carried on every event produced under it, and kept
apart per input when an agent handles a batch."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from streams.bus.producer import event_headers
from streams.contracts.gifts import GiftRequested, GiftSettled
from streams.settings import REPO_ROOT
from streams.tracing import (
    configure,
    current_trace_id,
    describe,
    handling,
    header_value,
    new_traceparent,
    trace_id_of,
    traced,
)
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


@pytest.fixture
def exported() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    memory = InMemorySpanExporter()
    provider = configure("unit", exporter=memory)
    assert provider is not None
    yield provider, memory
    provider.shutdown()
    configure("unit")


def parent_of(header: bytes | None) -> int:
    assert header is not None
    return int(header.decode().split("-")[2], 16)


def test_a_request_is_an_exported_span_child_of_its_caller_and_parent_of_its_events(
    exported: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, memory = exported
    incoming = "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"
    with traced(incoming) as trace_id:
        describe("POST /v1/gifts", {"http.response.status_code": 202})
        header = header_value(event_headers(sample(GiftRequested)))
    provider.force_flush()
    [span] = memory.get_finished_spans()
    assert span.name == "POST /v1/gifts"
    assert span.attributes == {"http.response.status_code": 202}
    assert f"{span.context.trace_id:032x}" == trace_id == "ab" * 16
    assert span.parent is not None
    assert span.parent.span_id == int("cd" * 8, 16)
    assert parent_of(header) == span.context.span_id, "the event's parent is the request's span"
    assert span.resource.attributes["service.name"] == "unit"


def test_an_agent_handling_a_batch_exports_one_span_per_traced_input(
    exported: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, memory = exported
    a, b = uuid.uuid4(), uuid.uuid4()
    ta, tb = new_traceparent(), new_traceparent()
    inputs = [
        (sample(GiftRequested, gift_id=a), ta.encode()),
        (sample(GiftRequested, gift_id=b), tb.encode()),
        (sample(GiftRequested, gift_id=uuid.uuid4()), None),
    ]
    with handling(inputs, "settlement"):
        out_a = header_value(event_headers(sample(GiftSettled, gift_id=a)))
        out_b = header_value(event_headers(sample(GiftSettled, gift_id=b)))
    provider.force_flush()
    spans = {f"{s.context.trace_id:032x}": s for s in memory.get_finished_spans()}
    assert set(spans) == {trace_id_of(ta), trace_id_of(tb)}, "the untraced input has no span"
    for incoming, out in ((ta, out_a), (tb, out_b)):
        span = spans[trace_id_of(incoming) or ""]
        assert span.name == "settlement"
        assert span.parent is not None
        assert span.parent.span_id == int(incoming.split("-")[2], 16)
        assert parent_of(out) == span.context.span_id


def test_with_telemetry_off_nothing_is_traced_and_no_metric_moves() -> None:
    # In a process of its own: switching metrics off is for the whole process.
    script = """
from prometheus_client import REGISTRY, Counter
from streams.bus.producer import event_headers
from streams.contracts.gifts import GiftRequested
from streams.settings import Settings
from streams.telemetry import init_telemetry
from streams.tracing import traced
from tests.samples import sample

counter = Counter("probe_total", "probe", ["kind"])
counter.labels("before").inc()
init_telemetry(Settings(observe={"telemetry": False}), "unit")
counter.labels("after").inc(5)
with traced("00-" + "ab" * 16 + "-" + "cd" * 8 + "-01") as trace_id:
    headers = event_headers(sample(GiftRequested))
scraped = [REGISTRY.get_sample_value("probe_total", {"kind": kind}) for kind in ("before", "after")]
print("RESULT", trace_id, headers, *scraped)
"""
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, check=False, timeout=60
    )
    assert out.returncode == 0, out.stderr
    [line] = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    trace_id, rest = line.removeprefix("RESULT ").split(" ", 1)
    assert trace_id == "None"
    assert "traceparent" not in rest
    assert rest.split()[-2:] == ["1.0", "None"], "recorded before, nothing after: " + rest


def test_a_trace_is_recorded_whole_or_not_at_all_as_its_first_hop_sampled_it() -> None:
    memory = InMemorySpanExporter()
    provider = configure("unit", exporter=memory, sample_ratio=0.0)
    assert provider is not None
    try:
        with traced() as new_trace:  # a new trace, at ratio 0: not recorded, but still travels
            unsampled = header_value(event_headers(sample(GiftRequested)))
        assert unsampled is not None
        assert trace_id_of(unsampled) == new_trace
        assert int(unsampled[-2:], 16) & 1 == 0, "the sampled flag is off"
        gift = sample(GiftRequested)
        with handling([(gift, unsampled)], "fraud"):  # the next hop follows the first one's decision
            onward = header_value(event_headers(gift))
        assert onward is not None
        assert trace_id_of(onward) == new_trace
        assert onward != unsampled, "a hop of its own"
        assert int(onward[-2:], 16) & 1 == 0, "still unsampled"
        caller = "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"
        with traced(caller), handling([(sample(GiftRequested), caller.encode())], "fraud"):
            pass  # a caller that sampled its trace is followed
        provider.force_flush()
        assert [(s.name, f"{s.context.trace_id:032x}") for s in memory.get_finished_spans()] == [
            ("fraud", "ab" * 16),
            ("request", "ab" * 16),
        ]
    finally:
        provider.shutdown()
        configure("unit")
