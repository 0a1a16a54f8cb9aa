"""A namespaced copy of the topics on the real broker (what `make bench-sink` writes into): it is
created, carries the platform's events to a consumer of the copy, and is deleted afterwards,
while the platform's own topics can never be deleted this way."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka.admin import AdminClient  # type: ignore[attr-defined]

from streams.bus.admin import TopicSetupFailed, delete_topics, ensure_topics
from streams.bus.consumer import ContractConsumer
from streams.bus.deadletter import DeadLetterPublisher
from streams.bus.producer import EventProducer
from streams.bus.wire import KafkaWire
from streams.contracts.chat import ChatMessageSubmitted
from streams.settings import Settings
from streams.topics import TOPICS


def test_a_namespaced_copy_is_created_carries_events_and_is_deleted(settings: Settings) -> None:
    kafka = settings.kafka.bootstrap_servers
    copy = TOPICS.namespaced(f"t{uuid.uuid4().hex[:8]}.")
    ensure_topics(kafka, copy)
    admin = AdminClient({"bootstrap.servers": kafka})
    wire = KafkaWire(kafka, client_id="namespace-test")
    try:
        assert {s.name for s in copy.with_dead_letters()} <= set(admin.list_topics(timeout=10).topics)
        message = ChatMessageSubmitted(
            message_id=uuid.uuid4(), room_id="ns-room", user_id="viewer-1", text="hi", producer="tests"
        )
        EventProducer(wire, copy).send_sync(message)
        group = f"ns-{uuid.uuid4().hex[:8]}"
        spec = copy.for_event(ChatMessageSubmitted)
        consumer = ContractConsumer(kafka, group, [spec], DeadLetterPublisher(wire, group, copy))
        try:
            got: list[object] = []
            for _ in range(30):
                got += [r.event for r in consumer.poll_batch(100, 1.0).events]
                if got:
                    break
        finally:
            consumer.close()
        assert got == [message]
    finally:
        wire.close()
        deleted = delete_topics(kafka, copy)
    assert sorted(deleted) == sorted(s.name for s in copy.with_dead_letters())
    remaining = set(admin.list_topics(timeout=10).topics)
    assert not remaining & set(deleted)
    assert {s.name for s in TOPICS} <= remaining


def test_the_platforms_own_topics_are_never_deleted_as_a_copy(settings: Settings) -> None:
    with pytest.raises(TopicSetupFailed, match="platform's own topics"):
        delete_topics(settings.kafka.bootstrap_servers, TOPICS)
