"""The outbox relay: every ledger transfer to ``ledger.postings``, exactly once.

Transfers reach the outbox in the same transaction that writes them (a trigger). The relay
publishes them with the transfer id as ``event_id``, waits for the broker's acknowledgement,
then deletes their outbox rows. If it dies between the two, the next relay reads the tail of
the topic first: records carrying this relay's ``outbox.source`` and a sequence still in the
outbox were already published and are deleted unsent, so nothing is published twice. One relay
runs per database (a PostgreSQL advisory lock).

    python -m streams.ledger.relay
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import confluent_kafka
import psycopg
import structlog
from prometheus_client import Counter, Gauge

from streams.bus.consumer import headers_of
from streams.bus.producer import event_headers
from streams.bus.retry import TRANSIENT, Backoff
from streams.bus.wire import KafkaWire
from streams.contracts.codec import encode
from streams.contracts.ledger import LEDGER_OUTBOX, Asset, LedgerPosted, TransferKind, TransferState
from streams.exceptions import PlatformError
from streams.ledger.store import SQL
from streams.topics import TOPICS

log = structlog.get_logger(__name__)
POSTINGS = TOPICS.for_event(LedgerPosted)
OUTBOX_PUBLISHED = Counter("outbox_published_total", "Ledger transfers published from the outbox")
OUTBOX_BACKLOG = Gauge("outbox_backlog", "Outbox rows not yet published (measured every few seconds)")
BACKLOG_EVERY_S = 5.0
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


class RecoveryIncomplete(PlatformError):
    """The tail of the postings topic could not be read, so what was published is unknown."""


# An outage of the broker or the database (a closed connection too), or a tail not read yet.
WAITED_OUT: tuple[type[Exception], ...] = (*TRANSIENT, psycopg.InterfaceError, RecoveryIncomplete)


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
        producer=LEDGER_OUTBOX,
    )


class OutboxRelay:
    """Publishes the outbox, oldest row first, and deletes each row once the broker holds it.

    Reading the rows that are there (not the rows past a cursor) is what makes it safe against
    commit order: a transaction that took a lower ``seq`` but committed later is simply read on
    a later pass. A relay that dies between the acknowledgement and the delete finds those rows
    at the tail of the topic when it starts (``already_published``) and deletes them unsent.
    """

    def __init__(
        self, dsn: str, wire: KafkaWire, bootstrap_servers: str, *, source: str, batch: int = 1000
    ) -> None:
        self._dsn = dsn
        self._wire = wire
        self._bootstrap = bootstrap_servers
        self.source = source
        self.batch = batch
        self._conn = self._connect()
        self.already_published = self._published_at_tail()

    def _connect(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self._dsn, autocommit=True, connect_timeout=10)
        locked = conn.execute(SQL["relay_lock"], {"relay": self.source}).fetchone()
        if not locked or not locked[0]:
            conn.close()
            raise RelayBusy(f"another relay is publishing the outbox of {self.source}")
        return conn

    def _published_at_tail(self) -> set[int]:
        """Outbox rows already on the topic: sequences of this source found among the last
        ``batch`` records of each partition whose rows are still in the outbox."""
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
                    found.add(int(headers[H_SEQ]))
                if (msg.offset() or 0) + 1 >= remaining.get(msg.partition() or 0, 0):
                    remaining.pop(msg.partition() or 0, None)
            if remaining:
                raise RecoveryIncomplete(f"could not read the tail of {POSTINGS.name} within 30 s")
        finally:
            consumer.close()
        if not found:
            return found
        rows = self._conn.execute(SQL["outbox_present"], {"seqs": sorted(found)}).fetchall()
        return {int(r[0]) for r in rows}

    def backlog(self) -> int:
        row = self._conn.execute(SQL["outbox_backlog"]).fetchone()
        return int(row[0]) if row else 0

    def publish_batch(self, *, delete: bool = True) -> int:
        """Publish up to ``batch`` outbox rows; returns how many were sent (not skipped)."""
        rows = self._conn.execute(SQL["outbox_batch"], {"limit": self.batch}).fetchall()
        if not rows:
            return 0
        seqs = [int(row[0]) for row in rows]
        futures = []
        for seq, row in zip(seqs, rows, strict=True):
            if seq in self.already_published:
                continue
            event = to_event(row)
            headers = [*event_headers(event), (H_SOURCE, self.source.encode()), (H_SEQ, str(seq).encode())]
            futures.append(
                self._wire.produce(POSTINGS.name, encode(event), key=POSTINGS.key_of(event), headers=headers)
            )
        for future in futures:
            future.result(timeout=60)  # every record acknowledged before its row goes
        if delete:
            self._conn.execute(SQL["outbox_done"], {"seqs": seqs})
            self.already_published.difference_update(seqs)
        OUTBOX_PUBLISHED.inc(len(futures))
        return len(futures)

    def run(self, stop: threading.Event, idle_s: float = 0.2, max_backoff_s: float = 5.0) -> None:
        """Publish until ``stop``. A broker or database outage is waited out with backoff: the
        relay reconnects and re-reads the topic's tail (a record acknowledged after its wait
        timed out must not be sent twice), then carries on where the outbox says."""
        backoff = Backoff(first_s=0.2, max_s=max_backoff_s)
        measured = 0.0
        while not stop.is_set():
            try:
                if backoff.current:
                    self._recover()
                if time.monotonic() - measured >= BACKLOG_EVERY_S:
                    OUTBOX_BACKLOG.set(self.backlog())
                    measured = time.monotonic()
                sent = self.publish_batch()
                backoff.reset()
                if sent == 0:
                    stop.wait(idle_s)
            except WAITED_OUT as err:
                wait = backoff.next()
                log.warning("outbox_relay_waiting", source=self.source, error=str(err), retry_in_s=wait)
                stop.wait(wait)

    def _recover(self) -> None:
        if self._conn.closed or self._conn.broken:
            self._conn.close()
            self._conn = self._connect()
        self.already_published = self._published_at_tail()
        if self.already_published:
            log.warning("outbox_recovered", source=self.source, already_published=len(self.already_published))

    def close(self) -> None:
        self._conn.close()


def main() -> None:
    from streams.heap import prepare_heap_for_serving
    from streams.logs import configure_logging
    from streams.metrics import serve_metrics
    from streams.settings import Settings
    from streams.telemetry import init_telemetry

    settings = Settings()
    configure_logging(settings.log_format)
    init_telemetry(settings, "relay")
    serve_metrics("relay", settings.local.run_dir)
    wire = KafkaWire(settings.kafka.bootstrap_servers, client_id="ledger-outbox")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    relay = start_when_possible(
        lambda: OutboxRelay(
            settings.postgres.dsn(),
            wire,
            settings.kafka.bootstrap_servers,
            source=f"{settings.postgres.database}.public",
        ),
        stop,
    )
    if relay is None:
        wire.close()
        return
    prepare_heap_for_serving()
    try:
        relay.run(stop)
    finally:
        relay.close()
        wire.close()


def start_when_possible(make: Callable[[], OutboxRelay], stop: threading.Event) -> OutboxRelay | None:
    """Build the relay, waiting out an unreachable broker or database and standing by while
    another relay holds the outbox (it takes over when that one's session ends)."""
    backoff = Backoff(first_s=0.2)
    while not stop.is_set():
        wait = backoff.next()
        try:
            return make()
        except RelayBusy:
            log.info("outbox_relay_standby", retry_in_s=wait)
        except WAITED_OUT as err:
            log.warning("outbox_relay_waiting", error=str(err), retry_in_s=wait)
        stop.wait(wait)
    return None


if __name__ == "__main__":
    main()
