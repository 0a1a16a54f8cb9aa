"""The outbox relay: every ledger transfer, in commit order, to ``ledger.postings``, exactly once.

Transfers reach the outbox in the same transaction that writes them (a trigger). The relay
publishes them with the transfer id as ``event_id``, waits for the broker's acknowledgement,
then advances its cursor in PostgreSQL. If it dies between the two, the next relay reads the
tail of the topic first: records carrying this relay's ``outbox.source`` and a sequence past
the cursor were already published and are skipped, so nothing is published twice. One relay
runs per database (a PostgreSQL advisory lock).

    python -m streams.ledger.relay
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Sequence
from typing import Any

import confluent_kafka
import psycopg
import structlog

from streams.bus.consumer import headers_of
from streams.bus.producer import event_headers
from streams.bus.wire import KafkaWire
from streams.contracts.codec import encode
from streams.contracts.ledger import Asset, LedgerPosted, TransferKind, TransferState
from streams.exceptions import PlatformError
from streams.ledger.store import SQL
from streams.topics import TOPICS

log = structlog.get_logger(__name__)
POSTINGS = TOPICS.for_event(LedgerPosted)
H_SOURCE = "outbox.source"
H_SEQ = "outbox.seq"
STATE = {
    "posted": TransferState.POSTED,
    "pending": TransferState.PENDING,
    "post_pending": TransferState.POSTED,
    "void_pending": TransferState.VOIDED,
}


class RelayBusy(PlatformError):
    """Another relay holds this database's outbox."""


def to_event(row: Sequence[Any]) -> LedgerPosted:
    _seq, transfer_id, posting_id, kind, flags, asset, amount, debit, credit, reference, reverses, created = (
        row
    )
    return LedgerPosted(
        event_id=transfer_id,
        transfer_id=transfer_id,
        posting_id=posting_id,
        kind=TransferKind(kind),
        state=STATE[flags],
        asset=Asset(asset),
        amount=int(amount),
        debit_account=debit,
        credit_account=credit,
        reference_id=reference,
        posted_at=created,
        reverses=reverses,
        occurred_at=created,
        producer="ledger-outbox",
    )


class OutboxRelay:
    def __init__(
        self, dsn: str, wire: KafkaWire, bootstrap_servers: str, *, source: str, batch: int = 1000
    ) -> None:
        self._conn = psycopg.connect(dsn, autocommit=True)
        self._wire = wire
        self._bootstrap = bootstrap_servers
        self.source = source
        self.batch = batch
        locked = self._conn.execute(SQL["relay_lock"], {"relay": source}).fetchone()
        if not locked or not locked[0]:
            raise RelayBusy(f"another relay is publishing the outbox of {source}")
        self.cursor = int(self._conn.execute(SQL["relay_cursor"], {"relay": source}).fetchone()[0])  # type: ignore[index]
        self.already_published = self._published_past_cursor()

    def _published_past_cursor(self) -> set[int]:
        """Sequences of this source past the cursor found at the tail of the topic."""
        consumer = confluent_kafka.Consumer(
            {
                "bootstrap.servers": self._bootstrap,
                "group.id": f"outbox-recovery-{self.source}",
                "enable.auto.commit": False,
            }
        )
        found: set[int] = set()
        try:
            partitions = []
            for p in range(POSTINGS.partitions):
                low, high = consumer.get_watermark_offsets(
                    confluent_kafka.TopicPartition(POSTINGS.name, p), timeout=10
                )
                if high > low:
                    partitions.append((p, max(low, high - self.batch), high))
            consumer.assign(
                [confluent_kafka.TopicPartition(POSTINGS.name, p, start) for p, start, _ in partitions]
            )
            remaining = {p: high for p, _, high in partitions}
            deadline = time.monotonic() + 30
            while remaining and time.monotonic() < deadline:
                msg = consumer.poll(0.5)
                if msg is None or msg.error() is not None:
                    continue
                headers = dict(headers_of(msg))
                if headers.get(H_SOURCE, b"").decode() == self.source:
                    seq = int(headers[H_SEQ])
                    if seq > self.cursor:
                        found.add(seq)
                if (msg.offset() or 0) + 1 >= remaining.get(msg.partition() or 0, 0):
                    remaining.pop(msg.partition() or 0, None)
        finally:
            consumer.close()
        if found:
            log.warning(
                "outbox_recovered", source=self.source, already_published=len(found), cursor=self.cursor
            )
        return found

    def publish_batch(self, *, advance: bool = True) -> int:
        rows = self._conn.execute(SQL["outbox_after"], {"after": self.cursor, "limit": self.batch}).fetchall()
        if not rows:
            return 0
        futures = []
        for row in rows:
            seq = int(row[0])
            if seq in self.already_published:
                continue
            event = to_event(row)
            headers = [*event_headers(event), (H_SOURCE, self.source.encode()), (H_SEQ, str(seq).encode())]
            futures.append(
                self._wire.produce(POSTINGS.name, encode(event), key=POSTINGS.key_of(event), headers=headers)
            )
        for future in futures:
            future.result(timeout=60)  # every record acknowledged before the cursor moves
        last = int(rows[-1][0])
        if advance:
            self._conn.execute(SQL["relay_advance"], {"relay": self.source, "seq": last})
            self.cursor = last
            self.already_published = {s for s in self.already_published if s > last}
        return len(futures)

    def run(self, stop: threading.Event, idle_s: float = 0.2) -> None:
        while not stop.is_set():
            if self.publish_batch() == 0:
                stop.wait(idle_s)

    def close(self) -> None:
        self._conn.close()


def main() -> None:
    from streams.logs import configure_logging
    from streams.settings import Settings

    settings = Settings()
    configure_logging(settings.log_format)
    wire = KafkaWire(settings.kafka.bootstrap_servers, client_id="ledger-outbox")
    relay = OutboxRelay(
        settings.postgres.dsn(),
        wire,
        settings.kafka.bootstrap_servers,
        source=f"{settings.postgres.database}.public",
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        relay.run(stop)
    finally:
        relay.close()
        wire.close()


if __name__ == "__main__":
    main()
