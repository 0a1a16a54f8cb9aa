"""A thin, thread-safe wrapper over librdkafka's producer that never blocks an event loop.

``produce`` queues the record and returns a ``concurrent.futures.Future`` resolved from a
background poll thread when the broker acknowledges it; async code awaits it with
``asyncio.wrap_future``. When librdkafka's local queue is full, ``produce`` applies
backpressure by serving delivery callbacks until there is room (bounded by ``queue_wait_s``).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, cast

import confluent_kafka

from streams.exceptions import PlatformError


class DeliveryFailed(PlatformError):
    """The broker did not accept a record (after librdkafka's own retries)."""


@dataclass(frozen=True)
class Delivery:
    topic: str
    partition: int
    offset: int


Headers = list[tuple[str, bytes]]


class KafkaWire:
    def __init__(
        self, bootstrap_servers: str, client_id: str, *, extra: dict[str, Any] | None = None
    ) -> None:
        config: dict[str, Any] = {
            "bootstrap.servers": bootstrap_servers,
            "client.id": client_id,
            "enable.idempotence": True,
            "acks": "all",
            # Chat, gifts and decisions are small and each one waits on its delivery: 1 ms
            # rather than librdkafka's 5 (a chat message crosses two producers on its way to
            # the room). Under load, batches still form from what queues during a round trip.
            "linger.ms": 1,
            "compression.type": "lz4",
            "message.timeout.ms": 30_000,
        }
        config.update(extra or {})
        self._producer = confluent_kafka.Producer(config)
        self._closed = threading.Event()
        self._poller = threading.Thread(target=self._poll_loop, name=f"kafka-poll-{client_id}", daemon=True)
        self._poller.start()

    def _poll_loop(self) -> None:
        while not self._closed.is_set():
            self._producer.poll(0.05)

    def produce(
        self,
        topic: str,
        value: bytes,
        *,
        key: bytes | None = None,
        headers: Headers | None = None,
        queue_wait_s: float = 30.0,
    ) -> Future[Delivery]:
        if self._closed.is_set():
            raise DeliveryFailed("producer is closed")
        future: Future[Delivery] = Future()

        def on_delivery(err: confluent_kafka.KafkaError | None, msg: confluent_kafka.Message) -> None:
            if err is not None:
                future.set_exception(DeliveryFailed(f"{topic}: {err.str()}"))
            else:
                future.set_result(Delivery(msg.topic() or topic, msg.partition() or 0, msg.offset() or 0))

        deadline = time.monotonic() + queue_wait_s
        while True:
            try:
                self._producer.produce(
                    topic, value=value, key=key, headers=cast(Any, headers), on_delivery=on_delivery
                )
                return future
            except BufferError:
                if time.monotonic() > deadline:
                    raise DeliveryFailed(
                        f"{topic}: local producer queue stayed full for {queue_wait_s}s"
                    ) from None
                self._producer.poll(0.01)

    def flush(self, timeout_s: float = 30.0) -> int:
        """Wait until every queued record is acknowledged; returns how many are still queued."""
        remaining: int = self._producer.flush(timeout_s)
        return remaining

    def close(self, timeout_s: float = 30.0) -> None:
        if self._closed.is_set():
            return
        self.flush(timeout_s)
        self._closed.set()
        self._poller.join(timeout=5)

    def __enter__(self) -> KafkaWire:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
