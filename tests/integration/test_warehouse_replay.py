"""Replaying records the warehouse already holds changes nothing a PM or finance can see.

A known day is written through the sink; then the same events arrive again at new offsets
(an outbox relay or agent re-publishing), batched differently, from a fresh sink process,
and once more restamped with a later occurred_at (an agent or the QoS API stamping a retry).
Every raw table, every aggregate table behind the views, every plain view and every named
query must read exactly as before. And the reverse: after a topic is recreated, new events at
offsets the warehouse has seen before are written, not mistaken for redeliveries.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from pipelines.warehouse.sink import WarehouseWriter
from streams.bus.consumer import Received
from streams.contracts.chat import ChatMessageAccepted
from streams.settings import Settings
from streams.topics import TOPICS
from tests.integration.conftest import migrated_warehouse
from tests.warehouse_scenario import DAY, delivered, events
from warehouse.catalog import all_queries
from warehouse.schema import RAW_TABLES

PARAMS = {
    "day": DAY.isoformat(),
    "from_day": DAY.isoformat(),
    "to_day": DAY.isoformat(),
    "limit": "50",
    "room": "room-1",
    "stream": "stream-1",
}


@pytest.fixture
def wh(settings: Settings) -> Iterator[Any]:
    yield from migrated_warehouse(settings, "test_replay")


def snapshot(client: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Everything a reader can see: raw rows, finalized aggregates, views, named queries."""
    seen: dict[str, list[tuple[Any, ...]]] = {}
    raw = {t.name for t in RAW_TABLES}
    for name in sorted(raw):
        seen[name] = client.query(f"SELECT * EXCEPT (_ingested_at) FROM {name} ORDER BY event_id").result_rows
    tables = client.query(
        "SELECT name, engine FROM system.tables WHERE database = currentDatabase() "
        "AND (engine LIKE '%MergeTree' OR engine = 'View') ORDER BY name"
    ).result_rows
    aggregates = [
        n for n, e in tables if e.endswith("MergeTree") and n not in raw and n != "schema_migrations"
    ]
    assert {"creator_earnings_daily", "room_engagement_minute", "qoe_stream_minute"} <= set(aggregates)
    for name in aggregates:
        columns = client.query(
            "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {t:String} "
            "ORDER BY position",
            parameters={"t": name},
        ).result_rows
        select = ", ".join(
            f"finalizeAggregation(`{c}`)" if t.startswith("AggregateFunction") else f"`{c}`"
            for c, t in columns
        )
        seen[name] = client.query(f"SELECT {select} FROM {name} FINAL ORDER BY ALL").result_rows
    for name in [n for n, e in tables if e == "View"]:
        seen[name] = client.query(f"SELECT * FROM {name} ORDER BY ALL").result_rows
    for query in all_queries().values():
        bound = query.bind({p.name: PARAMS[p.name] for p in query.parameters})
        seen[f"query:{query.name}"] = client.query(query.sql, parameters=bound).result_rows
    return seen


def test_replayed_and_restamped_records_change_no_table_view_or_query(wh: Any) -> None:
    day = events()
    offsets: dict[str, int] = defaultdict(int)
    WarehouseWriter(wh, "sink")(delivered(day, offsets))
    before = snapshot(wh)
    assert sum(len(before[t.name]) for t in RAW_TABLES) == len(day)
    assert before["query:creator_earnings"]
    assert before["query:broadcast_summary"] == before["broadcast_summary"] != []

    # A fresh sink process gets every record again at new offsets, seven at a time.
    again = WarehouseWriter(wh, "sink")
    replay = delivered(day, offsets)
    for i in range(0, len(replay), 7):
        again(replay[i : i + 7])
    # And once more restamped, with a duplicate inside the batch: a new occurred_at, same id.
    restamped = [e.model_copy(update={"occurred_at": e.occurred_at + timedelta(seconds=41)}) for e in day]
    again(delivered(restamped + restamped[:5], offsets))

    after = snapshot(wh)
    changed = sorted(name for name in before if before[name] != after[name])
    assert changed == []


def test_new_events_at_offsets_seen_before_are_written(wh: Any) -> None:
    """A recreated topic starts again at offset 0: its records are new, not redeliveries."""
    topic = TOPICS.for_event(ChatMessageAccepted).name

    def accepted(n: int) -> list[Received]:
        return [
            Received(
                ChatMessageAccepted(
                    message_id=uuid.uuid4(), room_id="room-r", user_id=f"u{i}", text="hi", producer="t"
                ),
                topic,
                0,
                i,
                0,
            )
            for i in range(n)
        ]

    WarehouseWriter(wh, "sink")(accepted(30))
    WarehouseWriter(wh, "sink")(accepted(30))  # the same offsets, different events
    assert wh.query("SELECT count() FROM chat_events").result_rows[0][0] == 60
    assert wh.query("SELECT sum(messages) FROM room_engagement_minute").result_rows[0][0] == 60
