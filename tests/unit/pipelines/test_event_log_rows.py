from __future__ import annotations

import uuid

from pipelines.event_log.rows import COLUMNS, to_rows
from pipelines.tokens import dedup_token
from streams.bus.consumer import Received
from tests.samples import ALL_SAMPLES


def received(offsets: list[int], topic: str = "t", partition: int = 0) -> list[Received]:
    return [
        Received(ALL_SAMPLES[i % len(ALL_SAMPLES)], topic, partition, o, 0) for i, o in enumerate(offsets)
    ]


def test_rows_carry_the_envelope_and_the_raw_event() -> None:
    rows = to_rows(received([5]))
    assert len(rows[0]) == len(COLUMNS)
    row = dict(zip(COLUMNS, rows[0], strict=True))
    assert row["event_id"] == ALL_SAMPLES[0].event_id
    assert row["offset"] == 5
    assert ALL_SAMPLES[0].event_type in row["payload"]


def token(records: list[Received], table: str = "t") -> str:
    return dedup_token(table, (r.event.event_id for r in records))


def test_the_same_events_give_the_same_token_in_any_order_at_any_offset() -> None:
    assert token(received([1, 2, 3])) == token(list(reversed(received([1, 2, 3]))))
    assert token(received([1, 2, 3])) == token(received([7, 8, 9], partition=2))


def test_different_events_or_tables_give_different_tokens() -> None:
    assert token(received([1, 2, 3])) != token(received([1, 2]))
    assert token(received([1]), table="a") != token(received([1]), table="b")
    renewed = [
        Received(r.event.model_copy(update={"event_id": uuid.uuid4()}), "t", 0, 1, 0) for r in received([1])
    ]
    assert token(received([1])) != token(renewed)
