"""Turn received events into ``event_log`` rows."""

from __future__ import annotations

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
