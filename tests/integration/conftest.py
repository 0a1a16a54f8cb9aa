"""Integration tests run against the real local platform (`make up`, or `make test` starts it).

A service that does not answer fails the test with the command to run; nothing is skipped.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import confluent_kafka
import confluent_kafka.admin
import psycopg
import pytest

from streams.bus.admin import start_group_at_end
from streams.bus.producer import EventProducer
from streams.bus.scan import find_record
from streams.bus.wire import KafkaWire
from streams.contracts.gifts import GiftRequested, GiftScreened, GiftSettled
from streams.contracts.probes import PlatformProbe
from streams.settings import REPO_ROOT, Settings
from streams.topics import TOPICS
from warehouse.client import connect

WORKER_TOPICS = [
    TOPICS.for_event(GiftRequested),
    TOPICS.for_event(GiftScreened),
    TOPICS.for_event(GiftSettled),
    TOPICS.for_event(PlatformProbe),
]


@pytest.fixture(scope="session")
def settings() -> Settings:
    settings = Settings()
    try:
        admin = confluent_kafka.admin.AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
        admin.list_topics(timeout=5)
        with psycopg.connect(settings.postgres.dsn(), connect_timeout=5):
            pass
    except Exception as err:
        pytest.fail(f"the local platform is not answering ({err}); run `make up` first")
    return settings


@pytest.fixture(scope="session")
def wire(settings: Settings) -> Iterator[KafkaWire]:
    wire = KafkaWire(settings.kafka.bootstrap_servers, client_id="tests")
    yield wire
    wire.close()


@pytest.fixture(scope="session")
def producer(wire: KafkaWire) -> EventProducer:
    return EventProducer(wire)


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def clickhouse(settings: Settings) -> Any:
    ch = settings.clickhouse
    client = connect(ch.url, database=ch.database, user=ch.user, password=ch.password.get_secret_value())
    yield client
    client.close()


def read_topic(
    settings: Settings, topic: str, until: Callable[[confluent_kafka.Message], bool], timeout_s: float = 30
) -> confluent_kafka.Message:
    """Scan ``topic`` from the beginning until ``until`` matches; fail the test if nothing does."""
    found = find_record(settings.kafka.bootstrap_servers, topic, until, timeout_s)
    assert found is not None, f"no matching record on {topic} within {timeout_s}s"
    return found


class Worker:
    """A real Faust worker process (python -m streams.worker) with its own consumer group."""

    def __init__(self, app_id: str, log_path: Path, bootstrap_servers: str) -> None:
        self.app_id = app_id
        self.log_path = log_path
        # The new consumer group starts at the current end of its topics, not their history.
        start_group_at_end(bootstrap_servers, app_id, WORKER_TOPICS)
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streams.worker", "--app-id", app_id, "--loglevel", "warn"],
            cwd=REPO_ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


@pytest.fixture
def start_worker(tmp_path: Path, settings: Settings) -> Iterator[Callable[[], Worker]]:
    workers: list[Worker] = []

    def start() -> Worker:
        worker = Worker(
            f"test-{uuid.uuid4().hex[:8]}",
            tmp_path / f"worker-{len(workers)}.log",
            settings.kafka.bootstrap_servers,
        )
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def eventually(check: Callable[[], Any], timeout_s: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"{what} not reached within {timeout_s}s (last: {last!r})")
