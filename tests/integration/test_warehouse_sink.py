"""The warehouse sink through the real Kafka and ClickHouse: a crash between insert and offset
commit, and the same batch delivered twice, count once in the raw tables and the views."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest

from pipelines.exceptions import SinkError
from pipelines.warehouse.metrics import SinkMetrics
from pipelines.warehouse.runner import run_pipelined
from pipelines.warehouse.sink import WarehouseWriter
from streams.bus.admin import start_group_at_end
from streams.bus.consumer import Batch, ContractConsumer, Received
from streams.bus.deadletter import DeadLetterPublisher
from streams.bus.producer import EventProducer
from streams.bus.wire import KafkaWire
from streams.contracts.chat import ChatMessageAccepted
from streams.contracts.gifts import GiftSettled
from streams.contracts.ledger import Asset, LedgerPosted, TransferKind, TransferState
from streams.settings import Settings
from streams.topics import TOPICS
from tests.integration.conftest import free_port, migrated_warehouse
from warehouse.catalog import get

CHAT = TOPICS.for_event(ChatMessageAccepted)
GIFTS = TOPICS.for_event(GiftSettled)
LEDGER = TOPICS.for_event(LedgerPosted)


@pytest.fixture
def warehouse_db(settings: Settings) -> Iterator[Any]:
    yield from migrated_warehouse(settings, "test_sink")


def sink_consumer(
    settings: Settings, wire: KafkaWire, group: str, writer: WarehouseWriter
) -> ContractConsumer:
    return ContractConsumer(
        settings.kafka.bootstrap_servers,
        group,
        [CHAT, GIFTS],
        DeadLetterPublisher(wire, group),
    )


def run_sink_until(
    consumer: ContractConsumer,
    writer: WarehouseWriter,
    *,
    written: int,
    dead: int = 0,
    metrics: SinkMetrics | None = None,
) -> None:
    """The sink's loop until it has committed ``written`` events and dead-lettered ``dead``
    records (or 60 s passed)."""
    stop = threading.Event()
    seen = {"written": 0, "dead": 0}

    def polled(batch: Batch) -> None:
        seen["dead"] += batch.dead_lettered

    def committed(batch: Batch) -> None:
        seen["written"] += len(batch.events)
        if seen["written"] >= written and seen["dead"] >= dead:
            stop.set()

    timer = threading.Timer(60, stop.set)
    timer.start()
    run_pipelined(
        consumer,
        writer,
        stop,
        max_records=100,
        max_wait_s=0.5,
        metrics=metrics,
        on_committed=committed,
        on_polled=polled,
    )
    timer.cancel()


def poll_until(consumer: ContractConsumer, want: int, max_records: int) -> tuple[list[Received], list[Any]]:
    events: list[Received] = []
    batches = []
    for _ in range(120):
        batch = consumer.poll_batch(max_records=max_records, timeout_s=0.5)
        events += batch.events
        batches.append(batch)
        if len(events) >= want:
            break
    return events, batches


def test_a_crash_between_insert_and_commit_counts_once(
    settings: Settings, wire: KafkaWire, producer: EventProducer, warehouse_db: Any, unique: str
) -> None:
    group = f"test-sink-{unique}"
    start_group_at_end(settings.kafka.bootstrap_servers, group, [CHAT, GIFTS])
    room = f"room-{unique}"
    for i in range(40):
        producer.submit(
            ChatMessageAccepted(
                message_id=uuid.uuid4(), room_id=room, user_id=f"u{i % 9}", text="hello", producer="tests"
            )
        )
    for i in range(10):
        producer.submit(
            GiftSettled(
                gift_id=uuid.uuid4(),
                sender_id=f"u{i}",
                creator_id="c1",
                room_id=room,
                gift_sku="rose",
                quantity=1,
                total_coins=10,
                creator_share_coins=7,
                platform_fee_coins=3,
                transfer_id=uuid.uuid4(),
                sender_balance_after=0,
                producer="tests",
            )
        )
    assert producer.flush(30) == 0

    # First run: everything is inserted, then the process dies before committing offsets.
    writer = WarehouseWriter(warehouse_db, group)
    consumer = sink_consumer(settings, wire, group, writer)
    events, _ = poll_until(consumer, 50, max_records=1000)
    writer(events)
    consumer.close()  # no commit

    # Restart: a fresh writer and consumer get all 50 again, batched differently this time.
    writer = WarehouseWriter(warehouse_db, group)
    consumer = sink_consumer(settings, wire, group, writer)
    redelivered = 0
    for _ in range(120):
        batch = consumer.poll_batch(max_records=7, timeout_s=0.5)
        redelivered += len(batch.events)
        if batch.events:
            writer(batch.events)
        consumer.commit(batch)
        if redelivered >= 50:
            break
    consumer.close()
    assert redelivered == 50

    def one(sql: str) -> Any:
        return warehouse_db.query(sql, parameters={"room": room}).result_rows[0][0]

    assert one("SELECT count() FROM chat_events WHERE room_id = {room:String}") == 40
    assert one("SELECT count() FROM gift_events WHERE room_id = {room:String}") == 10
    assert one("SELECT sum(messages) FROM room_engagement_minute WHERE room_id = {room:String}") == 40
    assert one("SELECT sum(gift_coins) FROM room_engagement_minute WHERE room_id = {room:String}") == 100


def test_the_same_batch_written_twice_counts_once(warehouse_db: Any) -> None:
    event = ChatMessageAccepted(
        message_id=uuid.uuid4(), room_id="room-x", user_id="u1", text="a", producer="t"
    )
    batch = [Received(event, CHAT.name, 3, 17, 0)]
    WarehouseWriter(warehouse_db, "g")(batch)
    WarehouseWriter(warehouse_db, "g")(batch)  # a second process: its high-water marks are empty
    assert warehouse_db.query("SELECT count() FROM chat_events").result_rows[0][0] == 1
    assert warehouse_db.query("SELECT sum(messages) FROM room_engagement_minute").result_rows[0][0] == 1


def test_poison_records_go_to_the_dead_letter_topic_and_the_sink_keeps_going(
    settings: Settings, wire: KafkaWire, producer: EventProducer, warehouse_db: Any, unique: str
) -> None:
    import json

    import httpx

    from streams.bus.deadletter import reason_of
    from streams.bus.scan import find_record

    group = f"test-poison-{unique}"
    start_group_at_end(settings.kafka.bootstrap_servers, group, [CHAT, GIFTS])
    room = f"room-{unique}"
    good = ChatMessageAccepted(message_id=uuid.uuid4(), room_id=room, user_id="u1", text="ok", producer="t")
    valid = json.loads(good.model_dump_json())
    unknown_type = json.dumps({**valid, "event_type": "chat.message.edited"}).encode()
    out_of_range = json.dumps({**valid, "event_id": str(uuid.uuid4()), "text": "x" * 501}).encode()
    wire.produce(CHAT.name, unknown_type, key=room.encode()).result(10)
    wire.produce(CHAT.name, out_of_range, key=room.encode()).result(10)
    producer.send_sync(good)

    port = free_port()
    metrics = SinkMetrics(port)
    writer = WarehouseWriter(warehouse_db, group, metrics)
    consumer = sink_consumer(settings, wire, group, writer)
    run_sink_until(consumer, writer, written=1, metrics=metrics)
    consumer.close()

    assert warehouse_db.query("SELECT text FROM chat_events").result_rows == [("ok",)]
    reasons = []
    for _ in range(2):
        dead = find_record(
            settings.kafka.bootstrap_servers,
            CHAT.dead_letter,
            lambda m: m.key() == room.encode() and reason_of(m.headers()).reason not in reasons,  # type: ignore[arg-type]
        )
        assert dead is not None
        reasons.append(reason_of(dead.headers()).reason)  # type: ignore[arg-type]
    assert any("chat.message.edited" in r for r in reasons)
    assert any("text: String should have at most 500 characters" in r for r in reasons)
    scraped = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    assert 'sink_rows_written_total{table="chat_events"} 1.0' in scraped
    assert "sink_freshness_seconds_bucket" in scraped


def test_a_ledger_posting_from_anyone_but_the_ledger_outbox_is_dead_lettered_not_earned(
    settings: Settings, wire: KafkaWire, producer: EventProducer, warehouse_db: Any, unique: str
) -> None:
    """A benchmark once published simulated postings to the platform's ledger topic, and the
    warehouse showed earnings the ledger never had. The sink now takes postings only from the
    ledger's outbox: the stray one goes to the dead letters with the reason, the real one is
    earned, and the sink carries on."""
    from pipelines.warehouse.sink import sink_topics, warehouse_consumer
    from streams.bus.deadletter import reason_of
    from streams.bus.scan import find_record
    from streams.contracts.ledger import LEDGER_OUTBOX

    group = f"test-untrusted-{unique}"
    start_group_at_end(settings.kafka.bootstrap_servers, group, sink_topics())
    creator = f"c-{unique}"
    stray = posting(creator, 900, f"stray-{unique}", producer_name="bench-sink-1234").event
    real = posting(creator, 70, f"real-{unique}", producer_name=LEDGER_OUTBOX).event
    producer.send_sync(stray)
    producer.send_sync(real)

    writer = WarehouseWriter(warehouse_db, group)
    consumer = warehouse_consumer(
        settings.kafka.bootstrap_servers, group, TOPICS, DeadLetterPublisher(wire, group)
    )
    run_sink_until(consumer, writer, written=1, dead=1)
    consumer.close()
    writer.close()

    assert warehouse_db.query("SELECT transfer_id, amount, producer FROM ledger_postings").result_rows == [
        (real.transfer_id, 70, LEDGER_OUTBOX)
    ]
    today = dt.datetime.now(dt.UTC).date().isoformat()
    earnings = get("creator_earnings")
    rows = warehouse_db.query(earnings.sql, parameters=earnings.bind({"from_day": today, "to_day": today}))
    assert [(r[0], r[3]) for r in rows.result_rows] == [(creator, 70)]
    dead = find_record(
        settings.kafka.bootstrap_servers,
        LEDGER.dead_letter,
        lambda m: reason_of(m.headers()).consumer == group,  # type: ignore[arg-type]
    )
    assert dead is not None
    info = reason_of(dead.headers())  # type: ignore[arg-type]
    assert info.kind == "untrusted_producer"
    assert info.reason == (
        f"ledger.posted from producer 'bench-sink-1234' on {LEDGER.name}: ledger_postings takes it only from {LEDGER_OUTBOX}"
    )


def posting(creator: str, amount: int, reference: str, producer_name: str = "tests") -> Received:
    now = dt.datetime.now(dt.UTC)
    event = LedgerPosted(
        transfer_id=uuid.uuid4(),
        posting_id=uuid.uuid4(),
        kind=TransferKind.GIFT,
        state=TransferState.POSTED,
        asset=Asset.COINS,
        amount=amount,
        debit_account="user_coins:u1",
        credit_account=f"creator_earnings:{creator}",
        reference_id=reference,
        posted_at=now,
        producer=producer_name,
    )
    return Received(event, LEDGER.name, 0, 0, 0)


@pytest.mark.parametrize("fault_view", ["a_fault_mv", "zz_fault_mv"])
def test_an_insert_cut_off_between_its_views_then_redelivered_in_other_batches_counts_each_coin_once(
    warehouse_db: Any, fault_view: str
) -> None:
    """ClickHouse dying in the middle of an INSERT (the chaos test's clickhouse fault) leaves part
    of what it feeds committed: the raw rows and some of the views. The sink retries, gives up,
    and the consumer starts again from the committed offsets, so the same postings come back
    batched differently (another deduplication token). Creator earnings must count each coin once,
    whichever views were cut off (a failing view created before or after the others)."""
    postings = [posting(f"c{i % 3}", 10 + i, f"gift-{i}") for i in range(12)]
    postings[4] = posting("c1", 500, "boom")
    warehouse_db.command("CREATE TABLE fault_sink (x UInt8) ENGINE = Null")
    warehouse_db.command(
        f"CREATE MATERIALIZED VIEW {fault_view} TO fault_sink AS "
        "SELECT throwIf(reference_id = 'boom', 'the server died') AS x FROM ledger_postings"
    )
    with pytest.raises(SinkError):
        WarehouseWriter(warehouse_db, "g", attempts=2, first_backoff_s=0.01)(postings[:8])
    warehouse_db.command(f"DROP VIEW {fault_view}")

    restarted = WarehouseWriter(warehouse_db, "g")
    restarted(postings[:5])
    restarted(postings[5:])

    expected: dict[str, int] = defaultdict(int)
    for received in postings:
        assert isinstance(received.event, LedgerPosted)
        expected[received.event.credit_account.removeprefix("creator_earnings:")] += received.event.amount
    today = dt.datetime.now(dt.UTC).date().isoformat()
    earnings = get("creator_earnings")
    rows = warehouse_db.query(earnings.sql, parameters=earnings.bind({"from_day": today, "to_day": today}))
    assert {r[0]: (r[3], r[6]) for r in rows.result_rows} == {
        creator: (coins, 4) for creator, coins in expected.items()
    }
    assert warehouse_db.query("SELECT count() FROM ledger_postings FINAL").result_rows[0][0] == 12


def chat_message(room: str, user: str, text: str) -> Received:
    event = ChatMessageAccepted(message_id=uuid.uuid4(), room_id=room, user_id=user, text=text, producer="t")
    return Received(event, CHAT.name, 0, 0, 0)


@pytest.mark.parametrize("fault_view", ["a_fault_mv", "zz_fault_mv"])
def test_an_insert_given_up_on_is_finished_with_its_own_rows_so_counts_stay_exact(
    warehouse_db: Any, fault_view: str
) -> None:
    """The same cut-off insert, but the sink process lives on (its consumer restarts, the writer
    does not): the messages come back batched differently, and every count in the engagement
    view is still exact, not only the money. The writer finishes the insert it gave up on with
    the same rows and token before it writes anything else."""
    room = f"room-{uuid.uuid4().hex[:8]}"
    messages = [chat_message(room, f"u{i % 4}", f"hello {i}") for i in range(12)]
    messages[4] = chat_message(room, "u9", "boom")
    warehouse_db.command("CREATE TABLE fault_sink (x UInt8) ENGINE = Null")
    warehouse_db.command(
        f"CREATE MATERIALIZED VIEW {fault_view} TO fault_sink AS "
        "SELECT throwIf(text = 'boom', 'the server died') AS x FROM chat_events"
    )
    writer = WarehouseWriter(warehouse_db, "g", attempts=2, first_backoff_s=0.01)
    with pytest.raises(SinkError):
        writer(messages[:8])
    assert writer.unfinished == 8
    with pytest.raises(SinkError):  # still down: nothing new is written before it
        writer(messages[8:])
    warehouse_db.command(f"DROP VIEW {fault_view}")

    writer(messages[:5])  # the consumer started again from the committed offsets
    writer(messages[5:])
    assert writer.unfinished == 0

    engagement = warehouse_db.query(
        "SELECT sum(messages), uniqExactMerge(chatters) FROM room_engagement_minute WHERE room_id = {room:String}",
        parameters={"room": room},
    ).result_rows
    assert engagement == [(12, 5)]
    assert warehouse_db.query(
        "SELECT count() FROM chat_events WHERE room_id = {room:String}", parameters={"room": room}
    ).result_rows == [(12,)]
