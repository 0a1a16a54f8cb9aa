"""Which failures are worth waiting out: a broker, database or cache that is down or slow.

Everything else (a bug, a record no code can handle) is not retried: the consumer moves the
record to its dead-letter topic with the reason and carries on.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import confluent_kafka
import psycopg
import redis.exceptions
import structlog

from streams.bus.wire import DeliveryFailed
from streams.exceptions import PlatformError

log = structlog.get_logger(__name__)

TRANSIENT: tuple[type[Exception], ...] = (
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


def supervise(run: Callable[[], None], stop: threading.Event, name: str, max_backoff_s: float = 5.0) -> None:
    """Run ``run`` until ``stop`` is set, starting it again with backoff whenever it fails.

    For a consumer loop that keeps no state of its own between runs (it resumes from committed
    offsets): a broker, ClickHouse or database outage is waited out in the process instead of
    ending it. Only errors that are ours (:class:`PlatformError`) or transient are retried; a
    bug still ends the process, loudly."""
    backoff = Backoff(first_s=0.2, max_s=max_backoff_s)
    while not stop.is_set():
        started = time.monotonic()
        try:
            run()
            return
        except Exception as err:
            if not (is_transient(err) or isinstance(err, PlatformError)):
                raise
            if time.monotonic() - started > 60:
                backoff.reset()  # it ran well for a while: this is a new outage
            wait = backoff.next()
            log.warning("consumer_restarting", consumer=name, error=str(err)[:300], retry_in_s=wait)
            stop.wait(wait)
