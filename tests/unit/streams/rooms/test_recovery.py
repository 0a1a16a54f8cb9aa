"""The gateway's recovery buffer: live events for a recovering socket are held, then replayed
without the chat the history already delivered."""

from __future__ import annotations

from typing import Any

from serving.gateway.recovery import RecoveringRedisManager


class Manager(RecoveringRedisManager):
    def __init__(self) -> None:  # no Redis: only the holding logic is under test
        self._held = {}
        self.broadcast: list[dict[str, Any]] = []

    def _broadcast(self, message: dict[str, Any]) -> None:  # the room broadcast itself
        self.broadcast.append(message)


async def test_held_events_are_replayed_once_and_in_order() -> None:
    manager = Manager()
    manager.hold("room", "sid-1")

    def chat(seq: str) -> dict[str, Any]:
        return {"event": "chat", "data": [{"seq": seq, "message_id": seq}], "room": "room", "namespace": "/"}

    await manager._handle_emit(chat("100-0"))  # already in the history the socket got
    await manager._handle_emit({"event": "chat_deleted", "data": [{"message_id": "x"}], "room": "room"})
    await manager._handle_emit(chat("101-0"))  # newer than the history
    await manager._handle_emit({"event": "chat", "data": [{"seq": "5-0"}], "room": "other"})
    # The recovering socket is skipped in the room broadcast, other sockets still get everything.
    assert [m.get("skip_sid") for m in manager.broadcast[:3]] == [["sid-1"]] * 3
    assert manager.broadcast[3].get("skip_sid") is None

    sent: list[tuple[str, Any]] = []

    async def send(event: str, data: Any) -> None:
        sent.append((event, data))
        if len(sent) == 1:  # a live event arriving during the replay is held too, then replayed
            await manager._handle_emit(chat("102-0"))

    assert await manager.release("room", "sid-1", "100-0", send) == 3
    assert [(e, d.get("seq")) for e, d in sent] == [
        ("chat_deleted", None),
        ("chat", "101-0"),
        ("chat", "102-0"),
    ]
    await manager._handle_emit(chat("103-0"))
    assert manager.broadcast[-1].get("skip_sid") is None  # recovery over: live again
