"""Events become their raw table's columns: every column in the table's order, one value per
event, converted the way clickhouse-connect needs it, whichever of the table's events it is."""

from __future__ import annotations

import uuid
from enum import Enum
from typing import Any

import orjson
import pytest

from pipelines.warehouse.rows import INGESTED_AT, ColumnBatch
from streams.bus.consumer import Received
from streams.contracts.base import Event
from tests.samples import sample
from warehouse.schema import RAW_TABLES, RawTable, expected_columns


def expected_value(table: RawTable, event: Event, name: str) -> Any:
    value = getattr(event, name, None)
    if value is None:
        return None
    if name in table.json_columns:
        return orjson.dumps(
            value, default=lambda v: v.model_dump(mode="json") if hasattr(v, "model_dump") else v.value
        ).decode()
    if isinstance(value, dict):
        return {k.value if isinstance(k, Enum) else k: v for k, v in value.items()}
    return value.value if isinstance(value, Enum) else value


@pytest.mark.parametrize("table", RAW_TABLES, ids=lambda t: t.name)
def test_each_event_is_one_row_of_its_table_in_column_order(table: RawTable) -> None:
    events = [sample(model, event_id=uuid.uuid4()) for _ in range(2) for model in table.events]
    batch = ColumnBatch(table)
    received = [
        Received(event, f"topic.{i}", i % 3, 100 + i, 0, f"{i:032x}" if i % 2 else None)
        for i, event in enumerate(events)
    ]
    batch.extend(received)

    assert batch.count == len(events)
    assert batch.names == [c for c in expected_columns(table) if c != INGESTED_AT]
    assert batch.types == [expected_columns(table)[c] for c in batch.names]
    assert all(len(column) == len(events) for column in batch.columns)
    # One row per event, wherever in the batch it landed (rows are grouped by event type).
    rows = {
        row["event_id"]: row
        for row in (
            dict(zip(batch.names, values, strict=True)) for values in zip(*batch.columns, strict=True)
        )
    }
    assert len(rows) == len(events)
    for event, r in zip(events, received, strict=True):
        row = rows[event.event_id]
        for name in batch.names:
            if not name.startswith("_"):
                assert row[name] == expected_value(table, event, name), (type(event).__name__, name)
        assert (row["_topic"], row["_partition"], row["_offset"]) == (r.topic, r.partition, r.offset)
        assert row["_trace_id"] == (r.trace_id or "")
    assert sorted(batch.event_ids()) == sorted(e.event_id for e in events)


def test_an_empty_batch_has_every_column_and_no_rows() -> None:
    batch = ColumnBatch(RAW_TABLES[0])
    assert batch.count == 0
    assert batch.columns == [[] for _ in batch.names]


def test_rows_added_after_reading_the_columns_are_in_them() -> None:
    table = RAW_TABLES[0]
    batch = ColumnBatch(table)
    first, second = (sample(table.events[0], event_id=uuid.uuid4()) for _ in range(2))
    batch.add(Received(first, "t", 0, 1, 0))
    assert batch.event_ids() == [first.event_id]
    batch.add(Received(second, "t", 0, 2, 0))
    assert batch.event_ids() == [first.event_id, second.event_id]
