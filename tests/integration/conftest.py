"""Integration tests run against the real local platform (`make up`, or `make test` starts it).

A service that does not answer fails the test with the command to run; nothing is skipped.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import confluent_kafka
import confluent_kafka.admin
import httpx
import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from ops.processes import stop_child
from ops.seed import fund_wallets
from streams.bus.admin import start_group_at_end
from streams.bus.producer import EventProducer
from streams.bus.scan import find_record
from streams.bus.wire import KafkaWire
from streams.contracts.base import Role
from streams.ledger.store import PostgresLedger
from streams.settings import REPO_ROOT, Settings
from streams.worker import CONSUMED
from warehouse.client import connect

T = TypeVar("T")

WORKER_TOPICS = CONSUMED


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
async def api_app(settings: Settings) -> AsyncIterator[Any]:
    """The HTTP API's app in process, started (its lifespan: PostgreSQL pool, Kafka producer, Redis)."""
    from serving.api.app import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def api(api_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the in-process API."""
    transport = httpx.ASGITransport(app=api_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        yield client


def auth(settings: Settings, user: str, *roles: Role) -> dict[str, str]:
    """A bearer token for ``user`` with ``roles`` (viewer by default)."""
    from serving.auth.tokens import issue

    token = issue(settings.auth.token_secret.get_secret_value(), user, list(roles) or [Role.VIEWER])
    return {"Authorization": f"Bearer {token}"}


def migrated_warehouse(settings: Settings, prefix: str) -> Iterator[Any]:
    """A ClickHouse database of its own, migrated, dropped afterwards."""
    from warehouse.migrate import migrate

    database = f"{prefix}_{uuid.uuid4().hex[:10]}"
    client = connect(settings.clickhouse.url, database=database)
    migrate(client)
    yield client
    client.command(f"DROP DATABASE IF EXISTS {database}")
    client.close()


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn(args: list[str], log_path: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``python <args>`` from the repository, output appended to ``log_path``."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    stop_child(proc)


async def run_with_ledger(dsn: str, body: Callable[[PostgresLedger], Awaitable[T]]) -> T:
    pool = AsyncConnectionPool(dsn, min_size=1, max_size=4, open=False)
    await pool.open(wait=True)
    try:
        return await body(PostgresLedger(pool))
    finally:
        await pool.close()


def fund(dsn: str, user: str, coins: int) -> None:
    """Put ``coins`` in a user's wallet (a posted top-up), as test setup."""
    asyncio.run(run_with_ledger(dsn, lambda ledger: fund_wallets(ledger, [user], coins, "test")))


class Worker:
    """A real Faust worker process (python -m streams.worker) with its own consumer group."""

    ARGS = ("-m", "streams.worker", "--loglevel", "warn", "--app-id")

    def __init__(
        self, app_id: str, log_path: Path, bootstrap_servers: str, env: dict[str, str] | None = None
    ) -> None:
        self.app_id = app_id
        self.log_path = log_path
        self.env = env
        # The new consumer group starts at the current end of its topics, not their history.
        start_group_at_end(bootstrap_servers, app_id, WORKER_TOPICS)
        self.proc = spawn([*self.ARGS, app_id], log_path, env)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill_and_restart(self) -> None:
        """SIGKILL (no shutdown, no commit: what was in flight comes again), then the same group."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.proc = spawn([*self.ARGS, self.app_id], self.log_path, self.env)

    def stop(self) -> None:
        stop_process(self.proc)


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
