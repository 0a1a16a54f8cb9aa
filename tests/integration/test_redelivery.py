"""Deliver it twice, fail half-way: the defects a fault-injection run found on the path from a
request to the ledger and the warehouse, each against the real PostgreSQL, Kafka and Redis.

- a redelivered settlement is the very same outcome event (id and ``occurred_at``);
- a redelivered gift is not screened again: its first decision, and its settled outcome, stand;
- a gift id reused for another request gets no outcome of its own;
- a payment webhook whose publish failed is applied and published on the provider's retry;
- an analyst's decision whose settlement failed is finished by the next request;
- an Idempotency-Key claim left by a dead process does not block the key forever;
- a settlement batch that fails on a database outage is retried, not acknowledged and lost.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar

import httpx
import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from ops.seed import live_room, open_rooms
from streams.bus.producer import EventProducer
from streams.bus.scan import find_record
from streams.bus.wire import DeliveryFailed
from streams.contracts.base import Event, Role
from streams.contracts.gifts import GiftRejected, GiftRejectReason, GiftRoomProblem, GiftScreened, GiftSettled
from streams.contracts.wallet import TopUpCaptured
from streams.fraud.counters import RedisCounters
from streams.fraud.decisions import PostgresScreenings
from streams.fraud.rules import gift_rules
from streams.fraud.screening import screen
from streams.gifts.settlement import settle
from streams.ledger.store import PostgresLedger
from streams.settings import FraudSettings, Settings
from streams.topics import TOPICS
from tests.integration.conftest import Worker, auth, eventually, fund
from tests.integration.test_api_money import topped_up, webhook
from tests.integration.test_settlement_agent import request

T = TypeVar("T")


def screened(sender: str, creator: str, decision: str = "allow", price: int = 10) -> GiftScreened:
    return GiftScreened(
        gift_id=uuid.uuid4(),
        sender_id=sender,
        creator_id=creator,
        room_id=live_room(creator),
        gift_sku="rose" if price == 10 else "rocket",
        quantity=1,
        unit_price_coins=price,
        total_coins=price,
        decision=decision,  # type: ignore[arg-type]
        rules=() if decision == "allow" else ("coins_per_hour",),
        producer="fraud",
    )


def with_pool(settings: Settings, body: Callable[[AsyncConnectionPool], Awaitable[T]]) -> T:
    async def run() -> T:
        pool = AsyncConnectionPool(settings.postgres.dsn(), min_size=1, max_size=4, open=False)
        await pool.open(wait=True)
        try:
            return await body(pool)
        finally:
            await pool.close()

    return asyncio.run(run())


def test_a_redelivered_settlement_is_the_same_outcome_event(settings: Settings, unique: str) -> None:
    sender, creator = f"v-{unique}", f"c-{unique}"
    fund(settings.postgres.dsn(), sender, 100)
    gift = screened(sender, creator)

    async def twice(pool: AsyncConnectionPool) -> tuple[list[Event], list[Event]]:
        ledger = PostgresLedger(pool)
        first = (await settle([gift], ledger)).events
        await asyncio.sleep(0.05)
        return list(first), list((await settle([gift], ledger)).events)

    first, again = with_pool(settings, twice)
    assert first[0].event_type == "gift.settled"
    # Same event id and the same occurred_at: the warehouse's ReplacingMergeTree keeps one row.
    assert again[0].model_dump() == first[0].model_dump()


def test_a_gift_screened_again_differently_keeps_its_settled_outcome(settings: Settings, unique: str) -> None:
    """Redelivered after it settled, a gift screened again would now be blocked (the sender's
    counters moved on): the viewer must not be told "rejected" for coins the ledger took."""
    sender, creator = f"v-{unique}", f"c-{unique}"
    fund(settings.postgres.dsn(), sender, 100)
    gift = screened(sender, creator)

    async def run(pool: AsyncConnectionPool) -> tuple[list[Event], list[Event]]:
        ledger = PostgresLedger(pool)
        first = (await settle([gift], ledger)).events
        blocked_now = gift.model_copy(update={"decision": "block", "rules": ("gifts_per_minute",)})
        return list(first), list((await settle([blocked_now], ledger)).events)

    first, again = with_pool(settings, run)
    assert [e.event_type for e in again] == ["gift.settled"]
    assert again[0].model_dump() == first[0].model_dump()


def test_a_redelivered_request_gets_its_first_screening_back(settings: Settings, unique: str) -> None:
    sender, creator = f"v-{unique}", f"c-{unique}"
    strict = gift_rules(FraudSettings(gifts_per_minute=1))
    requests = [request(sender, creator, "rose", 10) for _ in range(3)]

    async def run(pool: AsyncConnectionPool) -> tuple[list[GiftScreened], list[GiftScreened], int]:
        async with Redis.from_url(settings.redis.url) as redis:
            counters, decisions = RedisCounters(redis), PostgresScreenings(pool)
            first, _ = await screen(requests[:1], counters, strict, decisions=decisions)
            await screen(requests[1:], counters, strict, decisions=decisions)  # the sender goes over
            again, alerts = await screen(requests[:1], counters, strict, decisions=decisions)
            return first, again, len(alerts)

    first, again, alerts = with_pool(settings, run)
    assert first[0].decision == "allow"
    assert again[0].model_dump() == first[0].model_dump()  # not blocked now, and the same event
    assert alerts == 0  # a replay raises no alert again


class BannedEverywhere:
    """Room standing that refuses every sender (the sender is banned in the room)."""

    async def gift_problems(self, gifts: Sequence[tuple[str, str, str]]) -> list[GiftRoomProblem | None]:
        return [GiftRoomProblem.SENDER_BANNED for _ in gifts]


def test_a_room_refusal_travels_typed_and_is_replayed_typed(settings: Settings, unique: str) -> None:
    """A gift from a sender banned in the room is blocked with the room's reason as a typed
    field (no rule fired), kept in the screening record, replayed as the same event, and
    rejected by settlement as sender_banned, not as a fraud block."""
    sender, creator = f"v-{unique}", f"c-{unique}"
    gift = request(sender, creator, "rose", 10)

    async def run(pool: AsyncConnectionPool) -> tuple[GiftScreened, GiftScreened, Any]:
        async with Redis.from_url(settings.redis.url) as redis:
            counters, decisions = RedisCounters(redis), PostgresScreenings(pool)
            rules = gift_rules(FraudSettings())
            (first,), _ = await screen([gift], counters, rules, rooms=BannedEverywhere(), decisions=decisions)
            (again,), _ = await screen([gift], counters, rules, decisions=decisions)  # standing not asked
            return first, again, await settle([again], PostgresLedger(pool))

    first, again, settled = with_pool(settings, run)
    assert (first.decision, first.rules, first.room_problem) == ("block", (), GiftRoomProblem.SENDER_BANNED)
    assert again.model_dump() == first.model_dump()
    (outcome,) = settled.events
    assert isinstance(outcome, GiftRejected)
    assert outcome.reason == GiftRejectReason.SENDER_BANNED


def test_a_gift_id_reused_for_another_request_gets_no_outcome(settings: Settings, unique: str) -> None:
    sender, creator = f"v-{unique}", f"c-{unique}"
    fund(settings.postgres.dsn(), sender, 1000)
    gift = screened(sender, creator)
    other = gift.model_copy(update={"gift_sku": "rocket", "unit_price_coins": 500, "total_coins": 500})

    async def run(pool: AsyncConnectionPool) -> Any:
        ledger = PostgresLedger(pool)
        await settle([gift], ledger)
        return await settle([other], ledger)

    reused = with_pool(settings, run)
    assert reused.events == []
    assert [r.gift_id for r, _ in reused.conflicts] == [gift.gift_id]
    assert "different request" in reused.conflicts[0][1]


class FailingOnce:
    """The API's real producer, with the first send of one event type timing out."""

    def __init__(self, real: EventProducer, event_type: str) -> None:
        self.real, self.event_type, self.failed = real, event_type, False

    async def send(self, event: Event) -> Any:
        if event.event_type == self.event_type and not self.failed:
            self.failed = True
            raise DeliveryFailed("wallet.topups: Local: Message timed out")
        return await self.real.send(event)


async def test_a_webhook_whose_publish_failed_is_published_on_the_retry(
    api: httpx.AsyncClient, settings: Settings, unique: str
) -> None:
    state = api._transport.app.state.platform  # type: ignore[attr-defined]
    user = f"v-{unique}"
    created = await api.post(
        "/v1/wallet/topups",
        json={"amount_cents": 500, "payment_instrument_id": "card"},
        headers={**auth(settings, user), "Idempotency-Key": "k"},
    )
    topup_id = created.json()["topup_id"]
    raw, headers = webhook(
        settings,
        {"id": f"evt-{unique}", "type": "payment.captured", "topup_id": topup_id, "provider_ref": "p"},
    )
    real = state.producer
    state.producer = FailingOnce(real, "wallet.topup.captured")
    try:
        timed_out = await api.post("/v1/payments/webhook", content=raw, headers=headers)
        assert (timed_out.status_code, timed_out.headers["retry-after"]) == (503, "2")
        assert timed_out.headers["content-type"] == "application/problem+json"
        retried = await api.post("/v1/payments/webhook", content=raw, headers=headers)  # the provider retries
    finally:
        state.producer = real
    assert retried.json() == {"received": True, "duplicate": False}
    captured = find_record(
        settings.kafka.bootstrap_servers,
        TOPICS.for_event(TopUpCaptured).name,
        lambda m: (
            json.loads(m.value()).get("topup_id") == topup_id
            and json.loads(m.value())["event_type"] == "wallet.topup.captured"
        ),
        timeout_s=30,
    )
    assert captured is not None
    balance = (await api.get("/v1/wallet/balance", headers=auth(settings, user))).json()
    assert balance["available"] == 500
    # The same provider event id sent again as a refund is refused, not applied.
    refund, refund_headers = webhook(
        settings,
        {"id": f"evt-{unique}", "type": "charge.refunded", "topup_id": topup_id, "provider_ref": "p"},
    )
    reused = await api.post("/v1/payments/webhook", content=refund, headers=refund_headers)
    assert reused.status_code == 422
    assert "was received before as payment.captured" in reused.json()["detail"]
    assert (await api.get("/v1/wallet/balance", headers=auth(settings, user))).json()["available"] == 500


async def test_an_approval_whose_settlement_failed_is_finished_by_the_retry(
    api: httpx.AsyncClient, settings: Settings, unique: str
) -> None:
    state = api._transport.app.state.platform  # type: ignore[attr-defined]
    sender = f"held-{unique}"
    await topped_up(api, settings, sender, 600)
    held = screened(sender, f"c-{unique}", decision="review", price=500)
    await state.holds.hold(held)
    await state.holds.decide(held.gift_id, "approved", "tns-1")  # the API died right after this
    retried = await api.post(
        f"/v1/fraud/held-gifts/{held.gift_id}/approve", headers=auth(settings, "tns-1", Role.ANALYST)
    )
    assert (retried.status_code, retried.json()["outcome"]) == (200, "gift.settled")
    assert (await api.get("/v1/wallet/balance", headers=auth(settings, sender))).json()["available"] == 100


async def test_an_abandoned_idempotency_claim_is_taken_over(
    api: httpx.AsyncClient, settings: Settings, unique: str
) -> None:
    state = api._transport.app.state.platform  # type: ignore[attr-defined]
    user = f"v-{unique}"
    body = {"amount_cents": 300, "payment_instrument_id": "card"}
    from serving.api.idempotency import request_hash

    async with state.pool.connection() as conn:  # a claim whose process died a minute ago
        await conn.execute(
            "INSERT INTO api_idempotency (principal, key, endpoint, request_hash, created_at) "
            "VALUES (%s, 'k', 'POST /v1/wallet/topups', %s, now() - interval '1 minute')",
            (user, request_hash("POST /v1/wallet/topups", json.dumps(body).encode())),
        )
    headers = {**auth(settings, user), "Idempotency-Key": "k"}
    retried = await api.post("/v1/wallet/topups", json=body, headers=headers)
    assert retried.status_code == 201, retried.text
    other = await api.post("/v1/wallet/topups", json={**body, "amount_cents": 900}, headers=headers)
    assert other.status_code == 422  # a different body never takes a key over


@pytest.fixture
def worker(tmp_path: Any, settings: Settings) -> Iterator[Worker]:
    w = Worker(f"test-{uuid.uuid4().hex[:8]}", tmp_path / "worker.log", settings.kafka.bootstrap_servers)
    yield w
    w.stop()


def test_a_batch_that_fails_on_a_database_outage_is_retried_not_lost(
    settings: Settings, producer: EventProducer, worker: Worker, unique: str
) -> None:
    """The settlement's connection is cut while it waits on a lock: the batch raises. Faust
    acknowledged such a batch anyway (in a ``finally``), so the gift never settled."""
    sender, creator = f"v-{unique}", f"c-{unique}"
    fund(settings.postgres.dsn(), sender, 100)
    open_rooms(settings, {live_room(creator): creator})
    gift = request(sender, creator, "rose", 10)
    with psycopg.connect(settings.postgres.dsn()) as blocker:
        blocker.execute("SELECT 1 FROM ledger_accounts WHERE id = %s FOR UPDATE", (f"user_coins:{sender}",))
        producer.send_sync(gift)
        with psycopg.connect(settings.postgres.dsn(), autocommit=True) as admin:

            def waiting() -> list[Any]:
                return admin.execute(
                    "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
                    ("%FOR UPDATE%",),
                ).fetchall()

            pids = eventually(waiting, 60, "the settlement waiting on the wallet lock")
            for (pid,) in pids:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        time.sleep(0.5)
        blocker.rollback()
    outcome = find_record(
        settings.kafka.bootstrap_servers,
        TOPICS.for_event(GiftSettled).name,
        lambda m: json.loads(m.value()).get("gift_id") == str(gift.gift_id),
        timeout_s=60,
    )
    assert outcome is not None, worker.log()
    assert json.loads(outcome.value())["event_type"] == "gift.settled"
    assert "agent_waiting" in worker.log()


def test_the_worker_voids_expired_top_ups(settings: Settings, tmp_path: Any, unique: str) -> None:
    """The sweeper existed but nothing ran it: expired pending top-ups reserved coins forever."""
    from datetime import UTC, datetime, timedelta

    user, topup_id = f"v-{unique}", uuid.uuid4()

    async def pending(pool: AsyncConnectionPool) -> None:
        await PostgresLedger(pool).topup_pending(
            topup_id, user, 250, datetime.now(UTC) - timedelta(seconds=1)
        )

    async def reserved(pool: AsyncConnectionPool) -> int:
        return (await PostgresLedger(pool).balance(f"user_coins:{user}")).credits_pending

    with_pool(settings, pending)
    assert with_pool(settings, reserved) == 250
    sweeper = Worker(
        f"test-{uuid.uuid4().hex[:8]}",
        tmp_path / "sweeper.log",
        settings.kafka.bootstrap_servers,
        env={"PAYMENTS_EXPIRY_SWEEP_S": "0.5"},
    )
    try:
        eventually(lambda: with_pool(settings, reserved) == 0, 60, "the expired top-up voided")
        failed = find_record(
            settings.kafka.bootstrap_servers,
            TOPICS.for_event(TopUpCaptured).name,
            lambda m: json.loads(m.value()).get("topup_id") == str(topup_id),
            timeout_s=30,
        )
        assert failed is not None
        assert json.loads(failed.value())["event_type"] == "wallet.topup.failed"
    finally:
        sweeper.stop()
