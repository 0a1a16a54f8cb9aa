"""A gift sent over Socket.IO on gateway node B is settled by the Faust worker and reaches a
viewer on node A as the room's gift animation, and the sender as a balance update (Redis fan-out)."""

from __future__ import annotations

from collections.abc import Callable

from serving.auth.tokens import issue
from streams.contracts.base import Role
from streams.settings import Settings
from tests.e2e.conftest import open_room, run_js_client
from tests.integration.conftest import Worker, fund


def test_a_settled_gift_reaches_the_room_and_the_sender_across_nodes(
    start_gateway: Callable[[str], str], start_worker: Callable[[], Worker], settings: Settings, unique: str
) -> None:
    sender, viewer, creator = f"sender-{unique}", f"viewer-{unique}", f"creator-{unique}"
    fund(settings.postgres.dsn(), sender, 100)
    worker = start_worker()
    url_a, url_b = start_gateway("gw-a"), start_gateway("gw-b")
    open_room(url_a, settings, f"room-{unique}", creator)
    secret = settings.auth.token_secret.get_secret_value()
    out = run_js_client(
        "gift_fanout.mjs",
        explain=lambda: worker.log()[-3000:],
        timeout_s=120,
        URL_A=url_a,
        URL_B=url_b,
        ROOM=f"room-{unique}",
        CREATOR=creator,
        TOKEN_VIEWER=issue(secret, viewer, [Role.VIEWER]),
        TOKEN_SENDER=issue(secret, sender, [Role.VIEWER]),
    )
    assert out["ack"]["ok"] is True
    assert out["gift"]["gift_id"] == out["ack"]["gift_id"]
    assert (out["gift"]["sender_id"], out["gift"]["total_coins"], out["gift"]["quantity"]) == (sender, 20, 2)
    assert out["balance"] == {"gift_id": out["ack"]["gift_id"], "outcome": "settled", "available": 80}
