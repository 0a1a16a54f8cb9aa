"""Composition root of the warehouse sink.

python -m pipelines.warehouse [--group sink.warehouse] [--max-records 50000] [--max-wait 1.0]
                              [--metrics-port 0] [--topic-namespace bench.]
"""

from __future__ import annotations

import argparse
import signal
import threading

import structlog

from pipelines.warehouse.metrics import SinkMetrics
from pipelines.warehouse.runner import run_pipelined
from pipelines.warehouse.sink import WarehouseWriter, warehouse_consumer
from streams.bus.deadletter import DeadLetterPublisher
from streams.bus.retry import supervise
from streams.bus.wire import KafkaWire
from streams.logs import configure_logging
from streams.settings import Settings
from streams.telemetry import init_telemetry
from streams.topics import TOPICS
from warehouse.client import connect

log = structlog.get_logger(__name__)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--group", default="sink.warehouse")
    parser.add_argument("--max-records", type=int, default=50_000)
    parser.add_argument("--max-wait", type=float, default=1.0, help="seconds to gather a batch")
    parser.add_argument(
        "--metrics-port", type=int, default=0, help="Prometheus metrics on loopback (0: any free port)"
    )
    parser.add_argument(
        "--topic-namespace",
        default="",
        help="read a namespaced copy of the topics (e.g. 'bench.', as `make bench-sink` writes), not the platform's",
    )
    args = parser.parse_args(argv)
    registry = TOPICS.namespaced(args.topic_namespace) if args.topic_namespace else TOPICS

    settings = Settings()
    configure_logging(settings.log_format)
    init_telemetry(settings, "sink")
    ch = settings.clickhouse
    client = connect(ch.url, database=ch.database, user=ch.user, password=ch.password.get_secret_value())
    metrics = SinkMetrics(args.metrics_port, run_dir=settings.local.run_dir)
    writer = WarehouseWriter(client, args.group, metrics)
    wire = KafkaWire(settings.kafka.bootstrap_servers, client_id=f"{args.group}-dlq")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def consume() -> None:
        consumer = warehouse_consumer(
            settings.kafka.bootstrap_servers,
            args.group,
            registry,
            DeadLetterPublisher(wire, args.group, registry),
        )
        try:
            run_pipelined(
                consumer,
                writer,
                stop,
                max_records=args.max_records,
                max_wait_s=args.max_wait,
                metrics=metrics,
            )
        finally:
            consumer.close()

    try:
        supervise(consume, stop, "warehouse-sink")
    finally:
        writer.close()
        wire.close()
        client.close()


if __name__ == "__main__":
    main()
