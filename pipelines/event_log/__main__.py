"""Composition root of the event_log sink: ``python -m pipelines.event_log [--group G] [--once]``."""

from __future__ import annotations

import argparse
import signal
import threading

from pipelines.event_log.sink import EventLogWriter
from streams.bus.consumer import ContractConsumer
from streams.bus.deadletter import DeadLetterPublisher
from streams.bus.wire import KafkaWire
from streams.logs import configure_logging
from streams.settings import Settings
from streams.telemetry import init_telemetry
from streams.topics import TOPICS
from warehouse.client import connect


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--group", default="sink.event_log")
    parser.add_argument("--max-records", type=int, default=50_000)
    parser.add_argument("--max-wait", type=float, default=1.0, help="seconds to gather a batch")
    args = parser.parse_args(argv)

    settings = Settings()
    configure_logging(settings.log_format)
    init_telemetry(settings, "event-log-sink")
    ch = settings.clickhouse
    client = connect(ch.url, database=ch.database, user=ch.user, password=ch.password.get_secret_value())
    wire = KafkaWire(settings.kafka.bootstrap_servers, client_id=f"{args.group}-dlq")
    consumer = ContractConsumer(
        settings.kafka.bootstrap_servers, args.group, list(TOPICS), DeadLetterPublisher(wire, args.group)
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        consumer.run(
            EventLogWriter(client, args.group), stop, max_records=args.max_records, max_wait_s=args.max_wait
        )
    finally:
        consumer.close()
        wire.close()
        client.close()


if __name__ == "__main__":
    main()
