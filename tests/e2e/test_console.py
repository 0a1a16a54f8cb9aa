"""The trust-and-safety console end to end: a gateway node, the Faust worker and the warehouse
sink as real processes, the real services, the official socket.io-client, and two analysts in
Debian's Chromium (playwright-core)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.types.json import Jsonb

from ops.broadcast import token_for
from ops.js_clients import JsClients
from pipelines.warehouse.sink import WarehouseWriter, sink_topics
from streams.bus.admin import start_group_at_end
from streams.bus.consumer import Received
from streams.contracts.base import Role
from streams.contracts.chat import ChatMessageHeld, ChatMessageSubmitted
from streams.contracts.fraud import FraudAlert, FraudOutcome, FraudSubject
from streams.contracts.gifts import GiftScreened
from streams.settings import REPO_ROOT, Settings
from tests.e2e.conftest import ProbeSteps, launch_gateway
from tests.integration.conftest import Worker, eventually, fund, spawn, stop_process
from warehouse.client import connect

ENV = {"ROOMS_SOCKET_CHAT_PER_S": "50", "ROOMS_SOCKET_CHAT_BURST": "50"}
SHOTS = REPO_ROOT / "build" / "screenshots"


@dataclass
class Console:
    settings: Settings
    url: str
    room: str
    creator: str
    moderator: str

    def token(self, user: str, *roles: Role) -> str:
        return token_for(self.settings, user, *roles)

    def call(self, method: str, path: str, token: str | None, json: Any = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.request(method, self.url + path, headers=headers, json=json, timeout=15)

    def hold_chat(self, text: str = "held for review") -> str:
        message = ChatMessageSubmitted(
            message_id=uuid.uuid4(),
            room_id=self.room,
            user_id=f"v-{uuid.uuid4().hex[:6]}",
            text=text,
            producer="t",
        )
        with psycopg.connect(self.settings.postgres.dsn()) as conn:
            conn.execute(
                "INSERT INTO chat_holds (message_id, room_id, user_id, submitted, score, held_reason) "
                "VALUES (%s, %s, %s, %s, 0.5, 'automod level 4')",
                (message.message_id, self.room, message.user_id, Jsonb(message.model_dump(mode="json"))),
            )
        return str(message.message_id)

    def hold_gift(self, coins: int = 50, gift_id: str | None = None) -> str:
        sender = f"fan-{uuid.uuid4().hex[:6]}"
        fund(self.settings.postgres.dsn(), sender, 1_000)
        gift = GiftScreened(
            gift_id=uuid.UUID(gift_id) if gift_id else uuid.uuid4(),
            sender_id=sender,
            creator_id=self.creator,
            room_id=self.room,
            gift_sku="rose",
            quantity=coins // 10,
            unit_price_coins=10,
            total_coins=coins,
            decision="review",
            rules=("gifts_per_minute",),
            producer="fraud",
        )
        with psycopg.connect(self.settings.postgres.dsn()) as conn:
            conn.execute(
                "INSERT INTO gift_holds (gift_id, sender_id, request, rules) VALUES (%s, %s, %s, %s)",
                (gift.gift_id, sender, Jsonb(gift.model_dump(mode="json")), list(gift.rules)),
            )
        return str(gift.gift_id)

    def fraud_alert(self) -> str:
        alert = FraudAlert(
            rule="gifts_per_minute",
            outcome=FraudOutcome.REVIEW,
            shadow=False,
            subject_type=FraudSubject.USER,
            subject_id="suspect",
            user_id="suspect",
            reference_id=str(uuid.uuid4()),
            observed=9,
            threshold=5,
            producer="fraud",
        )
        ch = self.settings.clickhouse
        client = connect(ch.url, database=ch.database)
        WarehouseWriter(client, "console-test")(
            [Received(alert, f"test.console.{uuid.uuid4().hex[:8]}", 0, 0, 0)]
        )
        client.close()
        return str(alert.event_id)

    def platform_banned(self) -> str:
        user = f"banned-{uuid.uuid4().hex[:6]}"
        response = self.call(
            "POST", f"/v1/console/users/{user}/ban", self.token("setup", Role.ADMIN), {"reason": "x"}
        )
        assert response.status_code == 200, response.text
        return user


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    settings = Settings()
    log_dir = tmp_path_factory.mktemp("console")
    proc, url = launch_gateway("gw-console", log_dir, ENV)
    room, creator, moderator = (f"{kind}-{uuid.uuid4().hex[:6]}" for kind in ("room", "creator", "mod"))
    c = Console(settings, url, room, creator, moderator)
    assert c.call("POST", "/v1/rooms", c.token(creator, Role.CREATOR), {"room_id": room}).status_code == 201
    appointed = c.call(
        "POST", f"/v1/rooms/{room}/moderators", c.token(creator, Role.CREATOR), {"user_id": moderator}
    )
    assert appointed.status_code == 200, appointed.text
    yield c
    stop_process(proc)


PRINCIPALS: dict[str, Callable[[Console], str | None]] = {
    "anonymous": lambda c: None,
    "viewer": lambda c: c.token("someone", Role.VIEWER),
    "creator": lambda c: c.token(c.creator, Role.CREATOR),
    "moderator": lambda c: c.token(c.moderator, Role.MODERATOR),
    "analyst": lambda c: c.token("analyst-1", Role.ANALYST),
    "admin": lambda c: c.token("admin-1", Role.ADMIN),
}

# Every console route, with a request that an analyst may make (a fresh target each time).
ROUTES: dict[tuple[str, str], Callable[[Console], tuple[str, Any]]] = {
    ("GET", "/v1/console/queue"): lambda c: ("/v1/console/queue", None),
    ("POST", "/v1/console/queue/chat/{message_id}/{decision}"): lambda c: (
        f"/v1/console/queue/chat/{c.hold_chat()}/approve",
        None,
    ),
    ("POST", "/v1/console/queue/gift/{gift_id}/{decision}"): lambda c: (
        f"/v1/console/queue/gift/{c.hold_gift()}/deny",
        None,
    ),
    ("POST", "/v1/console/users/{user_id}/ban"): lambda c: (
        f"/v1/console/users/u-{uuid.uuid4().hex[:6]}/ban",
        {"room_id": c.room, "reason": "spam"},
    ),
    ("DELETE", "/v1/console/users/{user_id}/ban"): lambda c: (
        f"/v1/console/users/{c.platform_banned()}/ban",
        None,
    ),
    ("POST", "/v1/console/users/{user_id}/timeout"): lambda c: (
        f"/v1/console/users/u-{uuid.uuid4().hex[:6]}/timeout",
        {"room_id": c.room, "duration_s": 60},
    ),
    ("GET", "/v1/console/users/{user_id}"): lambda c: ("/v1/console/users/suspect", None),
    ("GET", "/v1/console/alerts"): lambda c: ("/v1/console/alerts?rule=gifts_per_minute", None),
    ("POST", "/v1/console/alerts/{alert_id}/ack"): lambda c: (
        f"/v1/console/alerts/{c.fraud_alert()}/ack",
        {"note": "looked at it"},
    ),
    ("GET", "/v1/console/audit"): lambda c: ("/v1/console/audit?kind=ban", None),
    ("GET", "/v1/console/audit.csv"): lambda c: ("/v1/console/audit.csv", None),
    ("GET", "/v1/console/charts"): lambda c: ("/v1/console/charts?hours=1", None),
}


def test_only_analysts_and_admins_reach_any_console_route_or_the_live_namespace(console: Console) -> None:
    from serving.api.app import create_app

    declared = {
        (method.upper(), path)
        for path, operations in create_app(console.settings).openapi()["paths"].items()
        if path.startswith("/v1/console")
        for method in operations
    }
    assert declared == set(ROUTES), "every console route is in the matrix"
    matrix: dict[tuple[str, str], dict[str, int]] = {}
    for (method, template), request in ROUTES.items():
        for who, token in PRINCIPALS.items():
            path, body = request(console)
            matrix.setdefault((method, template), {})[who] = console.call(
                method, path, token(console), body
            ).status_code
    expected = {"anonymous": 401, "viewer": 403, "creator": 403, "moderator": 403}
    for route, row in matrix.items():
        assert {who: row[who] for who in expected} == expected, route
        assert 200 <= row["analyst"] < 300, (route, row)
        assert 200 <= row["admin"] < 300, (route, row)

    clients = JsClients()
    try:
        namespace = f"{console.url}/console"
        refused = {who: clients.connect(who, namespace, token(console)) for who, token in PRINCIPALS.items()}
    finally:
        clients.shutdown()
    assert (refused["analyst"], refused["admin"]) == (None, None), refused
    assert refused["anonymous"] is not None
    assert "authentication required" in refused["anonymous"]
    for who in ("viewer", "creator", "moderator"):
        assert str(refused[who]).startswith("forbidden"), (who, refused[who])


def test_bad_input_is_a_clear_404_409_or_422(console: Console) -> None:
    analyst = console.token("analyst-1", Role.ANALYST)
    unknown = console.call("POST", f"/v1/console/queue/chat/{uuid.uuid4()}/approve", analyst)
    assert unknown.status_code == 404
    assert "is held" in unknown.json()["detail"]
    assert console.call("POST", f"/v1/console/queue/gift/{uuid.uuid4()}/approve", analyst).status_code == 404
    assert (
        console.call("POST", f"/v1/console/alerts/{uuid.uuid4()}/ack", analyst, {"note": ""}).status_code
        == 404
    )

    held = console.hold_chat()
    assert console.call("POST", f"/v1/console/queue/chat/{held}/deny", analyst).status_code == 200
    stale = console.call(
        "POST", f"/v1/console/queue/chat/{held}/approve", console.token("analyst-2", Role.ANALYST)
    )
    assert stale.status_code == 409
    assert stale.json()["detail"] == f"message {held} was already denied by analyst-1"
    assert stale.json()["reason"] == "already_denied"

    malformed = console.call("GET", "/v1/console/alerts?since=yesterday", analyst)
    assert malformed.status_code == 422
    assert "since" in malformed.json()["detail"]
    backwards = console.call(
        "GET", "/v1/console/audit?since=2026-12-07T10:00:00Z&until=2026-12-07T09:00:00Z", analyst
    )
    assert backwards.status_code == 422
    assert backwards.json()["detail"].startswith("since")
    assert console.call("GET", "/v1/console/audit?kind=nuke", analyst).status_code == 422
    ancient = console.call(
        "GET", "/v1/console/audit.csv?until=0403-11-19T18:23:21Z", analyst
    )  # found by schemathesis
    assert ancient.status_code == 422
    assert ancient.json()["detail"] == "until: must be between 2000-01-01 and 2200-01-01"
    assert console.call("POST", f"/v1/console/queue/chat/{held}/maybe", analyst).status_code == 422


def test_analysts_work_the_queue_live_in_chromium(console: Console, tmp_path: Path) -> None:
    """A held message appears live on two analysts' consoles; the first approves it with the
    keyboard and the room receives it; the second is told who decided. A fraud-held gift
    approved from the console settles with its ledger postings. The audit CSV holds both."""
    settings = console.settings
    worker = Worker(
        f"console-{uuid.uuid4().hex[:8]}", tmp_path / "worker.log", settings.kafka.bootstrap_servers, ENV
    )
    group = f"sink-console-{uuid.uuid4().hex[:8]}"
    start_group_at_end(settings.kafka.bootstrap_servers, group, sink_topics())
    sink = spawn(["-m", "pipelines.warehouse", "--group", group, "--max-wait", "0.2"], tmp_path / "sink.log")
    clients = JsClients()
    step: ProbeSteps | None = None
    try:
        room = f"room-held-{uuid.uuid4().hex[:6]}"
        creator = console.token(console.creator, Role.CREATOR)
        assert console.call("POST", "/v1/rooms", creator, {"room_id": room}).status_code == 201
        assert (
            console.call("PUT", f"/v1/rooms/{room}/modes", creator, {"automod_level": 4}).status_code == 200
        )
        for name in ("vic", "wes"):
            assert clients.connect(name, console.url, console.token(name)) is None
            assert clients.emit(name, "join", {"room_id": room})["ok"] is True

        marker = f"you are such an idiot {uuid.uuid4().hex[:6]}"
        gift_id = str(uuid.uuid4())
        step = ProbeSteps.start(
            "console_probe.mjs",
            SHOTS,
            CONSOLE_A=f"{console.url}/console#token={console.token('analyst-a', Role.ANALYST)}",
            CONSOLE_B=f"{console.url}/console#token={console.token('analyst-b', Role.ANALYST)}",
            ANALYST_A="analyst-a",
            MARKER=marker,
            GIFT_ID=gift_id,
        )
        assert step.read()["ready"]

        ack = clients.emit("vic", "chat", {"room_id": room, "text": marker})
        assert ack["ok"] is True, ack
        chat = step.read()["chat"]
        assert chat["id"] == ack["message_id"]
        held_at = datetime.fromisoformat(chat["held_at"]).timestamp() * 1000
        assert chat["appeared_at_ms"] - held_at < 1000, "a new hold shows within a second"
        assert chat["decided_by_a"] == "approved by you"
        assert chat["seen_by_b"] == "approved by analyst-a"
        released = clients.wait_for("wes", "chat", lambda m: m["message_id"] == chat["id"], timeout_s=30)
        assert released["text"] == marker
        second = console.call(
            "POST", f"/v1/console/queue/chat/{chat['id']}/deny", console.token("analyst-b", Role.ANALYST)
        )
        assert (second.status_code, second.json()["detail"]) == (
            409,
            f"message {chat['id']} was already approved by analyst-a",
        )

        console.hold_gift(coins=70, gift_id=gift_id)  # fraud review held it: the probe waits for it
        step.go()
        gift = step.read()["gift"]
        assert gift["a"] == "approved by you"
        assert gift["b"].get("decided") == "approved by analyst-a" or (
            gift["b"]["status"] == 409 and "already approved by analyst-a" in gift["b"]["body"]["detail"]
        ), gift["b"]
        with psycopg.connect(settings.postgres.dsn()) as conn:
            legs = conn.execute(
                "SELECT debit_account, credit_account, amount FROM ledger_transfers WHERE reference_id = %s ORDER BY amount DESC",
                (gift_id,),
            ).fetchall()
        assert sum(amount for _, _, amount in legs) == 70, legs
        assert legs[0][1] == f"creator_earnings:{console.creator}"

        ch = settings.clickhouse
        client = connect(ch.url, database=ch.database)
        eventually(
            lambda: (
                client.query(
                    "SELECT uniqExact(kind) FROM moderation_actions WHERE actor_id = 'analyst-a'"
                ).result_rows[0][0]
                >= 2
            ),
            60,
            "the analyst's actions in the warehouse",
        )
        client.close()
        step.go()
        done = step.read()
        rows = done["csv"].splitlines()
        assert rows[0].startswith("occurred_at,kind,room_id,actor_id")
        kinds = {line.split(",")[1] for line in rows[1:]}
        assert {"approve_held", "approve_gift"} <= kinds, rows
        assert done["errors"] == []
        step.finish()
        for shot in ("console-queue.png", "console-audit.png", "console-charts.png", "console-alerts.png"):
            assert (SHOTS / shot).stat().st_size > 10_000, shot
    finally:
        if step is not None:
            step.kill()
        clients.shutdown()
        stop_process(sink)
        worker.stop()


def test_a_platform_ban_refuses_chat_and_gifts_in_every_room(console: Console, tmp_path: Path) -> None:
    """A user banned platform-wide from the console is refused in a room they were never banned
    in, told why; lifting the ban lets them talk again. Both are on the audit trail's record."""
    settings = console.settings
    worker = Worker(
        f"console-{uuid.uuid4().hex[:8]}", tmp_path / "worker.log", settings.kafka.bootstrap_servers, ENV
    )
    clients = JsClients()
    try:
        user = f"troll-{uuid.uuid4().hex[:6]}"
        assert clients.connect("troll", console.url, console.token(user)) is None
        assert clients.emit("troll", "join", {"room_id": console.room})["ok"] is True
        first = clients.emit("troll", "chat", {"room_id": console.room, "text": "before the ban"})
        clients.wait_for("troll", "chat", lambda m: m["message_id"] == first["message_id"], timeout_s=60)

        analyst = console.token("analyst-1", Role.ANALYST)
        banned = console.call("POST", f"/v1/console/users/{user}/ban", analyst, {"reason": "raids"})
        assert (banned.status_code, banned.json()["kind"]) == (200, "platform_ban")
        refused = clients.emit("troll", "chat", {"room_id": console.room, "text": "after the ban"})
        rejection = clients.wait_for(
            "troll", "chat_rejected", lambda r: r["message_id"] == refused["message_id"]
        )
        assert (rejection["reason"], rejection["detail"]) == ("banned", "you are banned from the platform")
        gift = clients.emit(
            "troll",
            "send_gift",
            {"room_id": console.room, "creator_id": console.creator, "gift_sku": "rose", "client_id": "g1"},
        )
        assert gift["ok"] is False, gift
        assert "banned" in gift["reason"], gift
        view = console.call("GET", f"/v1/console/users/{user}", analyst).json()
        assert view["platform_banned"] is True
        assert view["platform_ban_history"][0]["by"] == "analyst-1"

        assert console.call("DELETE", f"/v1/console/users/{user}/ban", analyst).status_code == 200
        again = clients.emit("troll", "chat", {"room_id": console.room, "text": "reformed"})
        clients.wait_for("troll", "chat", lambda m: m["message_id"] == again["message_id"], timeout_s=30)
        with psycopg.connect(settings.postgres.dsn()) as conn:
            rows = conn.execute(
                "SELECT banned, actor_id FROM platform_bans WHERE user_id = %s ORDER BY id", (user,)
            ).fetchall()
        assert rows == [(True, "analyst-1"), (False, "analyst-1")]
    finally:
        clients.shutdown()
        worker.stop()


def test_a_room_whose_holds_jump_is_a_moderation_spike_alert_that_is_acknowledged_once(
    console: Console,
) -> None:
    """Five messages held in one minute in a room that held one message in the hour before is
    a spike (at least 3, and 3x its average minute); two held in the next minute is not."""
    room = f"spiky-{uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC).replace(second=30, microsecond=0)
    minute = timedelta(minutes=1)

    def held(at: datetime) -> ChatMessageHeld:
        return ChatMessageHeld(
            message_id=uuid.uuid4(),
            room_id=room,
            user_id="loud",
            text="held",
            score=0.6,
            held_reason="automod level 3",
            occurred_at=at,
            producer="moderation",
        )

    events = (
        [held(now - 30 * minute)]
        + [held(now - 3 * minute) for _ in range(5)]
        + [held(now - 2 * minute) for _ in range(2)]
    )
    ch = console.settings.clickhouse
    client = connect(ch.url, database=ch.database)
    WarehouseWriter(client, "console-test")(
        [Received(e, f"test.console.{uuid.uuid4().hex[:8]}", 0, i, 0) for i, e in enumerate(events)]
    )
    client.close()
    analyst = console.token("analyst-1", Role.ANALYST)
    found = console.call("GET", f"/v1/console/alerts?room_id={room}&rule=hold_spike", analyst).json()["items"]
    spike_minute = (now - 3 * minute).replace(second=0)
    assert [(a["rule"], a["room_id"], a["observed"], a["reference_id"]) for a in found] == [
        ("hold_spike", room, 5, spike_minute.isoformat())
    ]
    alert_id = found[0]["alert_id"]
    acked = console.call("POST", f"/v1/console/alerts/{alert_id}/ack", analyst, {"note": "raid, handled"})
    assert acked.status_code == 200, acked.text
    again = console.call(
        "POST", f"/v1/console/alerts/{alert_id}/ack", console.token("analyst-2", Role.ANALYST), {"note": "x"}
    )
    assert (again.status_code, again.json()["detail"]) == (
        409,
        f"alert {alert_id} was already acknowledged by analyst-1",
    )
    listed = console.call("GET", f"/v1/console/alerts?room_id={room}", analyst).json()["items"]
    assert listed[0]["ack"]["note"] == "raid, handled"
