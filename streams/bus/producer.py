"""The typed producer: only contract models go in, only decodable bytes come out."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future

from streams.bus.wire import Delivery, Headers, KafkaWire
from streams.contracts.base import Event
from streams.contracts.codec import CONTENT_TYPE, decode, encode
from streams.topics import TOPICS, TopicRegistry
from streams.tracing import header_for


def event_headers(event: Event) -> Headers:
    headers = [
        ("event_type", event.event_type.encode()),
        ("schema_version", str(event.schema_version).encode()),
        ("event_id", str(event.event_id).encode()),
        ("content-type", CONTENT_TYPE.encode()),
    ]
    trace = header_for(event)
    if trace is not None:
        headers.append(trace)
    return headers


class EventProducer:
    """Sends contract events to the topic the registry gives their type, keyed as it says.

    Every event is encoded and decoded again with its topic's contract before it leaves, so a
    model built without validation (``model_construct``) or one of another topic is refused here
    rather than poisoning a consumer.
    """

    def __init__(self, wire: KafkaWire, registry: TopicRegistry = TOPICS) -> None:
        self._wire = wire
        self._registry = registry

    def submit(self, event: Event) -> Future[Delivery]:
        if not isinstance(event, Event):
            raise TypeError(f"EventProducer accepts contract events only, not {type(event).__name__}")
        topic = self._registry.for_event(type(event))
        payload = encode(event)
        decode(payload, topic.events)  # raises ContractViolation for an invalid model
        return self._wire.produce(topic.name, payload, key=topic.key_of(event), headers=event_headers(event))

    async def send(self, event: Event) -> Delivery:
        """Queue ``event`` and wait for the broker's acknowledgement without blocking the loop."""
        return await asyncio.wrap_future(self.submit(event))

    def send_sync(self, event: Event, timeout_s: float = 30.0) -> Delivery:
        return self.submit(event).result(timeout=timeout_s)

    def flush(self, timeout_s: float = 30.0) -> int:
        return self._wire.flush(timeout_s)
