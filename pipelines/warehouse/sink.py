"""The warehouse sink: route each batch to its raw tables, insert, and only then commit.

Exactly-once effect by event id, in the raw tables and in every view fed by them:
- each raw table has a first-seen gate (``warehouse.schema.gate_statements``): a RocksDB
  table of the event ids it holds. Before inserting, the sink asks the gates which ids of the
  batch are already there and drops those, and keeps only the first of repeats inside the
  batch. So a record redelivered after a crash between insert and commit, re-published by a
  relay or an agent with a new offset or a new occurred_at, retried by a player or replayed
  by an operator, is counted once. Nothing depends on Kafka offsets: after a topic is
  recreated or a group's offsets are reset, new records at old offsets are written;
- the sink writes a gate itself, after the INSERT into its raw table returned: ClickHouse
  commits the views fed by one INSERT one by one, so a server dying in the middle leaves some
  written and some not, and only a returned INSERT means all of them hold the rows. (The
  gates used to be views in that same INSERT: a cut-off insert, given up on and re-batched
  by the next consumer, was then counted twice; migration 0011.);
- an identical insert retried by the client carries the same deduplication token, which the
  raw tables and the views' target tables honour (their deduplication windows, and
  ``deduplicate_blocks_in_dependent_materialized_views``), so a retry fills in the views a
  cut-off attempt missed without counting the others twice.
Inserts are retried with backoff for about 40 s; while they fail nothing is committed and
nothing more is consumed (backpressure), and after the last attempt the consumer is started
again from the committed offsets (``streams.bus.retry.supervise``), for as long as the outage
lasts. The records then come back batched differently, so a new insert would carry a new
token and count again, in the views, whatever the cut-off insert had already written there.
So the writer keeps every insert it gave up on (its rows and its token) and, before anything
else, finishes it with the very same rows and token: ClickHouse fills in the views it missed
and skips those it has, then the gate is written and the redelivered records are skipped as
already there. Every count and every coin is exact after an outage of any length, as long as
the sink process outlives it. Left open: the sink process dying while ClickHouse is down in the
middle of an insert (a new process re-batches); money stays exact even then (creator earnings
keep one row per transfer, replaced by transfer id, and finance reads the postings with
FINAL), a count-like aggregate (engagement, QoE, moderation and fraud per day) can overcount
that one batch.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import structlog
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.httpclient import HttpClient

from pipelines.exceptions import SinkError
from pipelines.tokens import dedup_token
from pipelines.warehouse.metrics import SinkMetrics
from pipelines.warehouse.rows import ColumnBatch
from streams.bus.consumer import ContractConsumer, Received
from streams.bus.deadletter import DeadLetterPublisher
from streams.contracts.base import Event
from streams.exceptions import ContractViolation
from streams.topics import TOPICS, TopicRegistry, TopicSpec
from warehouse.schema import GATE_COLUMNS, TABLES_BY_EVENT, RawTable, gate_name

log = structlog.get_logger(__name__)
T = TypeVar("T")


def sink_topics(registry: TopicRegistry = TOPICS) -> list[TopicSpec]:
    """Every registered topic whose events have a raw table."""
    return [spec for spec in registry if any(model in TABLES_BY_EVENT for model in spec.events)]


def admit(spec: TopicSpec, event: Event) -> ContractViolation | None:
    """Refuse an event its raw table does not take from that producer (``RawTable.producers``):
    only the ledger's outbox writes ledger postings, so creator earnings in the warehouse are
    the ledger's, whoever else can reach the topic (a benchmark once did)."""
    table = TABLES_BY_EVENT.get(type(event))
    if table is None or not table.producers or event.producer in table.producers:
        return None
    return ContractViolation(
        "untrusted_producer",
        f"{event.EVENT_TYPE} from producer {event.producer!r} on {spec.name}: "
        f"{table.name} takes it only from {', '.join(sorted(table.producers))}",
    )


def warehouse_consumer(
    bootstrap_servers: str, group: str, registry: TopicRegistry, dead_letters: DeadLetterPublisher
) -> ContractConsumer:
    """The sink's consumer: every topic with a raw table, each event admitted by its table."""
    return ContractConsumer(bootstrap_servers, group, sink_topics(registry), dead_letters, admit=admit)


# A bound parameter travels as one HTTP form field (at most 128 KiB); an id is 33 bytes in it.
IDS_PER_PARAMETER = 3_000


class _HexIds:
    """Ids as 32-digit hex joined by commas, bound as a ``String`` parameter as it is.

    clickhouse-connect escapes a ``str`` parameter character by character (~2 µs an id here);
    any other object it binds as ``str(value)``. Hex digits and commas need no escaping."""

    __slots__ = ("text",)

    def __init__(self, ids: Sequence[uuid.UUID]) -> None:
        self.text = ",".join([event_id.hex for event_id in ids])

    def __str__(self) -> str:
        return self.text


def already_written(client: Client, ids_by_table: dict[str, list[uuid.UUID]]) -> set[uuid.UUID]:
    """The ids, among those given per raw table, that its gate already holds (key lookups).

    The ids travel as one string parameter of 32-digit hex ids, split by the server: the gate
    still looks each one up by key, and writing them costs ~0.3 µs an id against ~2 µs for
    clickhouse-connect's formatting of an ``Array(UUID)`` (a tenth of the sink's time per row)."""
    parts = []
    parameters: dict[str, _HexIds] = {}
    for table, ids in sorted(ids_by_table.items()):
        for start in range(0, len(ids), IDS_PER_PARAMETER):
            name = f"ids{len(parameters)}"
            # Table names come from code; the ids are a bound parameter.
            sql = f"SELECT event_id FROM {table}_seen WHERE event_id IN splitByChar(',', {{{name}:String}})"  # noqa: S608
            parts.append(sql)
            parameters[name] = _HexIds(ids[start : start + IDS_PER_PARAMETER])
    if not parts:
        return set()
    rows = client.query(" UNION ALL ".join(parts), parameters=parameters).result_rows
    return {row[0] for row in rows}


class WarehouseWriter:
    def __init__(
        self,
        client: Client,
        group: str,
        metrics: SinkMetrics | None = None,
        *,
        attempts: int = 10,
        first_backoff_s: float = 0.2,
        parallel_tables: int = 4,
    ) -> None:
        self._client = client
        self._group = group
        self._metrics = metrics or SinkMetrics(None)
        self._attempts = attempts
        self._first_backoff_s = first_backoff_s
        # A batch touches up to nine raw tables; each insert is mostly waiting on ClickHouse, so
        # they go out side by side. A session-less HTTP client is safe to share between threads;
        # the embedded engine is not, and stays one insert at a time.
        threads = parallel_tables if isinstance(client, HttpClient) else 1
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="sink-table") if threads > 1 else None
        # Inserts given up on, by raw table: finished first, same rows and token (module docstring).
        self._unfinished: dict[str, ColumnBatch] = {}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()

    def __call__(self, batch: Sequence[Received]) -> None:
        self._finish_unfinished()
        first: dict[uuid.UUID, tuple[RawTable, Received]] = {}
        repeats = 0
        for received in batch:
            table = TABLES_BY_EVENT.get(type(received.event))
            if table is None:
                continue
            if received.event.event_id in first:
                repeats += 1
                continue
            first[received.event.event_id] = (table, received)
        ids_by_table: dict[str, list[uuid.UUID]] = defaultdict(list)
        for event_id, (table, _) in first.items():
            ids_by_table[table.name].append(event_id)
        seen = self._with_retries(
            "reading the first-seen gates", lambda: already_written(self._client, ids_by_table)
        )
        by_table: dict[str, ColumnBatch] = {}
        for event_id, (table, received) in first.items():
            if event_id in seen:
                continue
            if table.name not in by_table:
                by_table[table.name] = ColumnBatch(table)
            by_table[table.name].add(received)
        self._insert_all(list(by_table.values()))
        skipped = repeats + len(seen)
        if skipped:
            self._metrics.duplicates_skipped(skipped)
            log.info("duplicate_events_skipped", rows=skipped, group=self._group)
        self._metrics.observe_freshness(batch)

    @property
    def unfinished(self) -> int:
        """Rows of inserts given up on and not yet finished (0 in normal operation)."""
        return sum(columns.count for columns in self._unfinished.values())

    def _finish_unfinished(self) -> None:
        if self._unfinished:
            log.info("finishing_unfinished_inserts", rows=self.unfinished, tables=sorted(self._unfinished))
            self._insert_all(list(self._unfinished.values()))

    def _insert_all(self, batches: list[ColumnBatch]) -> None:
        if self._pool is None:
            for columns in batches:
                self._insert(columns)
        else:
            # list() waits for every table and re-raises the first failure: nothing is committed.
            list(self._pool.map(self._insert, batches))

    def _insert(self, columns: ColumnBatch) -> None:
        table: RawTable = columns.table
        # Kept until its gate is written: an insert given up on is finished first next time.
        self._unfinished[table.name] = columns
        ids = columns.event_ids()
        token = dedup_token(table.name, ids)
        started = time.monotonic()
        self._with_retries(
            f"writing {columns.count} rows to {table.name}",
            lambda: self._client.insert(
                table.name,
                columns.columns,
                column_names=columns.names,
                column_type_names=columns.types,
                column_oriented=True,
                settings={
                    "insert_deduplication_token": token,
                    "deduplicate_blocks_in_dependent_materialized_views": 1,
                    "async_insert": 0,
                },
            ),
            table=table.name,
        )
        # Only now does every view fed by the table hold these rows: the gate comes last.
        gate = gate_name(table)
        self._with_retries(
            f"recording {columns.count} ids in {gate}",
            lambda: self._client.insert(
                gate,
                [ids, columns.column("occurred_at")],
                column_names=list(GATE_COLUMNS),
                column_type_names=list(GATE_COLUMNS.values()),
                column_oriented=True,
                settings={"async_insert": 0},
            ),
            table=gate,
        )
        del self._unfinished[table.name]
        self._metrics.rows_written(table.name, columns.count, time.monotonic() - started)

    def _with_retries(self, what: str, call: Callable[[], T], table: str = "") -> T:
        """Retry a ClickHouse call with backoff; after the last attempt, a SinkError (nothing committed)."""
        delay = self._first_backoff_s
        for attempt in range(1, self._attempts + 1):
            try:
                return call()
            except Exception as err:
                self._metrics.insert_failed(table or "gates")
                if attempt == self._attempts:
                    raise SinkError(f"{what}: {err}") from err
                log.warning("clickhouse_retry", what=what, attempt=attempt, error=str(err)[:300])
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
        raise AssertionError("unreachable")
