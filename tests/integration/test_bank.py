"""A Jepsen "bank"-style run through the real API, Kafka, Faust settlement worker and
PostgreSQL: many concurrent gifts, client retries with the same Idempotency-Key, duplicated
deliveries on Kafka, and the settlement worker killed with SIGKILL and restarted mid-run.
At the end every accepted gift is settled exactly once or rejected with a reason, every asset
is conserved, no wallet is negative, and account totals equal what the transfers say."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg

from ops.seed import live_room, open_rooms_async
from serving.api.webhooks import sign
from serving.auth.tokens import issue
from streams.bus.producer import EventProducer
from streams.bus.wire import KafkaWire
from streams.contracts.base import Role
from streams.contracts.gifts import GiftRequested
from streams.gifts.catalog import DEFAULT_CATALOG
from streams.ids import derived_id
from streams.settings import Settings
from tests.integration.conftest import Worker, free_port, spawn, stop_process

USERS = 24
CREATORS = 4
GIFTS = 360
SKUS = ["rose", "heart", "star"]


def test_bank(
    settings: Settings, wire: KafkaWire, tmp_path: Path, unique: str, start_worker: Callable[[], Worker]
) -> None:
    port = free_port()
    api = spawn(["-m", "serving.api", "--port", str(port)], tmp_path / "api.log")
    worker = start_worker()
    try:
        accepted = asyncio.run(drive(settings, port, unique, wire, worker))
        check_books(settings, accepted, unique, tmp_path)
    finally:
        stop_process(api)


async def drive(
    settings: Settings, port: int, unique: str, wire: KafkaWire, worker: Worker
) -> dict[str, int]:
    base = f"http://127.0.0.1:{port}"
    secret = settings.auth.token_secret.get_secret_value()
    users = [f"bank-{unique}-u{i}" for i in range(USERS)]
    creators = [f"bank-{unique}-c{i}" for i in range(CREATORS)]
    rng = random.Random(7)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for _ in range(150):  # wait for the API
            try:
                if (await client.get("/readyz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        await open_rooms_async(settings, {live_room(c): c for c in creators})
        for user in users:  # top up and capture
            headers = {
                "Authorization": f"Bearer {issue(secret, user, [Role.VIEWER])}",
                "Idempotency-Key": "topup",
            }
            r = await client.post(
                "/v1/wallet/topups",
                json={"amount_cents": 1000, "payment_instrument_id": "card"},
                headers=headers,
            )
            body = json.dumps(
                {
                    "id": f"evt-{user}",
                    "type": "payment.captured",
                    "topup_id": r.json()["topup_id"],
                    "provider_ref": "ch",
                }
            ).encode()
            ok = await client.post(
                "/v1/payments/webhook",
                content=body,
                headers={
                    "Payments-Signature": sign(settings.payments.webhook_secret.get_secret_value(), body),
                    "Content-Type": "application/json",
                },
            )
            assert ok.status_code == 200, ok.text
        accepted: dict[str, int] = {}
        requests: dict[str, GiftRequested] = {}
        semaphore = asyncio.Semaphore(24)

        async def gift(i: int) -> None:
            user = rng.choice(users)
            sku, quantity = rng.choice(SKUS), rng.randint(1, 3)
            creator = rng.choice(creators)
            body = {
                "creator_id": creator,
                "room_id": live_room(creator),
                "gift_sku": sku,
                "quantity": quantity,
            }
            headers = {
                "Authorization": f"Bearer {issue(secret, user, [Role.VIEWER])}",
                "Idempotency-Key": f"g{i}",
            }
            async with semaphore:
                for _attempt in range(rng.randint(1, 3)):  # the client retries with the same key
                    r = await client.post("/v1/gifts", json=body, headers=headers)
                    assert r.status_code == 202, r.text
                    gift_id = r.json()["gift_id"]
                    accepted[gift_id] = r.json()["total_coins"]
            price = DEFAULT_CATALOG[sku]
            requests[gift_id] = GiftRequested(
                event_id=derived_id("gift-requested", uuid.UUID(gift_id)),
                gift_id=uuid.UUID(gift_id),
                sender_id=user,
                creator_id=creator,
                room_id=live_room(creator),
                gift_sku=sku,
                quantity=quantity,
                unit_price_coins=price,
                total_coins=price * quantity,
                producer="api",
            )

        tasks = [asyncio.create_task(gift(i)) for i in range(GIFTS)]
        await asyncio.sleep(2.0)
        worker.kill_and_restart()
        await asyncio.gather(*tasks)
        # Duplicated deliveries: a fifth of the requests reach Kafka a second time.
        producer = EventProducer(wire)
        for gift_id in list(requests)[: GIFTS // 5]:
            producer.send_sync(requests[gift_id])
        return accepted


def check_books(settings: Settings, accepted: dict[str, int], unique: str, tmp_path: Path) -> None:
    dsn = settings.postgres.dsn()
    deadline = time.monotonic() + 120
    outcomes: list[tuple[str, str, str | None]] = []
    with psycopg.connect(dsn) as conn:
        while time.monotonic() < deadline:
            outcomes = [
                (str(r[0]), r[1], r[2])
                for r in conn.execute(
                    "SELECT gift_id, outcome, reason FROM ledger_gift_outcomes WHERE gift_id = ANY(%s::uuid[])",
                    (list(accepted),),
                ).fetchall()
            ]
            if len(outcomes) >= len(accepted):
                break
            time.sleep(0.5)
        logs = "\n".join(p.read_text(errors="replace")[-3000:] for p in tmp_path.glob("*.log"))
        assert len(outcomes) == len(accepted), f"{len(outcomes)}/{len(accepted)} decided\n{logs}"
        assert len({o[0] for o in outcomes}) == len(accepted)  # one outcome per gift
        assert all(o[1] == "settled" or o[2] for o in outcomes)  # a rejection always says why
        settled = [o[0] for o in outcomes if o[1] == "settled"]
        assert settled
        legs = dict(
            conn.execute(
                "SELECT reference_id, count(*) FROM ledger_transfers WHERE reference_id = ANY(%s) GROUP BY reference_id",
                (settled,),
            ).fetchall()
        )
        assert all(legs.get(g) == 2 for g in settled), "each settled gift has exactly its two legs"
        paid = conn.execute(
            "SELECT coalesce(sum(amount), 0) FROM ledger_transfers WHERE reference_id = ANY(%s)", (settled,)
        ).fetchone()
        assert paid is not None
        assert int(paid[0]) == sum(accepted[g] for g in settled)
        sums = conn.execute(
            "SELECT asset, sum(credits_posted - debits_posted) FROM ledger_accounts GROUP BY asset"
        ).fetchall()
        assert all(int(total) == 0 for _, total in sums), sums
        negative = conn.execute(
            "SELECT count(*) FROM ledger_accounts WHERE NOT allow_negative "
            "AND credits_posted - debits_posted - debits_pending < 0"
        ).fetchone()
        assert negative == (0,)
        wallets = conn.execute(
            "SELECT sum(credits_posted - debits_posted) FROM ledger_accounts WHERE id LIKE %s",
            (f"user_coins:bank-{unique}-%",),
        ).fetchone()
        assert wallets is not None
        assert int(wallets[0]) == USERS * 1000 - int(paid[0])
