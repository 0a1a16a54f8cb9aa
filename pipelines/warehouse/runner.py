"""The sink loop: while one batch is being inserted, the next is consumed and decoded.

Order is kept: a batch's offsets are committed only after its insert finished, and the
writer sees batches one at a time, in order. At most one insert is in flight, which also
bounds memory (backpressure: a slow ClickHouse slows consumption, it does not queue up).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import confluent_kafka
import structlog

from pipelines.warehouse.metrics import SinkMetrics
from pipelines.warehouse.sink import WarehouseWriter
from streams.bus.consumer import Batch, ContractConsumer

log = structlog.get_logger(__name__)


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
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sink-insert") as inserts:
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
