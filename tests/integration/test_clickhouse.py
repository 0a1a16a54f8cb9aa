"""The same ClickHouse code against the server (http://) and the embedded engine (chdb://)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipelines.event_log.sink import EventLogWriter
from streams.bus.consumer import Received
from streams.contracts.chat import ChatMessageSubmitted
from streams.schema_migrations import discover
from streams.settings import Settings
from tests.samples import sample
from warehouse.client import connect
from warehouse.migrate import MIGRATIONS_DIR, migrate


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # chdb allows one data path per process: every chdb test in this run shares it.
    return tmp_path_factory.mktemp("chdb") / "data"


@pytest.fixture(params=["http", "chdb"])
def client(request: pytest.FixtureRequest, settings: Settings, chdb_path: Path) -> Iterator[Any]:
    url = settings.clickhouse.url if request.param == "http" else f"chdb://{chdb_path}"
    database = f"test_{uuid.uuid4().hex[:10]}"
    c = connect(url, database=database)
    yield c
    c.command(f"DROP DATABASE IF EXISTS {database}")
    if request.param == "http":
        c.close()


def received(n: int, first_offset: int = 0) -> list[Received]:
    return [
        Received(
            sample(ChatMessageSubmitted, event_id=uuid.uuid4(), text=f"m{i}"), "chat", 0, first_offset + i, 0
        )
        for i in range(n)
    ]


def count(client: Any, final: bool = False) -> int:
    return int(client.query(f"SELECT count() FROM event_log{' FINAL' if final else ''}").result_rows[0][0])


def test_it_is_clickhouse_26(client: Any) -> None:
    assert client.query("SELECT version()").result_rows[0][0].startswith("26.")


def test_migrations_apply_once_then_are_a_no_op(client: Any) -> None:
    assert [m.name for m in migrate(client)] == [m.name for m in discover(MIGRATIONS_DIR)]
    assert migrate(client) == []
    assert count(client) == 0


def test_a_batch_written_twice_counts_once(client: Any) -> None:
    migrate(client)
    writer = EventLogWriter(client, group="sink.test")
    batch = received(5)
    writer(batch)
    writer(batch)  # redelivered after a crash between insert and offset commit
    assert count(client) == 5  # the insert deduplication token dropped the second insert
    assert count(client, final=True) == 5


def test_a_redelivery_in_a_different_batch_collapses_by_event_id(client: Any) -> None:
    migrate(client)
    writer = EventLogWriter(client, group="sink.test")
    batch = received(3)
    writer(batch)
    writer([*batch, *received(1, first_offset=3)])  # the retry gathered one more record
    assert count(client, final=True) == 4


def test_parameters_are_bound_by_the_server(client: Any) -> None:
    migrate(client)
    batch = received(3)
    EventLogWriter(client, group="sink.test")(batch)
    hostile = "x' OR 1=1 --"
    rows = client.query(
        "SELECT count() FROM event_log WHERE producer = {p:String}", parameters={"p": hostile}
    ).result_rows
    assert rows[0][0] == 0
    ids = [str(r.event.event_id) for r in batch[:2]]
    rows = client.query(
        "SELECT count() FROM event_log WHERE event_id IN {ids:Array(UUID)}", parameters={"ids": ids}
    ).result_rows
    assert rows[0][0] == 2


def test_the_warehouse_schema_sink_and_named_queries_run_on_both(client: Any) -> None:
    from pipelines.warehouse.sink import WarehouseWriter
    from tests.integration.test_warehouse import as_received
    from tests.warehouse_scenario import DAY, events
    from warehouse.catalog import get

    assert len(migrate(client)) >= 4
    writer = WarehouseWriter(client, "sink.test")
    writer(as_received(events()))
    writer(as_received(events()[:10]))  # a new batch with already-written offsets: skipped
    query = get("gift_revenue_by_creator")
    result = client.query(query.sql, parameters=query.bind({"from_day": str(DAY), "to_day": str(DAY)}))
    assert [(r[0], r[1]) for r in result.result_rows] == [("c1", 530), ("c2", 10)]
