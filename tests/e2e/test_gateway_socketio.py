"""A gateway node driven by the official JS client (socket.io-client from npm): authentication
at connect, join, chat acknowledged and on Kafka, refusals with reasons, flood limiting."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from serving.auth.tokens import issue
from streams.bus.scan import find_record
from streams.contracts.base import Role
from streams.contracts.chat import ChatMessageSubmitted
from streams.settings import Settings
from streams.topics import TOPICS
from tests.e2e.conftest import open_room, run_js_client


@pytest.fixture
def gateway(start_gateway: Callable[[str], str]) -> str:
    return start_gateway("gw-test")


def test_the_official_client_speaks_to_the_gateway(gateway: str, settings: Settings, unique: str) -> None:
    room = f"room-{unique}"
    open_room(gateway, settings, room, f"creator-{unique}")
    token = issue(settings.auth.token_secret.get_secret_value(), f"viewer-{unique}", [Role.VIEWER])
    out = run_js_client(
        "socketio_client.mjs",
        GATEWAY_URL=gateway,
        TOKEN=token,
        EXPIRED_TOKEN=issue(
            settings.auth.token_secret.get_secret_value(), f"viewer-{unique}", [Role.VIEWER], ttl_s=-1
        ),
        ROOM=room,
    )
    assert "authentication required" in out["without_token"]
    assert "authentication failed" in out["forged_token"]
    assert "token has expired" in out["expired_token"]
    assert out["connect_error"] is None
    assert out["chat_before_join"] == {"ok": False, "reason": "join the room before chatting in it"}
    assert out["join"] == {"ok": True, "room_id": room}
    assert out["chat"]["ok"] is True
    assert not out["too_long"]["ok"]
    assert "at most 500 characters" in out["too_long"]["reason"]
    assert out["malformed"]["ok"] is False
    assert out["flood_limited"] >= 5  # burst of 5, then 2 a second
    assert out["unknown_gift"] == {
        "ok": False,
        "reason": "unknown gift 'unicorn'; the catalog has rose, heart, star, rocket, castle",
    }
    assert "reaction" in out["bad_reaction"]["reason"]

    spec = TOPICS.for_event(ChatMessageSubmitted)
    record = find_record(
        settings.kafka.bootstrap_servers,
        spec.name,
        lambda m: json.loads(m.value()).get("message_id") == out["chat"]["message_id"],
    )
    assert record is not None
    body = json.loads(record.value())
    assert (body["room_id"], body["text"], body["producer"], body["event_id"]) == (
        room,
        "hello from socket.io-client",
        "gw-test",
        out["chat"]["event_id"],
    )

    # Only what was acknowledged reached Kafka: nothing refused (too early, too long, malformed,
    # flooded) was produced, in order, up to the last message.
    texts: list[str] = []

    def collect(m) -> bool:  # type: ignore[no-untyped-def]
        event = json.loads(m.value())
        if event.get("room_id") == room:
            texts.append(event["text"])
        return bool(texts) and texts[-1] == "the end"

    assert out["last"]["ok"] is True
    assert find_record(settings.kafka.bootstrap_servers, spec.name, collect) is not None
    assert texts == [
        "hello from socket.io-client",
        *[f"flood {i}" for i in range(12 - out["flood_limited"])],
        "the end",
    ]
