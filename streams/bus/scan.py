"""Read a topic from the beginning without joining any real consumer group (DLQ inspection, tests)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import confluent_kafka


def find_record(
    bootstrap_servers: str,
    topic: str,
    until: Callable[[confluent_kafka.Message], bool],
    timeout_s: float = 30.0,
) -> confluent_kafka.Message | None:
    """The first record on ``topic`` for which ``until`` holds, or None after ``timeout_s``."""
    consumer = confluent_kafka.Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": f"scan-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None and until(msg):
                return msg
    finally:
        consumer.close()
    return None
