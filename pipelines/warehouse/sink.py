"""The warehouse sink: route each batch to its raw tables, insert, and only then commit.

Exactly-once effect in the tables and in the materialized views fed by them:
- the sink stores the source offset in every row (``_topic``, ``_partition``, ``_offset``);
  when a partition is assigned, it reads the highest offset already written and skips
  records at or below it, so a batch redelivered after a crash between insert and commit
  is not inserted again, however differently it is batched the second time;
- an identical insert retried by the client carries the same deduplication token;
- the tables are ReplacingMergeTree keyed by event id, a last line of defence.
Inserts are retried with backoff; while they fail nothing is committed and nothing more
is consumed (backpressure), and after the last attempt the consumer is started again from
the committed offsets (``streams.bus.retry.supervise``), for as long as the outage lasts.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog
from clickhouse_connect.driver.client import Client

from pipelines.exceptions import SinkError
from pipelines.tokens import dedup_token
from pipelines.warehouse.metrics import SinkMetrics
from pipelines.warehouse.rows import ColumnBatch
from streams.bus.consumer import Received
from streams.topics import TOPICS, TopicSpec
from warehouse.schema import RAW_TABLES, TABLES_BY_EVENT, RawTable

log = structlog.get_logger(__name__)


def sink_topics() -> list[TopicSpec]:
    """Every registered topic whose events have a raw table."""
    return [spec for spec in TOPICS if any(model in TABLES_BY_EVENT for model in spec.events)]


@dataclass
class HighWaterMarks:
    """Per (table, topic, partition): the highest source offset already in ClickHouse."""

    marks: dict[tuple[str, str, int], int] = field(default_factory=dict)
    stale: set[tuple[str, int]] = field(default_factory=set)

    def load(self, client: Client, partitions: set[tuple[str, int]]) -> None:
        if not partitions:
            return
        topics = sorted({t for t, _ in partitions})
        for table in RAW_TABLES:
            rows = client.query(
                f"SELECT _topic, _partition, max(_offset) FROM {table.name} "  # noqa: S608  (table names come from code)
                "WHERE _topic IN {topics:Array(String)} GROUP BY _topic, _partition",
                parameters={"topics": topics},
            ).result_rows
            for topic, partition, offset in rows:
                if (topic, int(partition)) in partitions:
                    self.marks[(table.name, topic, int(partition))] = int(offset)
        self.stale -= partitions

    def written(self, table: str, topic: str, partition: int) -> int:
        return self.marks.get((table, topic, partition), -1)


class WarehouseWriter:
    def __init__(
        self,
        client: Client,
        group: str,
        metrics: SinkMetrics | None = None,
        *,
        attempts: int = 6,
        first_backoff_s: float = 0.2,
    ) -> None:
        self._client = client
        self._group = group
        self._metrics = metrics or SinkMetrics(None)
        self._attempts = attempts
        self._first_backoff_s = first_backoff_s
        self.marks = HighWaterMarks()

    def partitions_assigned(self, partitions: list[tuple[str, int]]) -> None:
        """Called from the consumer on (re)assignment: re-read what is already written."""
        self.marks.stale |= set(partitions)

    def __call__(self, batch: Sequence[Received]) -> None:
        if self.marks.stale:
            try:
                self.marks.load(self._client, set(self.marks.stale))
            except Exception as err:  # ClickHouse unreachable: nothing inserted, nothing committed
                raise SinkError(f"reading what is already written: {err}") from err
        by_table: dict[str, ColumnBatch] = {}
        skipped = 0
        for received in batch:
            table = TABLES_BY_EVENT.get(type(received.event))
            if table is None:
                continue
            if received.offset <= self.marks.written(table.name, received.topic, received.partition):
                skipped += 1
                continue
            if table.name not in by_table:
                by_table[table.name] = ColumnBatch(table)
            by_table[table.name].add(received)
        for columns in by_table.values():
            self._insert(columns)
        if skipped:
            log.warning("redelivered_records_skipped", rows=skipped, group=self._group)
        self._metrics.observe_freshness(batch)

    def _insert(self, columns: ColumnBatch) -> None:
        table: RawTable = columns.table
        token = dedup_token(self._group, table.name, columns.positions())
        delay = self._first_backoff_s
        started = time.monotonic()
        for attempt in range(1, self._attempts + 1):
            try:
                self._client.insert(
                    table.name,
                    columns.columns,
                    column_names=columns.names,
                    column_oriented=True,
                    settings={"insert_deduplication_token": token, "async_insert": 0},
                )
                break
            except Exception as err:
                self._metrics.insert_failed(table.name)
                if attempt == self._attempts:
                    raise SinkError(f"writing {columns.count} rows to {table.name}: {err}") from err
                log.warning("insert_retry", table=table.name, attempt=attempt, error=str(err)[:300])
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
        elapsed = time.monotonic() - started
        self._metrics.rows_written(table.name, columns.count, elapsed)
        highest: dict[tuple[str, int], int] = defaultdict(lambda: -1)
        for t, p, o in columns.positions():
            highest[(t, p)] = max(highest[(t, p)], o)
        for (t, p), o in highest.items():
            key = (table.name, t, p)
            self.marks.marks[key] = max(self.marks.marks.get(key, -1), o)
