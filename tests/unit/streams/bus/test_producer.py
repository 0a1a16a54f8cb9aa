"""The typed producer refuses anything that is not a valid contract event, before the network."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import pytest

from streams.bus.producer import EventProducer
from streams.bus.wire import Delivery
from streams.contracts.chat import ChatMessageSubmitted
from streams.contracts.codec import decode
from streams.exceptions import ContractViolation
from streams.topics import TOPICS
from tests.samples import ALL_SAMPLES, sample


class RecordingWire:
    """Stands in for KafkaWire's port: records what would be produced."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def produce(
        self, topic: str, value: bytes, *, key: bytes | None = None, headers: Any = None
    ) -> Future[Delivery]:
        self.records.append({"topic": topic, "value": value, "key": key, "headers": dict(headers or [])})
        future: Future[Delivery] = Future()
        future.set_result(Delivery(topic, 0, len(self.records) - 1))
        return future

    def flush(self, timeout_s: float = 30.0) -> int:
        return 0


def test_each_event_goes_to_its_registered_topic_with_its_key() -> None:
    wire = RecordingWire()
    producer = EventProducer(wire)  # type: ignore[arg-type]
    for event in ALL_SAMPLES:
        producer.send_sync(event)
    for event, record in zip(ALL_SAMPLES, wire.records, strict=True):
        spec = TOPICS.for_event(type(event))
        assert record["topic"] == spec.name
        assert record["key"] == str(getattr(event, spec.key)).encode()
        assert record["headers"]["event_type"] == event.event_type.encode()
        assert decode(record["value"], spec.events) == event


def test_non_events_are_refused() -> None:
    producer = EventProducer(RecordingWire())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="contract events only"):
        producer.submit({"event_type": "chat.message.submitted"})  # type: ignore[arg-type]


def test_an_unvalidated_model_cannot_be_produced() -> None:
    wire = RecordingWire()
    producer = EventProducer(wire)  # type: ignore[arg-type]
    valid = sample(ChatMessageSubmitted)
    forged = ChatMessageSubmitted.model_construct(**{**dict(valid), "text": "x" * 900})
    with pytest.raises(ContractViolation, match="500 characters"):
        producer.submit(forged)
    assert wire.records == []
