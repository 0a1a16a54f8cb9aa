"""A real Faust worker: probes go Kafka -> agent -> PostgreSQL receipt -> Redis announcement;
a poison record goes to the dead-letter topic and the agent keeps consuming."""

from __future__ import annotations

import json
from collections.abc import Callable

import psycopg
import redis

from streams.bus.deadletter import reason_of
from streams.bus.producer import EventProducer
from streams.bus.wire import KafkaWire
from streams.contracts.probes import PlatformProbe
from streams.probes.handlers import channel_for
from streams.settings import Settings
from streams.topics import TOPICS
from tests.integration.conftest import Worker, eventually, read_topic

PROBES = TOPICS.for_event(PlatformProbe)


def receipts(settings: Settings, run_id: str) -> list[tuple[int, str]]:
    with psycopg.connect(settings.postgres.dsn()) as conn:
        rows = conn.execute(
            "SELECT seq, consumer FROM probe_receipts WHERE run_id = %s ORDER BY seq", (run_id,)
        ).fetchall()
    return [(int(seq), str(consumer)) for seq, consumer in rows]


def test_probes_cross_every_store_and_poison_is_dead_lettered(
    settings: Settings,
    wire: KafkaWire,
    producer: EventProducer,
    start_worker: Callable[[], Worker],
    unique: str,
) -> None:
    run_id = f"run-{unique}"
    bus = redis.Redis.from_url(settings.redis.url)
    pubsub = bus.pubsub()
    pubsub.subscribe(channel_for(run_id))
    worker = start_worker()

    producer.send_sync(PlatformProbe(run_id=run_id, seq=0, producer="tests"))
    poison = wire.produce(PROBES.name, b'{"event_type": "ops.probe", "seq": -1}', key=run_id.encode())
    poison_offset = poison.result(timeout=10).offset
    duplicate = PlatformProbe(run_id=run_id, seq=1, producer="tests")
    producer.send_sync(duplicate)
    producer.send_sync(duplicate)  # at-least-once: the same event delivered twice

    got = eventually(
        lambda: len(receipts(settings, run_id)) >= 2 and receipts(settings, run_id), 90, "receipts"
    )
    assert got == [(0, worker.app_id), (1, worker.app_id)], worker.log()

    announcements = []
    for _ in range(50):
        message = pubsub.get_message(timeout=0.2)
        if message and message["type"] == "message":
            announcements.append(json.loads(message["data"]))
        if len(announcements) == 3:
            break
    assert sorted((a["seq"], a["first_delivery"]) for a in announcements) == [
        (0, True),
        (1, False),
        (1, True),
    ]

    dead = read_topic(settings, PROBES.dead_letter, lambda m: m.key() == run_id.encode())
    info = reason_of(dead.headers())
    assert (info.topic, info.offset, info.consumer) == (PROBES.name, poison_offset, worker.app_id)
    assert "seq: Input should be greater than or equal to 0" in info.reason
    assert worker.proc.poll() is None, "the worker must keep running after a poison record"
    pubsub.close()
    bus.close()
