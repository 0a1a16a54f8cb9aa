"""Exactly-once, in-order recovery for a socket that rejoins a room after a disconnect.

python-socketio has no connection-state recovery. While a rejoining socket is being served its
missed messages from the room's history, this node's Redis manager holds back live room
events for that socket (skipping it in the room broadcast and buffering them), then replays
the buffer, dropping chat the history already delivered (by ``seq``). The replay loop and the
end of recovery run without an await between "buffer empty" and "recovery over", so no live
event can slip between them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from streams.rooms.history import seq_order

Send = Callable[[str, Any], Awaitable[None]]


class RecoveringRedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held: dict[str, dict[str, list[tuple[str, Any]]]] = {}

    def hold(self, room: str, sid: str) -> None:
        self._held.setdefault(room, {})[sid] = []

    async def release(self, room: str, sid: str, after_seq: str | None, send: Send) -> int:
        """Replay what was held for ``sid`` (chat newer than ``after_seq`` only); returns the count."""
        floor = seq_order(after_seq) if after_seq else (0, 0)
        sent = 0
        while True:
            buffered = self._held.get(room, {}).get(sid)
            if not buffered:
                self._held.get(room, {}).pop(sid, None)
                if room in self._held and not self._held[room]:
                    del self._held[room]
                return sent
            self._held[room][sid] = []
            for event, data in buffered:
                if (
                    event == "chat"
                    and isinstance(data, dict)
                    and seq_order(str(data.get("seq", "0-0"))) <= floor
                ):
                    continue
                await send(event, data)
                sent += 1

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        holders = self._held.get(message.get("room") or "")
        if holders and message.get("namespace", "/") in ("/", None) and message.get("callback") is None:
            data = message["data"]
            if isinstance(data, list) and len(data) == 1:
                data = data[0]
            for buffer in holders.values():
                buffer.append((message["event"], data))
            skip = message.get("skip_sid") or []
            message = {**message, "skip_sid": [*(skip if isinstance(skip, list) else [skip]), *holders]}
        await super()._handle_emit(message)
