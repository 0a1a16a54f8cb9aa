from __future__ import annotations

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


def token(group: str, records: list[Received], table: str = "t") -> str:
    return dedup_token(group, table, ((r.topic, r.partition, r.offset) for r in records))


def test_the_same_records_give_the_same_token_in_any_order() -> None:
    assert token("g", received([1, 2, 3])) == token("g", list(reversed(received([1, 2, 3]))))


def test_different_records_groups_or_tables_give_different_tokens() -> None:
    assert token("g", received([1, 2, 3])) != token("g", received([1, 2, 4]))
    assert token("g", received([1, 2])) != token("h", received([1, 2]))
    assert token("g", received([1], partition=0)) != token("g", received([1], partition=1))
    assert token("g", received([1]), table="a") != token("g", received([1]), table="b")
