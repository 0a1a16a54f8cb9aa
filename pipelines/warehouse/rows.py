"""Contract events -> column lists for their raw table, in the table's column order."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from enum import Enum
from typing import Any

import orjson

from streams.bus.consumer import Received
from warehouse.schema import RawTable, expected_columns

INGESTED_AT = "_ingested_at"


class ColumnBatch:
    """Rows for one table, built column by column (clickhouse-connect's fastest insert shape)."""

    def __init__(self, table: RawTable) -> None:
        self.table = table
        self.names = [c for c in expected_columns(table) if c != INGESTED_AT]
        self._fields = [c for c in self.names if not c.startswith("_")]
        self.columns: list[list[Any]] = [[] for _ in self.names]
        self.count = 0

    def add(self, received: Received) -> None:
        data = received.event.__dict__
        json_columns = self.table.json_columns
        for i, name in enumerate(self._fields):
            value = data.get(name)
            if name in json_columns and value is not None:
                value = orjson.dumps(value, default=_plain).decode()
            elif isinstance(value, Enum):
                value = value.value
            elif isinstance(value, dict):
                value = {k.value if isinstance(k, Enum) else k: v for k, v in value.items()}
            self.columns[i].append(value)
        base = len(self._fields)
        self.columns[base].append(received.topic)
        self.columns[base + 1].append(received.partition)
        self.columns[base + 2].append(received.offset)
        self.count += 1

    def positions(self) -> Iterator[tuple[str, int, int]]:
        """(topic, partition, offset) of every row."""
        base = len(self._fields)
        return zip(self.columns[base], self.columns[base + 1], self.columns[base + 2], strict=True)

    def extend(self, received: Sequence[Received]) -> None:
        for r in received:
            self.add(r)


def _plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"cannot encode {type(value).__name__}")
