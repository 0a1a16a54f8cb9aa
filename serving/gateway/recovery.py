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
from engineio import packet as eio_packet
from socketio import packet as socketio_packet

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
        if message.get("callback") is not None or message.get("binary"):
            await super()._handle_emit(message)
        else:
            self._broadcast(message)

    def _broadcast(self, message: dict[str, Any]) -> None:
        """A room broadcast without a task per recipient: the packet is encoded once and put on
        each local socket's send queue (what python-socketio does through one asyncio task per
        recipient, which costs more CPU than the send itself on a busy node). Relies on
        engine.io's per-socket queue, pinned with python-socketio in uv.lock; the end-to-end
        tests cover it."""
        namespace = message.get("namespace") or "/"
        if namespace not in self.rooms:
            return
        data = message["data"] if isinstance(message["data"], list) else [message["data"]]
        pkt = self.server.packet_class(
            socketio_packet.EVENT, namespace=namespace, data=[message["event"], *data]
        )
        eio_pkt = eio_packet.Packet(eio_packet.MESSAGE, pkt.encode())
        skip = message.get("skip_sid") or []
        skipped = set(skip if isinstance(skip, list) else [skip])
        sockets = self.server.eio.sockets
        for sid, eio_sid in self.get_participants(namespace, message.get("room")):
            if sid in skipped:
                continue
            socket = sockets.get(eio_sid)
            if socket is not None and not socket.closed:
                socket.queue.put_nowait(eio_pkt)
