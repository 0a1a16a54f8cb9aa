"""The sink loop: while one batch is being inserted, the next is consumed and decoded.

Order is kept: a batch's offsets are committed only after its insert finished, and the
writer sees batches one at a time, in order. At most one insert is in flight, which also
bounds memory (backpressure: a slow ClickHouse slows consumption, it does not queue up).

Garbage is collected between batches, not during them. A batch is tens of thousands of
acyclic event objects, freed by reference counting when it is committed; left to itself,
the cyclic collector would scan the growing batch again every few hundred allocations,
which measured as half of decoding and two thirds of serializing a row. So the loop turns
automatic collection off and, at each batch boundary, freezes what is alive (``gc.freeze``,
constant time): a batch still in flight is then never scanned, and is freed by reference
counting all the same. Every ``full_every_s`` it unfreezes and collects everything, which
reclaims the rare cycle (tracebacks, client internals) made since. Collecting the young
generations at each boundary instead scanned the batch just decoded, alive, in vain: 8 % of
the sink's time.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

import confluent_kafka
import structlog

from pipelines.warehouse.metrics import SinkMetrics
from pipelines.warehouse.sink import WarehouseWriter
from streams.bus.consumer import Batch, ContractConsumer

log = structlog.get_logger(__name__)


class BatchCollector:
    """Cyclic garbage collection at batch boundaries (see the module docstring)."""

    def __init__(self, full_every_s: float = 30.0) -> None:
        self._full_every_s = full_every_s
        self._last_full = time.monotonic()

    @contextmanager
    def owning_gc(self) -> Iterator[None]:
        was_enabled = gc.isenabled()
        gc.freeze()  # what was imported and built at start-up is not garbage (until the next full)
        gc.disable()
        try:
            yield
        finally:
            gc.unfreeze()
            if was_enabled:
                gc.enable()

    def between_batches(self) -> None:
        if time.monotonic() - self._last_full >= self._full_every_s:
            gc.unfreeze()
            gc.collect()
            self._last_full = time.monotonic()
        gc.freeze()


def run_pipelined(
    consumer: ContractConsumer,
    writer: WarehouseWriter,
    stop: threading.Event,
    *,
    max_records: int = 50_000,
    max_wait_s: float = 1.0,
    metrics: SinkMetrics | None = None,
    lag_every_s: float = 10.0,
    on_committed: Callable[[Batch], None] | None = None,
    on_polled: Callable[[Batch], None] | None = None,
) -> None:
    in_flight: tuple[Future[None], Batch] | None = None
    last_lag = 0.0
    collector = BatchCollector()
    with (
        collector.owning_gc(),
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="sink-insert") as inserts,
    ):
        try:
            while not stop.is_set():
                batch = consumer.poll_batch(max_records, max_wait_s)
                if on_polled is not None:
                    on_polled(batch)
                if in_flight is not None:
                    future, previous = in_flight
                    future.result()  # re-raises an insert that failed for good: nothing committed
                    consumer.commit(previous)
                    if on_committed is not None:
                        on_committed(previous)
                    in_flight = None
                    del future, previous
                    collector.between_batches()
                if not batch.empty:
                    if batch.events:
                        in_flight = (inserts.submit(writer, batch.events), batch)
                    else:
                        consumer.commit(batch)  # only dead letters
                if metrics is not None and time.monotonic() - last_lag > lag_every_s:
                    last_lag = time.monotonic()
                    try:
                        metrics.set_lag(consumer.lag())
                    except confluent_kafka.KafkaException as err:  # a metric: never a reason to stop
                        log.warning("lag_unavailable", error=str(err)[:200])
        finally:
            if in_flight is not None:
                future, previous = in_flight
                if future.exception() is None:
                    consumer.commit(previous)
