"""The typed producer and the consumer base against the real broker: decode, dead-letter,
carry on, and commit only after the handler succeeded."""

from __future__ import annotations

import threading
import uuid

import pytest

from streams.bus.admin import start_group_at_end
from streams.bus.consumer import ContractConsumer, Received
from streams.bus.deadletter import DeadLetterPublisher, reason_of
from streams.bus.producer import EventProducer
from streams.bus.wire import KafkaWire
from streams.contracts.chat import ChatMessageSubmitted
from streams.settings import Settings
from streams.topics import TOPICS
from tests.integration.conftest import read_topic

CHAT = TOPICS.for_event(ChatMessageSubmitted)


def chat(room: str, text: str) -> ChatMessageSubmitted:
    return ChatMessageSubmitted(
        message_id=uuid.uuid4(), room_id=room, user_id="viewer-1", text=text, producer="tests"
    )


def consumer_for(settings: Settings, wire: KafkaWire, group: str) -> ContractConsumer:
    return ContractConsumer(
        settings.kafka.bootstrap_servers, group, [CHAT], DeadLetterPublisher(wire, consumer=group)
    )


def drain(consumer: ContractConsumer, want: int, room: str) -> list[Received]:
    got: list[Received] = []
    for _ in range(60):
        batch = consumer.poll_batch(max_records=500, timeout_s=0.5)
        got += [r for r in batch.events if getattr(r.event, "room_id", None) == room]
        consumer.commit(batch)
        if len(got) >= want:
            break
    return got


def test_a_poison_record_goes_to_the_dead_letter_topic_and_the_consumer_carries_on(
    settings: Settings, wire: KafkaWire, producer: EventProducer, unique: str
) -> None:
    room = f"room-{unique}"
    group = f"test-dlq-{unique}"
    start_group_at_end(settings.kafka.bootstrap_servers, group, [CHAT])
    before = producer.send_sync(chat(room, "before the poison"))
    poison = wire.produce(
        CHAT.name, b'{"event_type": "chat.message.submitted", "text": 7}', key=room.encode()
    )
    poison_offset = poison.result(timeout=10).offset
    producer.send_sync(chat(room, "after the poison"))

    consumer = consumer_for(settings, wire, group)
    try:
        got = drain(consumer, 2, room)
    finally:
        consumer.close()
    assert [r.event.text for r in got] == ["before the poison", "after the poison"]  # type: ignore[attr-defined]

    dead = read_topic(settings, CHAT.dead_letter, lambda m: m.key() == room.encode())
    info = reason_of(dead.headers())
    assert dead.value() == b'{"event_type": "chat.message.submitted", "text": 7}'  # kept as it was
    assert info.topic == CHAT.name
    assert info.partition == before.partition
    assert info.offset == poison_offset
    assert info.kind == "validation_error"
    assert "text: Input should be a valid string" in info.reason
    assert info.consumer == f"test-dlq-{unique}"


def test_a_failing_handler_commits_nothing_so_the_batch_comes_again(
    settings: Settings, wire: KafkaWire, producer: EventProducer, unique: str
) -> None:
    room = f"room-{unique}"
    group = f"test-redeliver-{unique}"
    # From the end of the topic: a developer's broker holds every earlier run's chat.
    start_group_at_end(settings.kafka.bootstrap_servers, group, [CHAT])
    sent = [producer.send_sync(chat(room, f"m{i}")) for i in range(3)]
    assert len({d.partition for d in sent}) == 1  # one room, one partition: ordered

    calls: list[list[str]] = []

    def failing(batch: list[Received]) -> None:
        calls.append([r.event.text for r in batch if getattr(r.event, "room_id", None) == room])  # type: ignore[attr-defined]
        raise RuntimeError("warehouse unavailable")

    consumer = consumer_for(settings, wire, group)
    with pytest.raises(RuntimeError, match="warehouse unavailable"):
        consumer.run(failing, threading.Event(), max_records=1000, max_wait_s=3)
    consumer.close()

    again = consumer_for(settings, wire, group)
    try:
        redelivered = drain(again, 3, room)
    finally:
        again.close()
    assert [r.event.text for r in redelivered] == ["m0", "m1", "m2"]  # type: ignore[attr-defined]
