"""What the apps read and do, through the in-process API on the real PostgreSQL, Redis and
ClickHouse: sign-up, sign-in, the streams live now, the catalog, and statements served only to
their creator and finance."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipelines.warehouse.sink import WarehouseWriter
from serving.api.app import create_app
from streams.bus.consumer import Received
from streams.contracts.base import Event, Role
from streams.contracts.lifecycle import IngestProtocol, StreamStarted
from streams.contracts.presence import RoomOccupancy
from streams.settings import Settings
from tests.integration.conftest import auth
from warehouse.client import connect


@pytest.fixture
async def app_with(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    monkeypatch.setenv("AUTH_FAILED_AUTH_PER_MINUTE", "5")
    monkeypatch.setenv("FINANCE_STATEMENTS_DIR", str(tmp_path / "statements"))
    app = create_app(Settings())
    async with app.router.lifespan_context(app):
        # A client address of its own: the failed sign-ins below count against it alone.
        transport = httpx.ASGITransport(app=app, client=(f"10.9.{uuid.uuid4().int % 250}.1", 5555))
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client


async def test_sign_up_then_sign_in_gives_a_token_the_platform_accepts(app_with: httpx.AsyncClient) -> None:
    name = f"maya-{uuid.uuid4().hex[:6]}"
    made = await app_with.post(
        "/v1/auth/signup", json={"username": name, "password": "correct horse battery", "role": "creator"}
    )
    assert made.status_code == 201, made.text
    assert made.json()["roles"] == ["creator"]
    signed_in = await app_with.post(
        "/v1/auth/signin", json={"username": name, "password": "correct horse battery"}
    )
    assert signed_in.status_code == 200
    token = signed_in.json()["token"]
    balance = await app_with.get("/v1/wallet/balance", headers={"Authorization": f"Bearer {token}"})
    assert balance.status_code == 200
    assert balance.json()["user_id"] == name


async def test_bad_sign_ups_and_sign_ins_are_clear_problems(app_with: httpx.AsyncClient) -> None:
    name = f"sam-{uuid.uuid4().hex[:6]}"
    ok = {"username": name, "password": "correct horse battery"}
    assert (await app_with.post("/v1/auth/signup", json=ok)).status_code == 201

    taken = await app_with.post("/v1/auth/signup", json=ok)
    assert (taken.status_code, taken.json()["detail"]) == (409, f"the username {name!r} is taken")
    assert taken.headers["content-type"] == "application/problem+json"
    weak = await app_with.post("/v1/auth/signup", json={"username": f"x{name}", "password": "12345"})
    assert (weak.status_code, weak.json()["detail"]) == (422, "the password needs at least 10 characters")
    admin = await app_with.post(
        "/v1/auth/signup", json={"username": f"y{name}", "password": "correct horse battery", "role": "admin"}
    )
    assert admin.status_code == 422
    assert "role" in admin.json()["detail"]

    # The limit counts per fixed minute: start the seven failures well inside one.
    if time.time() % 60 > 50:
        await asyncio.sleep(60.5 - time.time() % 60)
    wrong = await app_with.post("/v1/auth/signin", json={"username": name, "password": "wrong horse battery"})
    unknown = await app_with.post(
        "/v1/auth/signin", json={"username": f"no-{name}", "password": "whatever it is"}
    )
    assert (wrong.status_code, wrong.json()["detail"]) == (401, "wrong username or password")
    assert (unknown.status_code, unknown.json()["detail"]) == (401, "wrong username or password")
    statuses = [
        (
            await app_with.post("/v1/auth/signin", json={"username": name, "password": f"guess {i} guess"})
        ).status_code
        for i in range(5)
    ]
    assert statuses[-1] == 429  # five failures a minute from one address, then Retry-After
    assert statuses.count(401) >= 2


async def test_the_catalog_is_priced_by_the_server(app_with: httpx.AsyncClient) -> None:
    items = (await app_with.get("/v1/gifts/catalog")).json()["items"]
    assert items[0] == {"sku": "rose", "coins": 10}
    assert [i["coins"] for i in items] == sorted(i["coins"] for i in items)
    assert len(items) >= 5


async def test_a_statement_is_served_to_its_creator_and_finance_only(
    app_with: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    creator, other = f"c-{uuid.uuid4().hex[:6]}", f"o-{uuid.uuid4().hex[:6]}"
    folder = tmp_path / "statements" / "2026-12-06"
    folder.mkdir(parents=True)
    written = "at,kind,reference,coins,amount_cents,currency\n2026-12-06T10:00:00+00:00,gift,g1,70,,\n"
    (folder / f"{creator}.csv").write_text(written)
    (folder / f"{creator}.parquet").write_bytes(b"PAR1 not really")
    path = f"/v1/creators/{creator}/statements/2026-12-06.csv"

    owner = await app_with.get(path, headers=auth(settings, creator, Role.CREATOR))
    assert owner.status_code == 200
    assert owner.text == written
    assert owner.headers["content-type"].startswith("text/csv")
    assert "attachment" in owner.headers["content-disposition"]
    assert (await app_with.get(path, headers=auth(settings, "fin", Role.FINANCE))).text == written
    refused = await app_with.get(path, headers=auth(settings, other, Role.CREATOR))
    assert refused.status_code == 403
    listed = (
        await app_with.get(
            f"/v1/creators/{creator}/statements", headers=auth(settings, creator, Role.CREATOR)
        )
    ).json()
    assert [i["day"] for i in listed["items"]] == ["2026-12-06"]
    assert (
        await app_with.get(f"/v1/creators/{other}/statements", headers=auth(settings, creator, Role.CREATOR))
    ).status_code == 403
    missing = await app_with.get(
        f"/v1/creators/{creator}/statements/2026-12-05.csv", headers=auth(settings, creator, Role.CREATOR)
    )
    assert missing.status_code == 404
    assert (
        await app_with.get(
            f"/v1/creators/{creator}/statements/2026-12-06.exe", headers=auth(settings, creator, Role.CREATOR)
        )
    ).status_code == 422


def warehoused(settings: Settings, *events: Event) -> None:
    """Events as the warehouse sink writes them (what the media tier and presence publish)."""
    ch = settings.clickhouse
    client = connect(ch.url, database=ch.database)
    topic = f"test.apps.{uuid.uuid4().hex[:8]}"
    WarehouseWriter(client, "apps-test")([Received(e, topic, 0, i, 0) for i, e in enumerate(events)])
    client.close()


async def test_a_stream_that_started_but_is_not_served_by_the_origin_is_not_listed(
    app_with: httpx.AsyncClient, settings: Settings
) -> None:
    """A media process that died without a stream.ended leaves a start with no end; the home
    page does not list it (the origin, which does not serve it, has the last word). Streams the
    origin serves are listed: tests/e2e/test_apps.py, with a real broadcast."""
    creator, room, stream = (f"{k}-{uuid.uuid4().hex[:6]}" for k in ("creator", "room", "st"))
    started = StreamStarted(
        stream_id=stream,
        creator_id=creator,
        room_id=room,
        protocol=IngestProtocol.RTMP,
        epoch="e1",
        producer="media",
    )
    warehoused(settings, started, RoomOccupancy(room_id=room, viewers=7, connections=8, producer="presence"))
    ch = settings.clickhouse
    client = connect(ch.url, database=ch.database)
    in_warehouse = client.query(
        "SELECT count() FROM stream_lifecycle WHERE stream_id = {s:String}", parameters={"s": stream}
    )
    client.close()
    assert in_warehouse.result_rows == [(1,)]
    listed = (await app_with.get("/v1/streams/live?limit=200")).json()["items"]
    assert stream not in {s["stream_id"] for s in listed}


async def test_the_sandbox_provider_pays_declines_and_reverses_through_the_signed_webhook(
    app_with: httpx.AsyncClient, settings: Settings
) -> None:
    viewer = f"v-{uuid.uuid4().hex[:6]}"
    headers = auth(settings, viewer)

    async def topup(cents: int) -> str:
        made = await app_with.post(
            "/v1/wallet/topups",
            json={"amount_cents": cents, "payment_instrument_id": "sandbox-card"},
            headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert made.status_code == 201, made.text
        return str(made.json()["topup_id"])

    async def balance() -> int:
        return int((await app_with.get("/v1/wallet/balance", headers=headers)).json()["available"])

    page = await app_with.get(f"/sandbox/checkout/{uuid.uuid4()}")
    assert page.status_code == 200
    assert "SANDBOX" in page.text

    paid = await topup(500)
    answer = (await app_with.post(f"/sandbox/v1/charges/{paid}/pay")).json()
    assert (answer["event"], answer["webhook_status"]) == ("payment.captured", 200)
    assert await balance() == 500 * settings.money.coins_per_usd // 100
    again = (await app_with.post(f"/sandbox/v1/charges/{paid}/pay")).json()
    assert again["webhook_status"] == 200  # the same provider event again: applied once
    assert await balance() == 500 * settings.money.coins_per_usd // 100

    declined = await topup(300)
    answer = (await app_with.post(f"/sandbox/v1/charges/{declined}/decline")).json()
    assert (answer["event"], answer["webhook_status"]) == ("payment.failed", 200)
    assert await balance() == 500 * settings.money.coins_per_usd // 100

    answer = (await app_with.post(f"/sandbox/v1/charges/{paid}/chargeback")).json()
    assert (answer["event"], answer["webhook_status"]) == ("charge.dispute.lost", 200)
    assert await balance() == 0


async def test_the_sandbox_provider_does_not_exist_in_production(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTH_DEV_TOKENS", "false")
    app = create_app(Settings())
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client,
    ):
        assert (await client.post(f"/sandbox/v1/charges/{uuid.uuid4()}/pay")).status_code == 404
        assert (await client.get(f"/sandbox/checkout/{uuid.uuid4()}")).status_code == 404


async def test_the_studio_figures_are_the_creators_own(
    app_with: httpx.AsyncClient, settings: Settings
) -> None:
    creator, other = f"c-{uuid.uuid4().hex[:6]}", f"o-{uuid.uuid4().hex[:6]}"
    room = f"{creator}-live"
    mine = auth(settings, creator, Role.CREATOR)
    assert (await app_with.post("/v1/rooms", json={"room_id": room}, headers=mine)).status_code == 201
    stream = (await app_with.post("/v1/streams", json={"room_id": room}, headers=mine)).json()
    studio = (
        await app_with.get(f"/v1/creators/{creator}/studio?stream_id={stream['stream_id']}", headers=mine)
    ).json()
    assert studio["streams"] == [
        {"stream_id": stream["stream_id"], "room_id": room, "watch_url": f"/watch/{stream['stream_id']}"}
    ]
    assert studio["live"]["room_id"] == room
    assert studio["live"]["gifts"] == 0
    assert studio["earnings"] == []
    others = auth(settings, other, Role.CREATOR)
    assert (await app_with.get(f"/v1/creators/{creator}/studio", headers=others)).status_code == 403
    foreign = await app_with.get(
        f"/v1/creators/{other}/studio?stream_id={stream['stream_id']}", headers=others
    )
    assert foreign.status_code == 404
