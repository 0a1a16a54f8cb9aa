"""Which failures are worth waiting out: a broker, database or cache that is down or slow.

Everything else (a bug, a record no code can handle) is not retried: the consumer moves the
record to its dead-letter topic with the reason and carries on.
"""

from __future__ import annotations

import asyncio

import confluent_kafka
import psycopg
import redis.exceptions

from streams.bus.wire import DeliveryFailed

TRANSIENT: tuple[type[BaseException], ...] = (
    DeliveryFailed,
    confluent_kafka.KafkaException,
    psycopg.OperationalError,  # connection lost, server shutting down, deadlock, pool timeout
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionError,
    TimeoutError,
    asyncio.TimeoutError,
)


def is_transient(err: BaseException) -> bool:
    return isinstance(err, TRANSIENT)


class Backoff:
    """Exponential backoff from ``first_s`` to ``max_s``; ``reset`` after a success."""

    def __init__(self, first_s: float = 0.1, max_s: float = 5.0) -> None:
        self.first_s = first_s
        self.max_s = max_s
        self.current = 0.0

    def next(self) -> float:
        self.current = min(self.max_s, max(self.first_s, self.current * 2))
        return self.current

    def reset(self) -> None:
        self.current = 0.0
