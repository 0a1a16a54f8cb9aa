"""The demo's live rooms: two gateway nodes, the Faust worker, real socket.io-client viewers.

A scripted moderation walk-through (cross-node chat, a refused link, an AutoMod hold approved by
a moderator, a ban, a deletion, a reconnect that recovers what it missed), then simulated
viewers over a few rooms with delivery latency and counts.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from ops.js_clients import JsClients
from ops.load import Load, Proc, drive, free_port, launch, plan, stop, wait_http
from ops.seed import open_rooms
from serving.auth.tokens import issue
from streams.contracts.base import Role
from streams.settings import Settings

VIEWERS = Load(clients=120, duration_s=10, rooms=4, hot_share=0.4, reactors=6, settle_ms=1000)


class Api:
    def __init__(self, base: str, secret: str) -> None:
        self.base, self.secret = base, secret

    def token(self, user: str, *roles: Role) -> str:
        return issue(self.secret, user, list(roles or [Role.VIEWER]))

    def __call__(self, method: str, path: str, user: str, role: Role, body: Any = None) -> dict[str, Any]:
        response = httpx.request(
            method,
            self.base + path,
            json=body,
            headers={"Authorization": f"Bearer {self.token(user, role)}"},
            timeout=10,
        )
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        result: dict[str, Any] = response.json()
        return result


def walkthrough(js: JsClients, api: Api, url_a: str, url_b: str, run: str) -> None:
    room, creator, mod = f"{run}-show", f"{run}-creator", f"{run}-mod"
    api("POST", "/v1/rooms", creator, Role.CREATOR, {"room_id": room, "title": "demo show"})
    api("POST", f"/v1/rooms/{room}/moderators", creator, Role.CREATOR, {"user_id": mod})
    api("PUT", f"/v1/rooms/{room}/modes", mod, Role.MODERATOR, {"links_blocked": True, "automod_level": 3})
    for name, url in (("ann", url_a), ("bob", url_b)):
        if js.connect(name, url, api.token(f"{run}-{name}")) is not None:
            raise RuntimeError(f"{name} could not connect")
        js.emit(name, "join", {"room_id": room})

    def say(name: str, text: str) -> str:
        time.sleep(0.5)  # a person typing: stays inside the gateway's per-socket flood limit
        ack = js.emit(name, "chat", {"room_id": room, "text": text})
        if not ack["ok"]:
            raise RuntimeError(f"chat refused at the edge: {ack}")
        return str(ack["message_id"])

    t = time.monotonic()
    hello = say("bob", "hello from node B")
    js.wait_for("ann", "chat", lambda m: m["message_id"] == hello)
    print(f"rooms      bob (node B) -> ann (node A): delivered in {(time.monotonic() - t) * 1000:.0f} ms")
    link = say("bob", "free coins at www.example.com")
    refused = js.wait_for("bob", "chat_rejected", lambda r: r["message_id"] == link)
    print(
        f"rooms      a link in a links-blocked room: refused, bob told why: {refused['reason']} ({refused['detail']})"
    )
    rude = say("bob", "you are an idiot")
    js.wait_for("bob", "chat_held", lambda h: h["message_id"] == rude)
    held = api("GET", f"/v1/rooms/{room}/held", mod, Role.MODERATOR)["items"]
    api("POST", f"/v1/rooms/{room}/held/{rude}/approve", mod, Role.MODERATOR)
    js.wait_for("ann", "chat", lambda m: m["message_id"] == rude)
    print(
        f"rooms      AutoMod held {len(held)} message (score {held[0]['score']}); shown to the room only after the moderator approved it"
    )
    api("DELETE", f"/v1/rooms/{room}/messages/{rude}", mod, Role.MODERATOR)
    js.wait_for("ann", "chat_deleted", lambda d: d["message_id"] == rude)
    print("rooms      the moderator deleted it: removed for everyone, and from the reconnect history")
    left = [say("ann", text) for text in ("this stream is trash, idiot", "you are such an idiot")]
    for message_id in left:

        def held_now(h: dict[str, Any], m: str = message_id) -> bool:
            return bool(h["message_id"] == m)

        js.wait_for("ann", "chat_held", held_now)
    print(
        f"rooms      {len(left)} more messages held by AutoMod, left in the trust-and-safety console's queue"
    )
    js.close("ann")
    missed = [say("bob", f"while ann was away #{i}") for i in range(3)]
    if js.connect("ann2", url_b, api.token(f"{run}-ann")) is not None:
        raise RuntimeError("ann could not reconnect")
    ack = js.emit("ann2", "join", {"room_id": room, "last_message_id": hello})
    js.wait_for("ann2", "chat", lambda m: m["message_id"] == missed[-1])
    got = [m["message_id"] for m in js.received("ann2", "chat")]
    print(
        f"rooms      ann reconnected to node B with her last message id (recovered={ack['recovered']}): the "
        f"{len(missed)} messages she missed arrived in order, exactly once: {got == missed} "
        f"({ack['missed']} from the room's history, the rest live)"
    )
    api("POST", f"/v1/rooms/{room}/bans", mod, Role.MODERATOR, {"user_id": f"{run}-bob", "reason": "demo"})
    banned = say("bob", "am I still here?")
    refusal = js.wait_for("bob", "chat_rejected", lambda r: r["message_id"] == banned)
    print(
        f"rooms      bob banned by the moderator: his next message is refused ({refusal['reason']}); the ban is an audit event on Kafka"
    )


def rooms_demo(settings: Settings, run_id: str, python: str) -> bool:
    ports = [free_port(), free_port()]
    gateways: list[Proc] = [
        launch(
            f"demo-gateway-{i}",
            [python, "-m", "serving.gateway", "--port", str(p), "--node-id", f"demo-gw-{i}"],
        )
        for i, p in enumerate(ports)
    ]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        for url in urls:
            wait_http(url + "/readyz")
        print(f"\nrooms: two gateway nodes ({', '.join(urls)}) and the Faust worker's room agents")
        secret = settings.auth.token_secret.get_secret_value()
        js = JsClients()
        try:
            walkthrough(js, Api(urls[0], secret), urls[0], urls[1], run_id[-24:])
        finally:
            js.shutdown()
        config, rooms = plan(VIEWERS, uuid.uuid4().hex[:6], urls, secret)
        open_rooms(settings, rooms)
        print(
            f"rooms      {VIEWERS.clients} simulated viewers over {VIEWERS.rooms} rooms on both nodes, {VIEWERS.duration_s} s of chat and reactions ..."
        )
        result = drive(config, "demo", [])
        print(
            f"rooms      chat: {result['chat_sent']} messages -> {result['deliveries']}/{result['expected_deliveries']} deliveries "
            f"({result['deliveries_per_s']:.0f}/s), sender -> every receiver p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms"
        )
        print(
            f"rooms      reactions: {result['reaction_taps_sent']} taps -> {result['reaction_messages_received']} coalesced "
            f"bursts received; occupancy last broadcast: {sorted(result['occupancy_last_seen'].values(), reverse=True)} viewers"
        )
        return bool(result["deliveries"] == result["expected_deliveries"])
    finally:
        stop(gateways)
