"""Dead letters: a record that fails its contract (or its handler, for good) is moved aside with the reason, never lost.

The dead-letter record keeps the original key, value and headers untouched and adds
``dlq.*`` headers: the reason, its category, the source topic, partition and offset, the
consumer that gave up on it and when. ``reason_of`` reads them back.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime

from streams.bus.wire import Delivery, Headers, KafkaWire
from streams.exceptions import PoisonRecord
from streams.metrics import DEAD_LETTERS
from streams.topics import TOPICS, TopicRegistry

H_REASON = "dlq.reason"
H_KIND = "dlq.kind"
H_TOPIC = "dlq.source.topic"
H_PARTITION = "dlq.source.partition"
H_OFFSET = "dlq.source.offset"
H_CONSUMER = "dlq.consumer"
H_FAILED_AT = "dlq.failed_at"


@dataclass(frozen=True)
class SourceRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers


@dataclass(frozen=True)
class DeadLetterInfo:
    reason: str
    kind: str
    topic: str
    partition: int
    offset: int
    consumer: str


class DeadLetterPublisher:
    def __init__(self, wire: KafkaWire, consumer: str, registry: TopicRegistry = TOPICS) -> None:
        self._wire = wire
        self._consumer = consumer
        self._registry = registry

    @property
    def consumer(self) -> str:
        return self._consumer

    def submit(self, record: SourceRecord, violation: PoisonRecord) -> Future[Delivery]:
        target = self._registry.get(record.topic).dead_letter
        DEAD_LETTERS.labels(self._consumer, record.topic, violation.kind).inc()
        headers = [h for h in record.headers if not h[0].startswith("dlq.")]
        headers += [
            (H_REASON, violation.reason.encode()),
            (H_KIND, violation.kind.encode()),
            (H_TOPIC, record.topic.encode()),
            (H_PARTITION, str(record.partition).encode()),
            (H_OFFSET, str(record.offset).encode()),
            (H_CONSUMER, self._consumer.encode()),
            (H_FAILED_AT, datetime.now(UTC).isoformat().encode()),
        ]
        return self._wire.produce(target, record.value or b"", key=record.key, headers=headers)

    async def send(self, record: SourceRecord, violation: PoisonRecord) -> Delivery:
        return await asyncio.wrap_future(self.submit(record, violation))

    def flush(self, timeout_s: float = 30.0) -> int:
        return self._wire.flush(timeout_s)


def reason_of(headers: Headers | None) -> DeadLetterInfo:
    """The ``dlq.*`` headers of a dead-letter record, decoded."""
    found = {k: v.decode() for k, v in (headers or []) if k.startswith("dlq.") and v is not None}
    return DeadLetterInfo(
        reason=found.get(H_REASON, ""),
        kind=found.get(H_KIND, ""),
        topic=found.get(H_TOPIC, ""),
        partition=int(found.get(H_PARTITION, "-1")),
        offset=int(found.get(H_OFFSET, "-1")),
        consumer=found.get(H_CONSUMER, ""),
    )
