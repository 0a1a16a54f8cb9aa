"""The money API over HTTP against the real PostgreSQL ledger and Kafka: authentication,
Idempotency-Key semantics, the signed payment webhook, gifts, and who may read what."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest

from ops.seed import live_room, open_rooms_async
from serving.api.webhooks import sign
from serving.auth.tokens import issue
from streams.contracts.base import Role
from streams.settings import Settings
from tests.integration.conftest import auth


def webhook(
    settings: Settings, body: dict[str, Any], timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    secret = settings.payments.webhook_secret.get_secret_value()
    return raw, {"Payments-Signature": sign(secret, raw, timestamp), "Content-Type": "application/json"}


async def topped_up(api: httpx.AsyncClient, settings: Settings, user: str, cents: int) -> str:
    r = await api.post(
        "/v1/wallet/topups",
        json={"amount_cents": cents, "payment_instrument_id": "card-1"},
        headers={**auth(settings, user), "Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    topup_id = r.json()["topup_id"]
    raw, headers = webhook(
        settings,
        {
            "id": f"evt-{uuid.uuid4().hex}",
            "type": "payment.captured",
            "topup_id": topup_id,
            "provider_ref": "ch-1",
        },
    )
    assert (await api.post("/v1/payments/webhook", content=raw, headers=headers)).status_code == 200
    return str(topup_id)


async def test_requests_without_a_valid_token_are_refused(api: httpx.AsyncClient, settings: Settings) -> None:
    r = await api.get("/v1/wallet/balance")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert "bearer token" in r.json()["detail"]
    forged = issue("not-the-secret-" + "x" * 32, "u1", [Role.ADMIN])
    r = await api.get("/v1/wallet/balance", headers={"Authorization": f"Bearer {forged}"})
    assert (r.status_code, r.json()["detail"]) == (401, "token signature is not valid")
    expired = issue(
        settings.auth.token_secret.get_secret_value(), "u1", [Role.VIEWER], ttl_s=1, now=time.time() - 10
    )
    r = await api.get("/v1/wallet/balance", headers={"Authorization": f"Bearer {expired}"})
    assert r.json()["detail"] == "token has expired"


async def test_topup_idempotency_key_semantics(
    api: httpx.AsyncClient, settings: Settings, unique: str
) -> None:
    user = f"viewer-{unique}"
    headers = {**auth(settings, user), "Idempotency-Key": f"k-{unique}"}
    body = {"amount_cents": 499, "payment_instrument_id": "card-1"}
    first = await api.post("/v1/wallet/topups", json=body, headers=headers)
    assert first.status_code == 201
    assert first.json()["coins"] == 499
    again = await api.post("/v1/wallet/topups", json=body, headers=headers)
    assert (again.status_code, again.json(), again.headers.get("Idempotent-Replayed")) == (
        201,
        first.json(),
        "true",
    )
    other = await api.post("/v1/wallet/topups", json={**body, "amount_cents": 999}, headers=headers)
    assert other.status_code == 422
    assert "different request" in other.json()["detail"]
    missing = await api.post("/v1/wallet/topups", json=body, headers=auth(settings, user))
    assert (missing.status_code, "Idempotency-Key" in missing.json()["detail"]) == (422, True)
    balance = (await api.get("/v1/wallet/balance", headers=auth(settings, user))).json()
    assert (balance["available"], balance["pending_in"]) == (0, 499)  # pending coins are not spendable


async def test_a_concurrent_duplicate_gets_409(
    api: httpx.AsyncClient, settings: Settings, unique: str
) -> None:
    state = api._transport.app.state.platform  # type: ignore[attr-defined]
    user = f"viewer-{unique}"
    async with state.pool.connection() as conn:  # the first request is still running
        await conn.execute(
            "INSERT INTO api_idempotency (principal, key, endpoint, request_hash) VALUES (%s, %s, %s, %s)",
            (user, "busy", "POST /v1/wallet/topups", "x"),
        )
    r = await api.post(
        "/v1/wallet/topups",
        json={"amount_cents": 100, "payment_instrument_id": "c"},
        headers={**auth(settings, user), "Idempotency-Key": "busy"},
    )
    assert r.status_code in (409, 422)


@pytest.mark.parametrize(
    ("amount", "says"),
    [(0, "greater than 0"), (-5, "greater than 0"), (4.99, "valid integer"), ("100", "valid integer")],
)
async def test_bad_amounts_are_refused_and_nothing_is_posted(
    api: httpx.AsyncClient, settings: Settings, unique: str, amount: object, says: str
) -> None:
    user = f"viewer-{unique}"
    r = await api.post(
        "/v1/wallet/topups",
        json={"amount_cents": amount, "payment_instrument_id": "c"},
        headers={**auth(settings, user), "Idempotency-Key": "a"},
    )
    assert r.status_code == 422
    assert "amount_cents" in r.json()["detail"]
    assert says in r.json()["detail"]
    balance = (await api.get("/v1/wallet/balance", headers=auth(settings, user))).json()
    assert balance["pending_in"] == 0


async def test_webhook_signature_staleness_replays_and_capture(
    api: httpx.AsyncClient, settings: Settings, unique: str
) -> None:
    user = f"viewer-{unique}"
    r = await api.post(
        "/v1/wallet/topups",
        json={"amount_cents": 1000, "payment_instrument_id": "card"},
        headers={**auth(settings, user), "Idempotency-Key": "t1"},
    )
    topup_id = r.json()["topup_id"]
    event = {"id": f"evt-{unique}", "type": "payment.captured", "topup_id": topup_id, "provider_ref": "ch-9"}
    raw, headers = webhook(settings, event)
    bad = await api.post(
        "/v1/payments/webhook", content=raw, headers={**headers, "Payments-Signature": "t=1,v1=00"}
    )
    assert bad.status_code == 400  # stale before it is even checked
    forged = await api.post(
        "/v1/payments/webhook",
        content=raw,
        headers={**headers, "Payments-Signature": f"t={int(time.time())},v1=00"},
    )
    assert (forged.status_code, forged.json()["detail"]) == (401, "webhook signature does not match")
    stale_raw, stale_headers = webhook(settings, event, timestamp=int(time.time()) - 3600)
    stale = await api.post("/v1/payments/webhook", content=stale_raw, headers=stale_headers)
    assert stale.status_code == 400
    assert "replay" in stale.json()["detail"]
    ok = await api.post("/v1/payments/webhook", content=raw, headers=headers)
    assert ok.json() == {"received": True, "duplicate": False}
    replay = await api.post("/v1/payments/webhook", content=raw, headers=headers)
    assert replay.json() == {"received": True, "duplicate": True}
    balance = (await api.get("/v1/wallet/balance", headers=auth(settings, user))).json()
    assert (balance["available"], balance["pending_in"]) == (1000, 0)
    unknown_raw, unknown_headers = webhook(settings, {**event, "id": "evt-x", "topup_id": str(uuid.uuid4())})
    assert (
        await api.post("/v1/payments/webhook", content=unknown_raw, headers=unknown_headers)
    ).status_code == 404


async def test_gifts_are_priced_from_the_catalog_and_idempotent(
    api: httpx.AsyncClient, settings: Settings, unique: str
) -> None:
    user, creator = f"viewer-{unique}", f"c-{unique}"
    room = live_room(creator)
    await open_rooms_async(settings, {room: creator})
    headers = {**auth(settings, user), "Idempotency-Key": "gift-1"}
    unknown = await api.post(
        "/v1/gifts", json={"creator_id": creator, "room_id": room, "gift_sku": "unicorn"}, headers=headers
    )
    assert unknown.status_code == 422
    assert "unknown gift 'unicorn'" in unknown.json()["detail"]
    own = await api.post(
        "/v1/gifts", json={"creator_id": user, "room_id": room, "gift_sku": "rose"}, headers=headers
    )
    assert (own.status_code, own.json()["detail"]) == (422, "you cannot send a gift to yourself")
    elsewhere = await api.post(
        "/v1/gifts", json={"creator_id": "someone-else", "room_id": room, "gift_sku": "rose"}, headers=headers
    )
    assert elsewhere.status_code == 422
    assert elsewhere.json()["detail"] == f"someone-else is not live in room {room}: unknown recipient"
    first = await api.post(
        "/v1/gifts",
        json={"creator_id": creator, "room_id": room, "gift_sku": "rose", "quantity": 3},
        headers=headers,
    )
    assert (first.status_code, first.json()["total_coins"]) == (202, 30)
    again = await api.post(
        "/v1/gifts",
        json={"creator_id": creator, "room_id": room, "gift_sku": "rose", "quantity": 3},
        headers=headers,
    )
    assert again.json()["gift_id"] == first.json()["gift_id"]
    # A moderator bans the viewer in that room: their next gift there is refused at once.
    moderator = auth(settings, creator, Role.CREATOR)
    assert (
        await api.post(f"/v1/rooms/{room}/bans", json={"user_id": user}, headers=moderator)
    ).status_code == 200
    banned = await api.post(
        "/v1/gifts",
        json={"creator_id": creator, "room_id": room, "gift_sku": "rose"},
        headers={**auth(settings, user), "Idempotency-Key": "gift-2"},
    )
    assert (banned.status_code, banned.json()["detail"]) == (
        403,
        f"you are banned or timed out in room {room}",
    )


async def test_who_may_read_whose_money(api: httpx.AsyncClient, settings: Settings, unique: str) -> None:
    alice, bob = f"alice-{unique}", f"bob-{unique}"
    await topped_up(api, settings, alice, 300)
    assert (
        await api.get(f"/v1/wallet/balance?user_id={alice}", headers=auth(settings, bob))
    ).status_code == 403
    seen = await api.get(f"/v1/wallet/balance?user_id={alice}", headers=auth(settings, "fin-1", Role.FINANCE))
    assert seen.json()["available"] == 300
    assert (
        await api.get(f"/v1/creators/{alice}/earnings", headers=auth(settings, bob, Role.CREATOR))
    ).status_code == 403
    own = await api.get(f"/v1/creators/{bob}/earnings", headers=auth(settings, bob, Role.CREATOR))
    assert own.json()["balance"] == 0
    for _ in range(2):
        await topped_up(api, settings, alice, 100)
    page = (await api.get("/v1/wallet/statement?limit=2", headers=auth(settings, alice))).json()
    assert len(page["items"]) == 2
    assert page["next_cursor"] is not None
    rest = (
        await api.get(
            f"/v1/wallet/statement?limit=10&cursor={page['next_cursor']}", headers=auth(settings, alice)
        )
    ).json()
    assert [i["amount"] for i in page["items"] + rest["items"]] == [300, 300, 100, 100, 100, 100]
    assert rest["next_cursor"] is None


async def test_a_chargeback_after_spending_records_debt(
    api: httpx.AsyncClient, settings: Settings, unique: str
) -> None:
    user = f"spender-{unique}"
    topup_id = await topped_up(api, settings, user, 200)
    state = api._transport.app.state.platform  # type: ignore[attr-defined]
    from streams.ledger.model import GiftRequest

    await state.ledger.settle_gifts([GiftRequest(uuid.uuid4(), user, "c1", "r1", "rose", 15, 150)])
    raw, headers = webhook(
        settings,
        {
            "id": f"evt-cb-{unique}",
            "type": "charge.dispute.lost",
            "topup_id": topup_id,
            "provider_ref": "dp-1",
        },
    )
    assert (await api.post("/v1/payments/webhook", content=raw, headers=headers)).status_code == 200
    balance = (await api.get("/v1/wallet/balance", headers=auth(settings, user))).json()
    assert (balance["available"], balance["debt"]) == (0, 150)


async def test_top_up_velocity_and_chargeback_history_are_refused(
    api: httpx.AsyncClient, settings: Settings, unique: str
) -> None:
    from streams.bus.scan import find_record
    from streams.contracts.fraud import FraudAlert
    from streams.topics import TOPICS

    user = f"fast-{unique}"
    for i in range(5):
        r = await api.post(
            "/v1/wallet/topups",
            json={"amount_cents": 100, "payment_instrument_id": f"card-{unique}"},
            headers={**auth(settings, user), "Idempotency-Key": f"v{i}"},
        )
        assert r.status_code == 201
    sixth = await api.post(
        "/v1/wallet/topups",
        json={"amount_cents": 100, "payment_instrument_id": f"card-{unique}"},
        headers={**auth(settings, user), "Idempotency-Key": "v5"},
    )
    assert (sixth.status_code, sixth.json()["detail"]) == (
        403,
        "top-up refused by fraud rules: topups_per_user_hour",
    )
    alert = find_record(
        settings.kafka.bootstrap_servers,
        TOPICS.for_event(FraudAlert).name,
        lambda m: (
            json.loads(m.value())["user_id"] == user
            and json.loads(m.value())["rule"] == "topups_per_user_hour"
        ),
    )
    assert alert is not None
    assert json.loads(alert.value())["outcome"] == "block"

    cheat = f"cheat-{unique}"
    for i in range(2):
        topup_id = await topped_up(api, settings, cheat, 100)
        raw, headers = webhook(
            settings,
            {
                "id": f"evt-cb{i}-{unique}",
                "type": "charge.dispute.lost",
                "topup_id": topup_id,
                "provider_ref": "dp",
            },
        )
        assert (await api.post("/v1/payments/webhook", content=raw, headers=headers)).status_code == 200
    refused = await api.post(
        "/v1/wallet/topups",
        json={"amount_cents": 100, "payment_instrument_id": "card-x"},
        headers={**auth(settings, cheat), "Idempotency-Key": "after"},
    )
    assert refused.status_code == 403
    assert "chargeback_history" in refused.json()["detail"]


async def test_analysts_approve_or_deny_held_gifts(
    api: httpx.AsyncClient, settings: Settings, unique: str
) -> None:
    from streams.contracts.gifts import GiftScreened

    state = api._transport.app.state.platform  # type: ignore[attr-defined]
    sender = f"held-{unique}"
    await topped_up(api, settings, sender, 6000)

    def held(sku: str, price: int) -> GiftScreened:
        return GiftScreened(
            gift_id=uuid.uuid4(),
            sender_id=sender,
            creator_id="c1",
            room_id="r1",
            gift_sku=sku,
            quantity=1,
            unit_price_coins=price,
            total_coins=price,
            decision="review",
            rules=("high_value_new_account",),
            producer="fraud",
        )

    castle, rocket = held("castle", 5000), held("rocket", 500)
    await state.holds.hold(castle)
    await state.holds.hold(castle)  # redelivered: still one hold
    await state.holds.hold(rocket)
    assert (await api.get("/v1/fraud/held-gifts", headers=auth(settings, sender))).status_code == 403
    listed = (
        await api.get(
            f"/v1/fraud/held-gifts?sender_id={sender}", headers=auth(settings, "tns-1", Role.ANALYST)
        )
    ).json()
    mine = [i for i in listed["items"] if i["sender_id"] == sender]
    assert sorted(i["gift_sku"] for i in mine) == ["castle", "rocket"]
    analyst = auth(settings, "tns-1", Role.ANALYST)
    approved = await api.post(f"/v1/fraud/held-gifts/{castle.gift_id}/approve", headers=analyst)
    assert approved.json() == {
        "gift_id": str(castle.gift_id),
        "decision": "approved",
        "outcome": "gift.settled",
    }
    again = await api.post(f"/v1/fraud/held-gifts/{castle.gift_id}/approve", headers=analyst)
    assert (again.status_code, again.json()) == (200, approved.json())  # the same analyst's retry
    other = await api.post(
        f"/v1/fraud/held-gifts/{castle.gift_id}/deny", headers=auth(settings, "tns-2", Role.ANALYST)
    )
    assert (other.status_code, other.json()["detail"]) == (
        409,
        f"gift {castle.gift_id} was already approved by tns-1",
    )
    denied = await api.post(f"/v1/fraud/held-gifts/{rocket.gift_id}/deny", headers=analyst)
    assert denied.json()["outcome"] == "gift.rejected"
    balance = (await api.get("/v1/wallet/balance", headers=auth(settings, sender))).json()
    assert balance["available"] == 1000  # the castle was settled once, the rocket was not
