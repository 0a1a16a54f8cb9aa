"""Sink metrics in Prometheus text format: rows, failures, batch time, freshness, lag."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from streams.bus.consumer import Received
from streams.metrics import serve_metrics
from streams.settings import LocalPlatformSettings

FRESHNESS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0)


class SinkMetrics:
    """Metrics of one sink process. ``port=None`` records without serving (tests, benchmarks)."""

    def __init__(self, port: int | None, host: str = "127.0.0.1", run_dir: Path | None = None) -> None:
        self.registry = CollectorRegistry()
        self.rows = Counter("sink_rows_written_total", "Rows inserted", ["table"], registry=self.registry)
        self.failures = Counter(
            "sink_insert_failures_total", "Failed insert attempts", ["table"], registry=self.registry
        )
        self.duplicates = Counter(
            "sink_duplicate_events_skipped_total",
            "Records not inserted because their event id was already written",
            registry=self.registry,
        )
        self.insert_seconds = Histogram(
            "sink_insert_seconds", "Insert duration", ["table"], registry=self.registry
        )
        self.freshness = Histogram(
            "sink_freshness_seconds",
            "Event time to queryable in ClickHouse",
            buckets=FRESHNESS_BUCKETS,
            registry=self.registry,
        )
        self.lag = Gauge(
            "sink_consumer_lag",
            "Records behind the end of the partition",
            ["topic", "partition"],
            registry=self.registry,
        )
        self.port: int | None = None
        if port is not None:
            # This sink's own metrics and the shared ones (records consumed, dead letters, lag).
            served = CollectorRegistry()
            served.register(self.registry)
            served.register(REGISTRY)
            folder = run_dir or LocalPlatformSettings().run_dir
            self.port = serve_metrics("sink", folder, port=port, host=host, registry=served)

    def rows_written(self, table: str, count: int, seconds: float) -> None:
        self.rows.labels(table).inc(count)
        self.insert_seconds.labels(table).observe(seconds)

    def duplicates_skipped(self, count: int) -> None:
        self.duplicates.inc(count)

    def insert_failed(self, table: str) -> None:
        self.failures.labels(table).inc()

    def observe_freshness(self, batch: Sequence[Received]) -> None:
        """Per batch, the freshness of its oldest and newest event (a per-row histogram costs
        more than the insert; per-row freshness is in ClickHouse: _ingested_at - occurred_at)."""
        if not batch:
            return
        now = time.time()
        instants = [r.event.occurred_at.timestamp() for r in (batch[0], batch[-1])]
        for seconds in (max(0.0, now - min(instants)), max(0.0, now - max(instants))):
            self.freshness.observe(seconds)

    def set_lag(self, lag: dict[tuple[str, int], int]) -> None:
        for (topic, partition), behind in lag.items():
            self.lag.labels(topic, str(partition)).set(behind)
