"""The outbox relay on the real PostgreSQL and Kafka: every transfer published once, in order,
even when the relay dies after publishing and before moving its cursor."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator

import confluent_kafka
import psycopg
import pytest

from streams.bus.consumer import headers_of
from streams.bus.wire import KafkaWire
from streams.contracts.ledger import LedgerPosted
from streams.ledger.model import COIN_ISSUANCE, COINS, Flags, Transfer
from streams.ledger.relay import H_SOURCE, OutboxRelay, RelayBusy
from streams.postgres.migrate import migrate
from streams.settings import Settings
from streams.topics import TOPICS
from tests.integration.conftest import run_with_ledger

POSTINGS = TOPICS.for_event(LedgerPosted)


@pytest.fixture
def schema_dsn(settings: Settings, unique: str) -> Iterator[tuple[str, str]]:
    schema = f"test_outbox_{unique}"
    with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("CREATE SCHEMA {}").format(psycopg.sql.Identifier(schema)))
    dsn = f"{settings.postgres.dsn()}?options=-csearch_path%3D{schema}"
    migrate(dsn)
    yield dsn, schema
    with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("DROP SCHEMA {} CASCADE").format(psycopg.sql.Identifier(schema)))


def post(dsn: str, transfers: list[Transfer]) -> None:
    asyncio.run(run_with_ledger(dsn, lambda ledger: ledger.post(transfers)))


def published(settings: Settings, source: str, expected: int) -> list[dict[str, object]]:
    consumer = confluent_kafka.Consumer(
        {
            "bootstrap.servers": settings.kafka.bootstrap_servers,
            "group.id": f"t-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([POSTINGS.name])
    found: list[dict[str, object]] = []
    deadline = time.monotonic() + 30
    quiet_since = time.monotonic()
    while time.monotonic() < deadline and (len(found) < expected or time.monotonic() - quiet_since < 3):
        msg = consumer.poll(0.5)
        if msg is None or msg.error() is not None:
            continue
        if dict(headers_of(msg)).get(H_SOURCE, b"").decode() == source:
            found.append(json.loads(msg.value()))
            quiet_since = time.monotonic()
    consumer.close()
    return found


def test_each_transfer_is_published_once_even_across_a_crash(
    settings: Settings, wire: KafkaWire, schema_dsn: tuple[str, str]
) -> None:
    dsn, schema = schema_dsn
    transfers = [
        Transfer(
            uuid.uuid4(),
            uuid.uuid4(),
            "topup",
            Flags.POSTED,
            COINS,
            10 + i,
            COIN_ISSUANCE,
            f"user_coins:u{i}",
            "t",
        )
        for i in range(6)
    ]
    post(dsn, transfers[:3])
    relay = OutboxRelay(dsn, wire, settings.kafka.bootstrap_servers, source=schema, batch=100)
    with pytest.raises(RelayBusy):
        OutboxRelay(dsn, wire, settings.kafka.bootstrap_servers, source=schema)  # one relay per outbox
    assert relay.publish_batch() == 3
    post(dsn, transfers[3:])
    assert relay.publish_batch(delete=False) == 3  # published, then the relay dies
    relay.close()

    restarted = OutboxRelay(dsn, wire, settings.kafka.bootstrap_servers, source=schema, batch=100)
    assert len(restarted.already_published) == 3
    assert restarted.publish_batch() == 0  # found on the topic: not published again
    assert restarted.backlog() == 0
    restarted.close()

    records = published(settings, schema, expected=6)
    assert sorted(r["transfer_id"] for r in records) == sorted(str(t.id) for t in transfers)
    by_id = {r["transfer_id"]: r for r in records}
    first = by_id[str(transfers[0].id)]
    assert (first["event_id"], first["amount"], first["state"], first["kind"]) == (
        str(transfers[0].id),
        10,
        "posted",
        "topup",
    )


INSERT_TRANSFER = """
INSERT INTO ledger_transfers (id, posting_id, kind, flags, asset, amount, debit_account, credit_account, reference_id)
VALUES (%s, %s, 'topup', 'posted', 'COINS', %s, 'system:coin_issuance', %s, 't')
"""


def test_a_transfer_that_commits_after_a_later_one_is_still_published(
    settings: Settings, wire: KafkaWire, schema_dsn: tuple[str, str]
) -> None:
    """Sequences are taken at insert, commits land in any order: the transfer that took the
    lower sequence but committed last must reach the topic too (it never did with a cursor)."""
    dsn, schema = schema_dsn
    early, late = uuid.uuid4(), uuid.uuid4()
    relay = OutboxRelay(dsn, wire, settings.kafka.bootstrap_servers, source=schema, batch=100)
    with psycopg.connect(dsn) as slow, psycopg.connect(dsn, autocommit=True) as fast:
        slow.execute(INSERT_TRANSFER, (early, uuid.uuid4(), 5, "user_coins:slow"))  # takes seq 1, stays open
        fast.execute(INSERT_TRANSFER, (late, uuid.uuid4(), 7, "user_coins:fast"))  # seq 2, committed
        assert relay.publish_batch() == 1
        slow.commit()
    assert relay.publish_batch() == 1
    assert relay.backlog() == 0
    relay.close()
    records = published(settings, schema, expected=2)
    assert sorted(str(r["transfer_id"]) for r in records) == sorted([str(early), str(late)])
