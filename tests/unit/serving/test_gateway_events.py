"""The gateway's socket events one by one, against fakes of the server and the platform: what each
acknowledges and what it publishes. (The real server and clients: tests/e2e/test_gateway_socketio.py.)"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import pytest
import socketio
from pydantic import SecretStr

from serving.auth.tokens import issue
from serving.gateway.server import GatewayNamespace
from streams.bus.wire import DeliveryFailed
from streams.contracts.base import Event, Role
from streams.contracts.chat import ChatMessageSubmitted
from streams.contracts.gifts import GiftRequested, GiftRoomProblem
from streams.contracts.presence import LeaveReason, PresenceJoined, PresenceLeft
from streams.contracts.reactions import ReactionSubmitted
from streams.rooms.history import Recovery
from streams.rooms.model import Room
from streams.settings import RoomSettings

SECRET = "s" * 32


class Server:
    """What a namespace asks of python-socketio's server: sessions, rooms, emits, disconnects."""

    def __init__(self) -> None:
        self.sessions: dict[str, dict[str, Any]] = {}
        self.rooms: dict[str, set[str]] = {}
        self.disconnected: list[str] = []

    async def get_session(self, sid: str, namespace: str | None = None) -> dict[str, Any]:
        return self.sessions.setdefault(sid, {})

    async def save_session(self, sid: str, session: dict[str, Any], namespace: str | None = None) -> None:
        self.sessions[sid] = session

    async def enter_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        self.rooms.setdefault(sid, set()).add(room)

    async def leave_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        self.rooms.get(sid, set()).discard(room)

    async def emit(self, *args: Any, **kwargs: Any) -> None:
        pass

    async def disconnect(self, sid: str, namespace: str | None = None, **kwargs: Any) -> None:
        self.disconnected.append(sid)


class Producer:
    def __init__(self) -> None:
        self.sent: list[Event] = []
        self.down = False

    async def send(self, event: Event) -> None:
        if self.down:
            raise DeliveryFailed("chat.submitted: Local: Message timed out")
        self.sent.append(event)


class Rooms:
    def __init__(self, *rooms: Room) -> None:
        self.by_id = {r.room_id: r for r in rooms}
        self.banned: set[tuple[str, str]] = set()

    async def get(self, room_id: str) -> Room | None:
        return self.by_id.get(room_id)

    async def gift_problems(self, gifts: Sequence[tuple[str, str, str]]) -> list[GiftRoomProblem | None]:
        out: list[GiftRoomProblem | None] = []
        for room, sender, creator in gifts:
            found = self.by_id.get(room)
            out.append(
                GiftRoomProblem.UNKNOWN_CREATOR
                if found is None or found.creator_id != creator
                else GiftRoomProblem.SENDER_BANNED
                if (room, sender) in self.banned
                else None
            )
        return out


class Limits:
    def __init__(self) -> None:
        self.failures: list[str] = []

    async def hit(self, kind: str, address: str) -> None:
        self.failures.append(address)


class Manager:
    rooms: dict[str, dict[Any, Any]] = {}  # noqa: RUF012  (python-socketio's: namespace -> room -> sockets)

    def hold(self, room: str, sid: str) -> None:
        pass

    async def release(self, room: str, sid: str, after_seq: str | None, send: Any) -> int:
        return 0


class History:
    async def since(self, room_id: str, last: str | None) -> Recovery:
        return Recovery(messages=[], recovered=True, head_seq=None)


@pytest.fixture
def gateway() -> tuple[GatewayNamespace, Server, Producer, Rooms]:
    producer, rooms = Producer(), Rooms(Room("room-1", "maya"), Room("shut", "maya", closed=True))
    state = SimpleNamespace(
        settings=SimpleNamespace(auth=SimpleNamespace(token_secret=SecretStr(SECRET))),
        producer=producer,
        rooms=rooms,
        history=History(),
        auth_limits=Limits(),
    )
    namespace = GatewayNamespace(lambda: state, Manager(), RoomSettings(), "gw-1", "gw-1.abcd")  # type: ignore[arg-type, return-value]
    server = Server()
    namespace._set_server(server)
    return namespace, server, producer, rooms


async def connected(namespace: GatewayNamespace, user: str = "fan", ttl_s: int = 3600, *roles: Role) -> str:
    sid = f"sid-{user}"
    await namespace.on_connect(
        sid,
        {"REMOTE_ADDR": "203.0.113.9"},
        {"token": issue(SECRET, user, list(roles) or [Role.VIEWER], ttl_s)},
    )
    return sid


async def test_connect_needs_a_valid_token_and_counts_failures(gateway: Any) -> None:
    namespace, server, _, _ = gateway
    with pytest.raises(socketio.exceptions.ConnectionRefusedError, match="authentication required"):
        await namespace.on_connect("s1", {}, None)
    with pytest.raises(socketio.exceptions.ConnectionRefusedError, match="authentication failed"):
        await namespace.on_connect(
            "s1", {"REMOTE_ADDR": "198.51.100.1"}, {"token": issue("x" * 32, "fan", [Role.ADMIN])}
        )
    assert namespace.state.auth_limits.failures == ["198.51.100.1"]
    sid = await connected(namespace)
    assert server.sessions[sid]["user_id"] == "fan"
    assert server.rooms[sid] == {"user:fan"}


async def test_join_checks_the_room_and_announces_presence(gateway: Any) -> None:
    namespace, server, producer, _ = gateway
    sid = await connected(namespace)
    assert await namespace.on_join(sid, "room-1") == {
        "ok": False,
        "reason": "send an object: {room_id, last_message_id?}",
    }
    assert await namespace.on_join(sid, {"room_id": "nope"}) == {
        "ok": False,
        "reason": "there is no room nope",
    }
    assert await namespace.on_join(sid, {"room_id": "shut"}) == {"ok": False, "reason": "room shut is closed"}
    assert await namespace.on_join(sid, {"room_id": "room-1"}) == {"ok": True, "room_id": "room-1"}
    assert "room-1" in server.rooms[sid]
    assert [type(e) for e in producer.sent] == [PresenceJoined]
    assert producer.sent[0].node_id == "gw-1.abcd"


async def test_chat_needs_the_room_joined_and_is_rate_limited(gateway: Any) -> None:
    namespace, _, producer, _ = gateway
    sid = await connected(namespace)
    assert await namespace.on_chat(sid, {"room_id": "room-1", "text": "hi"}) == {
        "ok": False,
        "reason": "join the room before chatting in it",
    }
    await namespace.on_join(sid, {"room_id": "room-1"})
    ack = await namespace.on_chat(sid, {"room_id": "room-1", "text": "hi"})
    assert ack["ok"] is True
    chats = [e for e in producer.sent if isinstance(e, ChatMessageSubmitted)]
    assert [(c.text, c.user_id, c.producer, str(c.message_id)) for c in chats] == [
        ("hi", "fan", "gw-1", ack["message_id"])
    ]
    too_long = await namespace.on_chat(sid, {"room_id": "room-1", "text": "x" * 501})
    assert "at most 500 characters" in too_long["reason"]
    acks = [await namespace.on_chat(sid, {"room_id": "room-1", "text": f"m{i}"}) for i in range(10)]
    assert any(a.get("reason") == "rate_limited" and a["retry_after_ms"] > 0 for a in acks)


async def test_react_and_leave(gateway: Any) -> None:
    namespace, server, producer, _ = gateway
    sid = await connected(namespace)
    assert (await namespace.on_react(sid, {"room_id": "room-1", "reaction": "heart"}))["ok"] is False
    await namespace.on_join(sid, {"room_id": "room-1"})
    assert await namespace.on_react(sid, {"room_id": "room-1", "reaction": "heart"}) == {"ok": True}
    assert (
        "reaction" in (await namespace.on_react(sid, {"room_id": "room-1", "reaction": "thumbs"}))["reason"]
    )
    assert await namespace.on_leave(sid, {"room_id": "room-1"}) == {"ok": True}
    assert await namespace.on_leave(sid, {"room_id": "room-1"}) == {"ok": False, "reason": "not in that room"}
    kinds = [type(e) for e in producer.sent]
    assert kinds == [PresenceJoined, ReactionSubmitted, PresenceLeft]
    assert producer.sent[-1].reason is LeaveReason.LEFT
    assert "room-1" not in server.rooms[sid]


async def test_send_gift_is_the_http_gift_path(gateway: Any) -> None:
    namespace, _, producer, rooms = gateway
    sid = await connected(namespace)
    gift = {"room_id": "room-1", "creator_id": "maya", "gift_sku": "star", "quantity": 2, "client_id": "g1"}
    assert (await namespace.on_send_gift(sid, gift))["reason"] == "join the room before sending a gift in it"
    await namespace.on_join(sid, {"room_id": "room-1"})
    ack = await namespace.on_send_gift(sid, gift)
    assert (ack["ok"], ack["total_coins"]) == (True, 200)
    again = await namespace.on_send_gift(sid, gift)
    assert again["gift_id"] == ack["gift_id"]  # the client id names the gift
    assert [str(e.gift_id) for e in producer.sent if isinstance(e, GiftRequested)] == [ack["gift_id"]] * 2
    assert (await namespace.on_send_gift(sid, {**gift, "quantity": 10**20}))["ok"] is False
    assert (await namespace.on_send_gift(sid, {**gift, "client_id": ""}))["ok"] is False
    rooms.banned.add(("room-1", "fan"))
    assert await namespace.on_send_gift(sid, {**gift, "client_id": "g2"}) == {
        "ok": False,
        "reason": "you are banned or timed out in room room-1",
    }


async def test_an_expired_token_ends_the_socket(gateway: Any) -> None:
    namespace, server, _, _ = gateway
    sid = await connected(namespace, "fan", 1)
    server.sessions[sid]["expires_at"] = int(time.time()) - 1
    assert await namespace.on_chat(sid, {"room_id": "room-1", "text": "hi"}) == {
        "ok": False,
        "reason": "token_expired",
    }
    await asyncio.sleep(0)
    assert server.disconnected == [sid]


async def test_an_outage_is_acked_and_disconnect_announces_every_room_left(gateway: Any) -> None:
    namespace, _, producer, _ = gateway
    sid = await connected(namespace)
    await namespace.on_join(sid, {"room_id": "room-1"})
    producer.down = True
    assert await namespace.on_chat(sid, {"room_id": "room-1", "text": "hi"}) == {
        "ok": False,
        "reason": "unavailable",
        "retry_after_ms": 2000,
    }
    producer.down = False
    await namespace.on_disconnect(sid, "client disconnect")
    left = [e for e in producer.sent if isinstance(e, PresenceLeft)]
    assert [(e.room_id, e.reason) for e in left] == [("room-1", LeaveReason.DISCONNECTED)]


def counted(event: str, outcome: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("socket_events_total", {"event": event, "outcome": outcome}) or 0.0


async def test_each_ack_is_counted_by_event_and_outcome(gateway: Any) -> None:
    namespace, _, producer, _ = gateway
    sid = await connected(namespace)
    before = {o: counted("chat", o) for o in ("ok", "refused", "unavailable")}
    await namespace.on_chat(sid, {"room_id": "room-1", "text": "hi"})  # not joined: worded refusal
    await namespace.on_join(sid, {"room_id": "room-1"})
    await namespace.on_chat(sid, {"room_id": "room-1", "text": "hi"})
    producer.down = True
    await namespace.on_chat(sid, {"room_id": "room-1", "text": "again"})
    assert {o: counted("chat", o) - before[o] for o in before} == {"ok": 1, "refused": 1, "unavailable": 1}
