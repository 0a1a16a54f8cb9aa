"""Prometheus metrics shared by every deployable, and how Prometheus finds each process.

Each process serves ``/metrics`` on loopback, on the port it is given or on any free one, and
announces itself by writing one file-based service-discovery file (``<job>-<pid>.json``) in
the targets folder Prometheus watches; the file goes when the process exits. So every process
the platform runs is scraped, including the ones a demo or a benchmark starts with an
ephemeral port, and nobody keeps a list. ``prune_targets`` drops the files of processes that
were killed before they could remove theirs.

The metrics named here are the ones several deployables share (Kafka consumption, dead
letters, agent batches, consumer lag); a deployable's own metrics live next to it.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import FrameType
from typing import Any

import confluent_kafka
import structlog
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client import metrics as prometheus_metrics

from streams.contracts.base import Event
from streams.pids import alive

log = structlog.get_logger(__name__)

RECORDS_CONSUMED = Counter(
    "kafka_records_consumed_total", "Records read from Kafka and decoded", ["group", "topic"]
)
DEAD_LETTERS = Counter(
    "kafka_dead_letters_total", "Records moved to a dead-letter topic, by reason", ["group", "topic", "kind"]
)
AGENT_BATCH_SECONDS = Histogram(
    "agent_batch_seconds",
    "Time an agent's handler took for one batch (or one event)",
    ["agent"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
AGENT_RETRIES = Counter(
    "agent_retries_total", "Handler attempts that failed on an outage and were retried", ["agent"]
)
GIFT_STAGE_SECONDS = Histogram(
    "gift_stage_seconds",
    "Time a gift spent in a stage: requested -> screened (fraud), screened -> settled (ledger)",
    ["stage"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
CONSUMER_LAG = Gauge(
    "kafka_consumer_lag",
    "Records between a group's committed offset and the end of the topic",
    ["group", "topic"],
)


def stop_recording() -> None:
    """Metrics off in this process (``OBSERVE_TELEMETRY=false``, to measure what they cost):
    every metric's recording methods become no-ops, so the work is the same code path minus the
    recording. ``/metrics`` still answers; its samples stop moving."""

    def nothing(*_args: Any, **_kwargs: Any) -> None:
        return None

    def same(metric: Any, *_args: Any, **_kwargs: Any) -> Any:
        return metric

    for cls, methods in (
        (prometheus_metrics.Counter, ("inc",)),
        (prometheus_metrics.Gauge, ("inc", "dec", "set", "set_function")),
        (prometheus_metrics.Histogram, ("observe",)),
        (prometheus_metrics.Summary, ("observe",)),
    ):
        for method in methods:
            setattr(cls, method, nothing)
    prometheus_metrics.MetricWrapperBase.labels = same  # type: ignore[method-assign,assignment]


@functools.lru_cache(maxsize=4096)
def series(metric: Any, *values: str) -> Any:
    """``metric.labels(*values)``, remembered: prometheus-client checks the values and takes a
    lock on every ``labels()`` call, which costs more than the recording itself on a path that
    records per request or per event. The label values of a hot path are few (routes, events,
    agents); a rarely used series falls out of this cache, never out of the metric."""
    return metric.labels(*values)


def observe_since(stage: str, events: Iterable[Event]) -> None:
    """How long ago each event occurred, into ``gift_stage_seconds{stage}``."""
    now = time.time()
    histogram = series(GIFT_STAGE_SECONDS, stage)
    for event in events:
        histogram.observe(max(0.0, now - event.occurred_at.timestamp()))


def targets_dir(run_dir: Path) -> Path:
    """Where the processes of this checkout announce their metrics endpoints."""
    return run_dir / "prometheus" / "targets"


def serve_metrics(
    job: str,
    run_dir: Path,
    *,
    port: int = 0,
    host: str = "127.0.0.1",
    registry: CollectorRegistry = REGISTRY,
    labels: dict[str, str] | None = None,
) -> int:
    """Serve ``registry`` on ``host:port`` (0: any free port) and announce it; the port."""
    server, _ = start_http_server(port, addr=host, registry=registry)
    bound = int(server.server_port)
    announce(job, run_dir, f"{host}:{bound}", labels)
    return bound


def announce(job: str, run_dir: Path, address: str, labels: dict[str, str] | None = None) -> Path:
    """Tell Prometheus (file-based discovery) that this process serves ``/metrics`` at ``address``,
    until it exits."""
    folder = targets_dir(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{job}-{os.getpid()}.json"
    entry = [{"targets": [address], "labels": {"job": job, "pid": str(os.getpid()), **(labels or {})}}]
    staged = target.with_suffix(".tmp")
    staged.write_text(json.dumps(entry))
    staged.replace(target)  # Prometheus never reads half a file

    def withdraw() -> None:
        with contextlib.suppress(FileNotFoundError):
            target.unlink()

    atexit.register(withdraw)
    _withdraw_on_signals(withdraw)
    log.info("metrics_announced", job=job, url=f"http://{address}/metrics")
    return target


def _withdraw_on_signals(withdraw: Callable[[], None]) -> None:
    """A process killed by SIGTERM or SIGINT runs no atexit hook (uvicorn, for one, re-raises the
    signal once it has shut down), so the default handlers are wrapped: withdraw, then die as
    before. A process that handles the signal itself exits normally, and atexit withdraws."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)
        if previous not in (signal.SIG_DFL, signal.default_int_handler):
            continue

        def handler(signum: int, frame: FrameType | None, previous: Any = previous) -> None:
            withdraw()
            signal.signal(signum, previous)
            signal.raise_signal(signum)

        signal.signal(sig, handler)


def prune_targets(run_dir: Path) -> list[str]:
    """Remove the announcements of processes that are gone; the jobs removed."""
    removed = []
    for path in targets_dir(run_dir).glob("*.json"):
        try:
            pid = int(json.loads(path.read_text())[0]["labels"]["pid"])
        except (ValueError, KeyError, IndexError, json.JSONDecodeError, FileNotFoundError):
            pid = -1
        if pid <= 0 or not alive(pid):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            removed.append(path.stem)
    return removed


def group_lag(admin: AdminClient, group: str) -> dict[str, int]:
    """Records between ``group``'s committed offsets and the end of each topic it has committed
    on, per topic (two broker calls: the group's offsets, then the end offsets)."""
    request = confluent_kafka.ConsumerGroupTopicPartitions(group)
    committed = admin.list_consumer_group_offsets([request])[group].result(timeout=10)
    positions = {
        confluent_kafka.TopicPartition(tp.topic, tp.partition): tp.offset
        for tp in committed.topic_partitions
        if tp.offset >= 0
    }
    if not positions:
        return {}
    latest = OffsetSpec.latest()  # type: ignore[no-untyped-call]
    ends = admin.list_offsets(dict.fromkeys(positions, latest), request_timeout=10)
    lag: dict[str, int] = {}
    for tp, future in ends.items():
        lag[tp.topic] = lag.get(tp.topic, 0) + max(0, future.result().offset - positions[tp])
    return lag
