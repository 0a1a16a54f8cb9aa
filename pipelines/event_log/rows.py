"""Turn received events into ``event_log`` rows, and name a batch for insert deduplication."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from streams.bus.consumer import Received

COLUMNS = (
    "event_id",
    "event_type",
    "schema_version",
    "occurred_at",
    "producer",
    "topic",
    "partition",
    "offset",
    "payload",
)


def to_rows(received: Sequence[Received]) -> list[list[Any]]:
    return [
        [
            r.event.event_id,
            r.event.event_type,
            r.event.schema_version,
            r.event.occurred_at,
            r.event.producer,
            r.topic,
            r.partition,
            r.offset,
            r.event.model_dump_json(),
        ]
        for r in received
    ]


def dedup_token(group: str, received: Sequence[Received]) -> str:
    """Same records -> same token, so ClickHouse drops a re-inserted identical batch."""
    spans: dict[tuple[str, int], tuple[int, int]] = {}
    for r in received:
        lo, hi = spans.get((r.topic, r.partition), (r.offset, r.offset))
        spans[(r.topic, r.partition)] = (min(lo, r.offset), max(hi, r.offset))
    text = group + "|" + "|".join(f"{t}:{p}:{lo}-{hi}" for (t, p), (lo, hi) in sorted(spans.items()))
    return hashlib.sha256(text.encode()).hexdigest()
