"""The event_log sink: consume every registered topic, write batches, commit after the write.

Exactly-once effect under redelivery: a batch re-sent with the same records carries the
same insert deduplication token, and ``event_log`` is a ReplacingMergeTree keyed by
event id, so whatever slips past the token collapses at merge time (read with FINAL).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import structlog
from clickhouse_connect.driver.client import Client

from pipelines.event_log.rows import COLUMNS, to_rows
from pipelines.exceptions import SinkError
from pipelines.tokens import dedup_token
from streams.bus.consumer import Received

log = structlog.get_logger(__name__)

TABLE = "event_log"


class EventLogWriter:
    def __init__(self, client: Client, group: str) -> None:
        self._client = client
        self._group = group

    def __call__(self, batch: Sequence[Received]) -> None:
        if not batch:
            return
        started = time.monotonic()
        token = dedup_token(TABLE, (r.event.event_id for r in batch))
        try:
            self._client.insert(
                TABLE,
                to_rows(batch),
                column_names=list(COLUMNS),
                settings={"insert_deduplication_token": token, "async_insert": 0},
            )
        except Exception as err:
            raise SinkError(f"writing {len(batch)} rows to {TABLE}: {err}") from err
        newest_ms = max(r.timestamp_ms for r in batch)
        log.info(
            "batch_written",
            table=TABLE,
            rows=len(batch),
            write_ms=round((time.monotonic() - started) * 1000, 1),
            freshness_ms=max(0, int(time.time() * 1000) - newest_ms),
        )
