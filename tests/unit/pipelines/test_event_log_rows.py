from __future__ import annotations

from pipelines.event_log.rows import COLUMNS, dedup_token, to_rows
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


def test_the_same_records_give_the_same_token_in_any_order() -> None:
    assert dedup_token("g", received([1, 2, 3])) == dedup_token("g", list(reversed(received([1, 2, 3]))))


def test_different_records_or_groups_give_different_tokens() -> None:
    assert dedup_token("g", received([1, 2, 3])) != dedup_token("g", received([1, 2, 4]))
    assert dedup_token("g", received([1, 2])) != dedup_token("h", received([1, 2]))
    assert dedup_token("g", received([1], partition=0)) != dedup_token("g", received([1], partition=1))
