"""Live rooms end to end: two gateway nodes, the Faust worker, Kafka, Redis and PostgreSQL, all
real, with official socket.io-client sockets as the viewers, moderators and creators."""

from __future__ import annotations

import os
import signal
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ops.js_clients import JsClients
from serving.auth.tokens import issue
from streams.bus.deadletter import reason_of
from streams.bus.wire import KafkaWire
from streams.contracts.base import Role
from streams.contracts.chat import ChatMessageAccepted, ChatMessageSubmitted
from streams.contracts.codec import decode
from streams.contracts.moderation import ModerationAction
from streams.settings import Settings
from streams.topics import TOPICS
from tests.e2e.conftest import launch_gateway
from tests.integration.conftest import Worker, eventually, read_topic, stop_process

ROOM_ENV = {
    "ROOMS_CHAT_LIMIT": "6",
    "ROOMS_SOCKET_CHAT_PER_S": "50",
    "ROOMS_SOCKET_CHAT_BURST": "50",
    "ROOMS_NODE_HEARTBEAT_S": "0.5",
    "ROOMS_NODE_TTL_S": "2",
    "ROOMS_OCCUPANCY_INTERVAL_S": "0.5",
}


@dataclass
class Platform:
    settings: Settings
    url_a: str
    url_b: str
    log_dir: Path
    worker: Worker

    def token(self, user: str, *roles: Role) -> str:
        return issue(self.settings.auth.token_secret.get_secret_value(), user, list(roles or [Role.VIEWER]))

    def api(self, method: str, path: str, user: str, *roles: Role, json: Any = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token(user, *roles)}"}
        return httpx.request(method, self.url_a + path, headers=headers, json=json, timeout=10)

    def open_room(self, tag: str, **modes: Any) -> tuple[str, str]:
        """A new room and its creator; modes set through the moderation API."""
        room, creator = f"room-{tag}-{uuid.uuid4().hex[:6]}", f"creator-{uuid.uuid4().hex[:6]}"
        assert self.api("POST", "/v1/rooms", creator, Role.CREATOR, json={"room_id": room}).status_code == 201
        if modes:
            response = self.api("PUT", f"/v1/rooms/{room}/modes", creator, Role.CREATOR, json=modes)
            assert response.status_code == 200, response.text
        return room, creator


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    settings = Settings()
    log_dir = tmp_path_factory.mktemp("rooms")
    worker = Worker(
        f"rooms-{uuid.uuid4().hex[:8]}", log_dir / "worker.log", settings.kafka.bootstrap_servers, ROOM_ENV
    )
    proc_a, url_a = launch_gateway("gw-a", log_dir, ROOM_ENV)
    proc_b, url_b = launch_gateway("gw-b", log_dir, ROOM_ENV)
    yield Platform(settings, url_a, url_b, log_dir, worker)
    for proc in (proc_a, proc_b):
        stop_process(proc)
    worker.stop()


@pytest.fixture
def js() -> Iterator[JsClients]:
    clients = JsClients()
    yield clients
    clients.shutdown()


def join(
    js: JsClients, platform: Platform, name: str, url: str, room: str, *roles: Role, user: str = ""
) -> None:
    assert js.connect(name, url, platform.token(user or name, *roles)) is None
    assert js.emit(name, "join", {"room_id": room})["ok"] is True


def chat(js: JsClients, name: str, room: str, text: str) -> str:
    ack = js.emit(name, "chat", {"room_id": room, "text": text})
    assert ack["ok"] is True, ack
    return str(ack["message_id"])


def test_chat_sent_on_node_b_reaches_a_viewer_on_node_a(platform: Platform, js: JsClients) -> None:
    room, _ = platform.open_room("cross")
    join(js, platform, "ann", platform.url_a, room)
    join(js, platform, "bob", platform.url_b, room)
    message_id = chat(js, "bob", room, "hello from node B")
    seen = js.wait_for("ann", "chat", lambda m: m["message_id"] == message_id, timeout_s=30)
    assert (seen["user_id"], seen["text"], seen["room_id"]) == ("bob", "hello from node B", room)
    assert seen["seq"]
    js.wait_for("bob", "chat", lambda m: m["message_id"] == message_id)


def test_the_room_rules_reject_with_reasons(platform: Platform, js: JsClients) -> None:
    room, _creator = platform.open_room("rules")
    join(js, platform, "rex", platform.url_a, room)
    join(js, platform, "watcher", platform.url_b, room)

    def rejection(message_id: str) -> dict[str, Any]:
        return js.wait_for("rex", "chat_rejected", lambda r: r["message_id"] == message_id)

    # Rate limit: six per window here, the seventh is refused with when to retry.
    ids = [chat(js, "rex", room, f"message {i}") for i in range(7)]
    refused = rejection(ids[-1])
    assert refused["reason"] == "rate_limited"
    assert refused["retry_after_ms"] > 0
    js.wait_for("watcher", "chat", lambda m: m["message_id"] == ids[5])
    assert ids[6] not in {m["message_id"] for m in js.received("watcher", "chat")}

    room2, _creator2 = platform.open_room("modes", slow_mode_s=30)
    join(js, platform, "sam", platform.url_a, room2)
    first, second = chat(js, "sam", room2, "first"), chat(js, "sam", room2, "second")
    js.wait_for("sam", "chat", lambda m: m["message_id"] == first)
    slow = js.wait_for("sam", "chat_rejected", lambda r: r["message_id"] == second)
    assert slow["reason"] == "slow_mode"
    assert 0 < slow["retry_after_ms"] <= 30_000

    room3, creator3 = platform.open_room("unique", unique_chat=True, links_blocked=True, emote_only=False)
    terms = platform.api(
        "PUT", f"/v1/rooms/{room3}/banned-terms", creator3, Role.CREATOR, json={"terms": ["Spoiler"]}
    )
    assert terms.json()["terms"] == ["spoiler"]
    join(js, platform, "uma", platform.url_b, room3)
    once, again = chat(js, "uma", room3, "GG well played"), chat(js, "uma", room3, "gg  well played")
    js.wait_for("uma", "chat", lambda m: m["message_id"] == once)
    reasons = {
        again: "duplicate",
        chat(js, "uma", room3, "big spoilér ahead"): "banned_term",
        chat(js, "uma", room3, "visit www.example.com now"): "link_blocked",
    }
    for message_id, reason in reasons.items():
        assert (
            js.wait_for("uma", "chat_rejected", lambda r, m=message_id: r["message_id"] == m)["reason"]
            == reason
        )
    # The creator is exempt from the room's modes.
    join(js, platform, "boss", platform.url_a, room3, Role.CREATOR, user=creator3)
    link = chat(js, "boss", room3, "my schedule: www.example.com")
    js.wait_for("uma", "chat", lambda m: m["message_id"] == link)


def test_a_held_message_appears_only_after_a_moderator_approves_it(platform: Platform, js: JsClients) -> None:
    room, creator = platform.open_room("held", automod_level=4)
    mod = f"mod-{uuid.uuid4().hex[:6]}"
    appointed = platform.api(
        "POST", f"/v1/rooms/{room}/moderators", creator, Role.CREATOR, json={"user_id": mod}
    )
    assert appointed.status_code == 200, appointed.text
    join(js, platform, "vic", platform.url_a, room)
    join(js, platform, "wes", platform.url_b, room)
    join(js, platform, "mod", platform.url_b, room, Role.MODERATOR, user=mod)
    held_id = chat(js, "vic", room, "you are such an idiot")
    assert js.wait_for("vic", "chat_held", lambda h: h["message_id"] == held_id)["reason"]
    js.wait_for("mod", "held_message", lambda h: h["message_id"] == held_id)
    queue = platform.api("GET", f"/v1/rooms/{room}/held", mod, Role.MODERATOR).json()["items"]
    assert [h["message_id"] for h in queue] == [held_id]
    assert held_id not in {m["message_id"] for m in js.received("wes", "chat")}
    # A viewer cannot see or decide the queue; the appointed moderator can.
    assert platform.api("GET", f"/v1/rooms/{room}/held", "wes").status_code == 403
    approved = platform.api("POST", f"/v1/rooms/{room}/held/{held_id}/approve", mod, Role.MODERATOR)
    assert approved.status_code == 200, approved.text
    released = js.wait_for("wes", "chat", lambda m: m["message_id"] == held_id)
    assert released["text"] == "you are such an idiot"
    assert (
        platform.api("POST", f"/v1/rooms/{room}/held/{held_id}/approve", mod, Role.MODERATOR).status_code
        == 409
    )

    denied_id = chat(js, "vic", room, "shut up loser")
    js.wait_for("vic", "chat_held", lambda h: h["message_id"] == denied_id)
    assert (
        platform.api("POST", f"/v1/rooms/{room}/held/{denied_id}/deny", mod, Role.MODERATOR).status_code
        == 200
    )
    refusal = js.wait_for("vic", "chat_rejected", lambda r: r["message_id"] == denied_id)
    assert refusal["reason"] == "held_denied"


def test_the_toxicity_classifier_holds_and_refuses_where_on_and_only_records_in_shadow(
    platform: Platform, js: JsClients
) -> None:
    """The worker's real classifier (the model shipped in alt-profanity-check)."""
    room, creator = platform.open_room(
        "toxic", automod_level=0, toxicity="on", toxicity_hold_at=0.9, toxicity_refuse_at=0.9999
    )
    join(js, platform, "tom", platform.url_a, room)
    join(js, platform, "una", platform.url_b, room)
    friendly = chat(js, "tom", room, "thanks for the stream, see you tomorrow")
    held = chat(js, "tom", room, "dumbass streamer cant even aim")  # scores 0.97
    refused = chat(js, "tom", room, "you are a fucking idiot")
    js.wait_for("una", "chat", lambda m: m["message_id"] == friendly)
    assert js.wait_for("tom", "chat_held", lambda h: h["message_id"] == held)["reason"].startswith("toxicity")
    refusal = js.wait_for("tom", "chat_rejected", lambda r: r["message_id"] == refused)
    assert refusal["reason"] == "toxic"
    queue = platform.api("GET", f"/v1/rooms/{room}/held", creator, Role.CREATOR).json()["items"]
    assert [(h["message_id"], h["score"] >= 0.9) for h in queue] == [(held, True)]

    # The same words in a room left in shadow mode (the default): delivered, and what the
    # classifier would have done is on the decision event (and so in the warehouse).
    shadow_room, _ = platform.open_room("shadow", automod_level=0)
    join(js, platform, "val", platform.url_a, shadow_room)
    said = chat(js, "val", shadow_room, "you are a fucking idiot")
    js.wait_for("val", "chat", lambda m: m["message_id"] == said)
    spec = TOPICS.for_event(ChatMessageAccepted)
    # Match on the raw bytes first: the topic also carries other tests' poison records, which
    # are the sink's dead letters to deal with, not this reader's.
    record = read_topic(platform.settings, spec.name, lambda m: said.encode() in (m.value() or b""))
    decision = decode(record.value(), spec.events)
    assert isinstance(decision, ChatMessageAccepted)
    assert decision.toxicity is not None
    assert decision.toxicity > 0.999
    assert decision.toxicity_shadow == "hold", "the default thresholds: hold at 0.9, never refuse"


def test_bans_and_timeouts_stop_a_user_and_are_audited(platform: Platform, js: JsClients) -> None:
    room, creator = platform.open_room("ban")
    join(js, platform, "troll", platform.url_a, room)
    join(js, platform, "fan", platform.url_b, room)
    assert platform.api("POST", f"/v1/rooms/{room}/bans", "fan", json={"user_id": "troll"}).status_code == 403
    banned = platform.api(
        "POST", f"/v1/rooms/{room}/bans", creator, Role.CREATOR, json={"user_id": "troll", "reason": "spam"}
    )
    assert banned.status_code == 200, banned.text
    notice = js.wait_for("fan", "moderation", lambda m: m["kind"] == "ban")
    assert (notice["target_user_id"], notice["actor_id"]) == ("troll", creator)
    attempt = chat(js, "troll", room, "am I still here?")
    assert js.wait_for("troll", "chat_rejected", lambda r: r["message_id"] == attempt)["reason"] == "banned"
    assert attempt not in {m["message_id"] for m in js.received("fan", "chat")}
    record = read_topic(
        platform.settings,
        TOPICS.for_event(ModerationAction).name,
        lambda m: banned.json()["action_id"].encode() in (m.value() or b""),
    )
    action = ModerationAction.model_validate_json(record.value())
    assert (action.kind.value, action.actor_id, action.actor_role, action.reason) == (
        "ban",
        creator,
        Role.CREATOR,
        "spam",
    )

    platform.api("DELETE", f"/v1/rooms/{room}/bans/troll", creator, Role.CREATOR)
    platform.api(
        "POST",
        f"/v1/rooms/{room}/timeouts",
        creator,
        Role.CREATOR,
        json={"user_id": "troll", "duration_s": 60},
    )
    timed = chat(js, "troll", room, "and now?")
    refusal = js.wait_for("troll", "chat_rejected", lambda r: r["message_id"] == timed)
    assert refusal["reason"] == "timed_out"
    assert 50_000 < refusal["retry_after_ms"] <= 60_000
    assert (
        platform.api(
            "POST", f"/v1/rooms/{room}/bans", creator, Role.CREATOR, json={"user_id": creator}
        ).status_code
        == 409
    )


def test_a_deleted_message_disappears_for_everyone(platform: Platform, js: JsClients) -> None:
    room, creator = platform.open_room("delete")
    join(js, platform, "ava", platform.url_a, room)
    join(js, platform, "ben", platform.url_b, room)
    join(js, platform, "cat", platform.url_b, room)
    anchor = chat(js, "ava", room, "anchor")
    js.wait_for("ben", "chat", lambda m: m["message_id"] == anchor)
    js.close("ben")
    keep, drop = chat(js, "ava", room, "keep me"), chat(js, "ava", room, "delete me")
    js.wait_for("ava", "chat", lambda m: m["message_id"] == drop)
    deleted = platform.api("DELETE", f"/v1/rooms/{room}/messages/{drop}", creator, Role.CREATOR)
    assert deleted.status_code == 200, deleted.text
    for name in ("ava", "cat"):  # on both nodes
        assert js.wait_for(name, "chat_deleted", lambda d: d["message_id"] == drop)["room_id"] == room
    # Ben was away: recovering from the anchor brings the kept message, never the deleted one.
    assert js.connect("ben2", platform.url_b, platform.token("ben")) is None
    ack = js.emit("ben2", "join", {"room_id": room, "last_message_id": anchor})
    assert ack == {"ok": True, "room_id": room, "recovered": True, "missed": 1}
    assert [m["message_id"] for m in js.received("ben2", "chat")] == [keep]
    assert platform.api("DELETE", f"/v1/rooms/{room}/messages/{keep}", "ben").status_code == 403


def test_reconnect_recovers_missed_messages_once_and_in_order(platform: Platform, js: JsClients) -> None:
    room, _creator = platform.open_room("recover")
    join(js, platform, "kim", platform.url_a, room)
    join(js, platform, "lee", platform.url_b, room)
    join(js, platform, "max", platform.url_b, room)
    seen = chat(js, "lee", room, "before the drop")
    js.wait_for("kim", "chat", lambda m: m["message_id"] == seen)
    js.close("kim")
    missed = [chat(js, "lee", room, f"while away {i}") for i in range(5)]
    js.wait_for("max", "chat", lambda m: m["message_id"] == missed[-1])

    # More messages arrive while kim rejoins, racing the recovery.
    racing: list[str] = []
    sender = threading.Thread(
        target=lambda: racing.extend(chat(js, "max", room, f"racing {i}") for i in range(5))
    )
    assert js.connect("kim2", platform.url_a, platform.token("kim")) is None
    sender.start()
    ack = js.emit("kim2", "join", {"room_id": room, "last_message_id": seen})
    sender.join()
    assert ack["ok"] is True
    assert ack["recovered"] is True
    assert ack["missed"] >= 5
    js.wait_for("kim2", "chat", lambda m: m["message_id"] == racing[-1])
    js.wait_for("max", "chat", lambda m: m["message_id"] == racing[-1])
    got = [m["message_id"] for m in js.received("kim2", "chat")]
    expected = [m["message_id"] for m in js.received("max", "chat") if m["message_id"] != seen]
    assert got == expected  # every message after the last one seen: once each, in room order
    assert got[:5] == missed
    seqs = [tuple(map(int, m["seq"].split("-"))) for m in js.received("kim2", "chat")]
    assert seqs == sorted(seqs)


def test_occupancy_counts_both_nodes_and_forgets_a_killed_one(platform: Platform, js: JsClients) -> None:
    room, _ = platform.open_room("presence")
    proc_c, url_c = launch_gateway("gw-c", platform.log_dir, ROOM_ENV)
    try:
        join(js, platform, "oa", platform.url_a, room)
        join(js, platform, "ob", platform.url_b, room)
        join(js, platform, "oc1", url_c, room)
        join(js, platform, "oc2", url_c, room, user="oc1")  # one viewer, two connections
        full = js.wait_for("oa", "occupancy", lambda o: o["connections"] == 4)
        assert full["viewers"] == 3
        os.kill(proc_c.pid, signal.SIGKILL)  # no goodbyes: only the missing heartbeat tells
        proc_c.wait(10)
        after = js.wait_for("oa", "occupancy", lambda o: o["connections"] == 2, timeout_s=15)
        assert after["viewers"] == 2
    finally:
        if proc_c.poll() is None:
            stop_process(proc_c)


def test_reactions_are_coalesced_into_bursts(platform: Platform, js: JsClients) -> None:
    room, _ = platform.open_room("react")
    join(js, platform, "r1", platform.url_a, room)
    join(js, platform, "r2", platform.url_b, room)
    for i in range(20):
        assert js.emit(
            "r1" if i % 2 else "r2", "react", {"room_id": room, "reaction": "heart" if i % 4 else "fire"}
        )["ok"]
    eventually(
        lambda: sum(b["total"] for b in js.received("r1", "reactions")) >= 20, 20, "20 reactions in bursts"
    )
    bursts = js.received("r1", "reactions")
    assert sum(b["counts"].get("heart", 0) for b in bursts) == 15
    assert sum(b["counts"].get("fire", 0) for b in bursts) == 5
    assert len(bursts) < 20  # merged, not one message per tap
    assert max(b["unique_users"] for b in bursts) <= 2


def test_unknown_rooms_and_poison_records(platform: Platform, js: JsClients) -> None:
    assert js.connect("nobody", platform.url_a, platform.token("nobody")) is None
    assert js.emit("nobody", "join", {"room_id": "no-such-room"}) == {
        "ok": False,
        "reason": "there is no room no-such-room",
    }
    assert js.emit("nobody", "join", {"room_id": "bad room!"})["ok"] is False
    # A malformed record on chat.submitted goes to its dead-letter topic with the reason; chat
    # carries on.
    spec = TOPICS.for_event(ChatMessageSubmitted)
    poison_key = f"poison-{uuid.uuid4().hex}".encode()
    with KafkaWire(platform.settings.kafka.bootstrap_servers, client_id="poison-test") as wire:
        wire.produce(spec.name, b'{"text": "no envelope"}', key=poison_key).result(10)
    room, _ = platform.open_room("after-poison")
    join(js, platform, "pa", platform.url_a, room)
    after = chat(js, "pa", room, "still working")
    js.wait_for("pa", "chat", lambda m: m["message_id"] == after)
    dead = read_topic(platform.settings, spec.dead_letter, lambda m: m.key() == poison_key)
    info = reason_of(dead.headers())
    assert (info.topic, info.consumer) == (spec.name, platform.worker.app_id)
    assert "room_id: Field required" in info.reason
