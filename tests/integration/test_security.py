"""The holes found by probing the API as outside users would, closed: ids that spell another
tenant's store keys, dev sign-in and weak secrets, a webhook id re-used as another type while the
first is in flight, and inputs that used to answer 500. Real PostgreSQL, Redis and Kafka."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from streams.bus.wire import DeliveryFailed
from streams.contracts.base import Role
from streams.settings import Settings
from tests.integration.conftest import auth
from tests.integration.test_api_money import webhook


async def test_a_room_id_cannot_spell_another_rooms_keys(
    api: httpx.AsyncClient, api_app: Any, settings: Settings, unique: str
) -> None:
    room, viewer = f"a-{unique}", f"viewer-{unique}"
    alice, mallory = (
        auth(settings, f"alice-{unique}", Role.CREATOR),
        auth(settings, f"mallory-{unique}", Role.CREATOR),
    )
    assert (await api.post("/v1/rooms", json={"room_id": room}, headers=alice)).status_code == 201
    for attack in (f"{room}:ban:{viewer}", f"{room}:mods"):
        opened = await api.post("/v1/rooms", json={"room_id": attack}, headers=mallory)
        assert opened.status_code == 422, opened.text
        assert opened.headers["content-type"] == "application/problem+json"
        assert "room_id" in opened.json()["detail"]
    # Even a room whose id came in some other way (an old row, another service) keeps to its keys.
    rooms = api_app.state.platform.rooms
    await rooms.create(f"{room}:ban:{viewer}", f"mallory-{unique}")
    assert not await rooms.is_banned(room, viewer)
    assert (await api.get(f"/v1/rooms/{room}", headers=alice)).status_code == 200
    ban = await api.post(f"/v1/rooms/{room}/bans", json={"user_id": f"x:{viewer}"}, headers=alice)
    assert ban.status_code == 422
    for path in (f"/v1/rooms/{room}/bans/u%00", f"/v1/rooms/{room}/moderators/u%3Amods"):
        assert (await api.delete(path, headers=alice)).status_code == 422


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/rooms/a%00b"),
        ("POST", "/v1/rooms/a%00b/close"),
        ("GET", "/v1/creators/c%00/earnings"),
        ("GET", "/v1/wallet/statement?user_id=u%00"),
        ("GET", "/v1/wallet/balance?user_id=u%3Acoins"),
        ("GET", "/v1/streams/st%00/playback"),
        ("DELETE", "/v1/streams/st%00/key"),
        ("GET", "/v1/fraud/held-gifts?sender_id=%00"),
    ],
)
async def test_a_bad_id_in_a_path_or_query_is_a_422_naming_it(
    api: httpx.AsyncClient, settings: Settings, method: str, path: str
) -> None:
    r = await api.request(method, path, headers=auth(settings, "u1", Role.ADMIN))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"


async def test_dev_sign_in_checks_what_it_is_given(api: httpx.AsyncClient) -> None:
    empty = await api.post("/v1/auth/dev-token")
    assert empty.status_code == 422
    assert "user_id" in empty.json()["detail"]
    colon = await api.post("/v1/auth/dev-token", json={"user_id": "room:1:ban:u"})
    assert colon.status_code == 422
    bad_role = await api.post("/v1/auth/dev-token", json={"user_id": "u1", "roles": ["root"]})
    assert bad_role.status_code == 422
    ok = await api.post("/v1/auth/dev-token", json={"user_id": "u1", "roles": ["viewer"]})
    assert ok.status_code == 200


async def test_a_webhook_id_in_flight_cannot_be_reused_as_a_refund(
    api: httpx.AsyncClient, api_app: Any, settings: Settings, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = f"viewer-{unique}"
    created = await api.post(
        "/v1/wallet/topups",
        json={"amount_cents": 1000, "payment_instrument_id": "card"},
        headers={**auth(settings, user), "Idempotency-Key": "t1"},
    )
    topup_id = created.json()["topup_id"]
    capture = {
        "id": f"evt-{unique}",
        "type": "payment.captured",
        "topup_id": topup_id,
        "provider_ref": "ch-1",
    }
    producer = api_app.state.platform.producer
    send = producer.send

    async def broker_times_out(event: Any) -> Any:
        raise DeliveryFailed("message timed out")

    # The capture is applied to the ledger, then its publish times out: the provider will retry.
    monkeypatch.setattr(producer, "send", broker_times_out)
    raw, headers = webhook(settings, capture)
    timed_out = await api.post("/v1/payments/webhook", content=raw, headers=headers)
    assert timed_out.status_code == 503, timed_out.text
    monkeypatch.setattr(producer, "send", send)
    # Meanwhile the same event id arrives as a refund: refused, never applied.
    refund = {**capture, "type": "charge.refunded"}
    raw, headers = webhook(settings, refund)
    reused = await api.post("/v1/payments/webhook", content=raw, headers=headers)
    assert reused.status_code == 422, reused.text
    assert reused.json()["reason"] == "webhook_id_reused"
    balance = (await api.get("/v1/wallet/balance", headers=auth(settings, user))).json()
    assert balance["available"] == 1000
    # The provider's retry of the capture completes it; only then is it a duplicate.
    raw, headers = webhook(settings, capture)
    assert (await api.post("/v1/payments/webhook", content=raw, headers=headers)).json() == {
        "received": True,
        "duplicate": False,
    }
    assert (await api.post("/v1/payments/webhook", content=raw, headers=headers)).json()["duplicate"] is True
    assert (await api.get("/v1/wallet/balance", headers=auth(settings, user))).json()["available"] == 1000


async def test_a_beacon_number_beyond_64_bits_is_a_422(api: httpx.AsyncClient, settings: Settings) -> None:
    beacon = {"sid": "s1", "cid": "st_1", "sn": 2**70, "ts": 1, "e": "heartbeat"}
    r = await api.post(
        "/v1/qos",
        content=json.dumps({"beacons": [beacon]}),
        headers={**auth(settings, "u1"), "Content-Type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert "sn" in r.json()["detail"]


async def test_the_viewer_page_talks_only_to_the_gateway_and_the_origin(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    page = await api.get("/watch/st_1")
    assert page.status_code == 200
    policy = dict(part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";"))
    origin = settings.media.public_origin_url.rstrip("/")
    assert policy["connect-src"].split() == ["'self'", origin]
    assert policy["frame-ancestors"] == "'none'"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"


async def test_guessing_credentials_is_slowed_to_a_few_tries_a_minute(
    api_app: Any, settings: Settings, unique: str
) -> None:
    # Each test client gets its own address, so this one's failures touch no other test.
    address = f"198.51.100.{int(unique[:6], 16) % 250 + 1}"
    transport = httpx.ASGITransport(app=api_app, client=(address, 40000))
    limit = settings.auth.failed_auth_per_minute
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        answers = [
            (
                await client.get("/v1/wallet/balance", headers={"Authorization": f"Bearer guess{i}.x"})
            ).status_code
            for i in range(limit + 3)
        ]
        assert answers[:limit] == [401] * limit
        assert answers[limit:] == [429] * 3
        limited = await client.get("/v1/wallet/balance", headers={"Authorization": "Bearer guess.x"})
        assert limited.headers["content-type"] == "application/problem+json"
        assert 0 < int(limited.headers["retry-after"]) <= 60
        # A valid token still works from there: only failures are limited.
        assert (
            await client.get("/v1/wallet/balance", headers=auth(settings, f"u-{unique}"))
        ).status_code == 200
