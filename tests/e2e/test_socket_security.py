"""Sockets as an attacker would use them, with the official JS client: a socket does not outlive
its token, and a number too large for JSON's 64 bits is acknowledged with a reason."""

from __future__ import annotations

import time
from collections.abc import Callable

from serving.auth.tokens import issue
from streams.contracts.base import Role
from streams.settings import Settings
from tests.e2e.conftest import open_room, run_js_client


def test_a_socket_ends_when_its_token_expires(
    start_gateway: Callable[[str], str], settings: Settings, unique: str
) -> None:
    gateway = start_gateway("gw-expiry")
    room, creator = f"room-{unique}", f"creator-{unique}"
    open_room(gateway, settings, room, creator)
    ttl_s = 3
    issued = time.time()
    token = issue(
        settings.auth.token_secret.get_secret_value(), f"viewer-{unique}", [Role.VIEWER], ttl_s=ttl_s
    )
    out = run_js_client(
        "socket_expiry.mjs",
        GATEWAY_URL=gateway,
        TOKEN=token,
        ROOM=room,
        CREATOR=creator,
        EXPIRES_IN_MS=str(int((int(issued) + ttl_s - time.time()) * 1000)),
    )
    assert out["join"] == {"ok": True, "room_id": room}
    assert out["chat_before"]["ok"] is True
    # 10**20 does not fit JSON's 64-bit integers: refused by the quantity's range, not left unanswered.
    assert out["huge_gift"]["ok"] is False
    assert "quantity" in out["huge_gift"]["reason"]
    # The server ends the socket at the token's expiry (not the client, not a timeout).
    assert out["disconnect"] is not None, "the socket outlived its token"
    assert out["disconnect"]["reason"] == "io server disconnect"
    assert out["disconnect"]["after_ms"] <= out["expires_in_ms"] + 2000
