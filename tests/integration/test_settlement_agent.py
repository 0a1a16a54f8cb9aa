"""The settlement agent in a real Faust worker: gifts.requested -> PostgreSQL ledger ->
gifts.outcomes, with redelivery, insufficient funds, unknown gifts and poison records."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable

import psycopg
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from ops.seed import live_room, open_rooms
from streams.bus.deadletter import reason_of
from streams.bus.producer import EventProducer
from streams.bus.scan import find_record
from streams.bus.wire import KafkaWire
from streams.contracts.fraud import FraudAlert
from streams.contracts.gifts import GiftRequested, GiftSettled
from streams.ledger.store import PostgresLedger
from streams.rooms.directory import RoomDirectory
from streams.settings import Settings
from streams.topics import TOPICS
from tests.integration.conftest import Worker, fund, run_with_ledger

REQUESTS = TOPICS.for_event(GiftRequested)
OUTCOMES = TOPICS.for_event(GiftSettled)


async def ban(settings: Settings, room: str, user: str) -> None:
    pool = AsyncConnectionPool(settings.postgres.dsn(), min_size=1, max_size=2, open=False)
    await pool.open(wait=True)
    async with Redis.from_url(settings.redis.url) as redis:
        await RoomDirectory(pool, redis).ban(room, user, "mod")
    await pool.close()


def request(sender: str, creator: str, sku: str, price: int, quantity: int = 1) -> GiftRequested:
    return GiftRequested(
        gift_id=uuid.uuid4(),
        sender_id=sender,
        creator_id=creator,
        room_id=live_room(creator),
        gift_sku=sku,
        quantity=quantity,
        unit_price_coins=price,
        total_coins=price * quantity,
        producer="tests",
    )


def test_gifts_are_settled_once_and_every_request_gets_an_outcome(
    settings: Settings,
    wire: KafkaWire,
    producer: EventProducer,
    start_worker: Callable[[], Worker],
    unique: str,
) -> None:
    sender, creator = f"viewer-{unique}", f"creator-{unique}"
    fund(settings.postgres.dsn(), sender, 100)
    ok = request(sender, creator, "rose", 10, quantity=3)
    castle = request(f"new-{unique}", creator, "castle", 5000)  # high value from a brand-new account
    too_dear = request(sender, creator, "rocket", 500)
    unknown = request(sender, creator, "unicorn", 1)
    nobody = request(sender, f"ghost-{unique}", "rose", 10)  # no room is open for this creator
    banned = request(f"troll-{unique}", creator, "rose", 10)
    open_rooms(settings, {live_room(creator): creator})
    asyncio.run(ban(settings, live_room(creator), f"troll-{unique}"))
    fund(settings.postgres.dsn(), f"troll-{unique}", 100)
    worker = start_worker()
    for event in (ok, too_dear, unknown, ok, castle, nobody, banned):  # `ok` delivered twice
        producer.send_sync(event)
    wire.produce(
        REQUESTS.name, b'{"event_type": "gift.requested", "quantity": 0}', key=sender.encode()
    ).result(10)

    wanted = {ok.gift_id, too_dear.gift_id, unknown.gift_id, nobody.gift_id, banned.gift_id}
    seen: dict[uuid.UUID, list[dict[str, object]]] = {}

    def collect(msg) -> bool:  # type: ignore[no-untyped-def]
        body = json.loads(msg.value())
        gift_id = uuid.UUID(body["gift_id"])
        if gift_id in wanted:
            seen.setdefault(gift_id, []).append(body)
        return len(seen.get(ok.gift_id, [])) >= 2 and wanted <= set(seen)

    assert find_record(settings.kafka.bootstrap_servers, OUTCOMES.name, collect, timeout_s=90), worker.log()
    assert [o["event_type"] for o in seen[ok.gift_id]] == ["gift.settled", "gift.settled"]
    assert seen[ok.gift_id][0]["event_id"] == seen[ok.gift_id][1]["event_id"]  # same outcome, same id
    assert seen[ok.gift_id][0]["sender_balance_after"] == 70
    assert (seen[ok.gift_id][0]["creator_share_coins"], seen[ok.gift_id][0]["platform_fee_coins"]) == (21, 9)
    assert (seen[too_dear.gift_id][0]["event_type"], seen[too_dear.gift_id][0]["reason"]) == (
        "gift.rejected",
        "insufficient_funds",
    )
    assert seen[unknown.gift_id][0]["reason"] == "unknown_gift"
    assert seen[nobody.gift_id][0]["reason"] == "unknown_creator"
    assert seen[banned.gift_id][0]["reason"] == "sender_banned"
    with psycopg.connect(settings.postgres.dsn()) as conn:  # held for an analyst, not settled
        for _ in range(100):
            hold = conn.execute(
                "SELECT rules, decision FROM gift_holds WHERE gift_id = %s", (castle.gift_id,)
            ).fetchone()
            if hold:
                break
            time.sleep(0.1)
    assert hold == (["high_value_new_account"], None)
    assert castle.gift_id not in seen
    alert = find_record(
        settings.kafka.bootstrap_servers,
        TOPICS.for_event(FraudAlert).name,
        lambda m: json.loads(m.value())["reference_id"] == str(castle.gift_id),
    )
    assert alert is not None
    assert json.loads(alert.value())["rule"] == "high_value_new_account"

    async def balances(ledger: PostgresLedger) -> tuple[int, int]:
        return (await ledger.balance(f"user_coins:{sender}")).balance, (
            await ledger.balance(f"creator_earnings:{creator}")
        ).balance

    assert asyncio.run(run_with_ledger(settings.postgres.dsn(), balances)) == (70, 21)
    dead = find_record(
        settings.kafka.bootstrap_servers, REQUESTS.dead_letter, lambda m: m.key() == sender.encode()
    )
    assert dead is not None
    assert "quantity" in reason_of(dead.headers()).reason  # type: ignore[arg-type]
    assert worker.proc.poll() is None
