"""The gift fan-out agent: gifts.outcomes -> Socket.IO rooms on every gateway node (via Redis)."""

from __future__ import annotations

from typing import Any

import socketio

from streams.bus.deadletter import DeadLetterPublisher
from streams.bus.faust_io import process_events
from streams.contracts.base import Event
from streams.contracts.gifts import GiftRejected, GiftSettled
from streams.fanout.gifts import fan_out_gift
from streams.fanout.ports import RoomEmitter
from streams.faust_app import PlatformApp
from streams.topics import TOPICS


class RedisRoomEmitter:
    """python-socketio's write-only Redis manager: emits without being a Socket.IO server."""

    def __init__(self, redis_url: str) -> None:
        self._manager = socketio.AsyncRedisManager(redis_url, write_only=True)

    async def emit(self, event: str, data: dict[str, Any], room: str) -> None:
        await self._manager.emit(event, data, room=room, namespace="/")


def register_gift_fanout(app: PlatformApp, emitter: RoomEmitter, dead_letters: DeadLetterPublisher) -> Any:
    spec = TOPICS.for_event(GiftSettled)

    @app.agent(app.raw_topic(spec), name="gift-fanout")
    async def gift_fanout(stream: Any) -> None:
        async def handle(event: Event) -> None:
            if isinstance(event, GiftSettled | GiftRejected):
                await fan_out_gift(event, emitter)

        await process_events(stream, spec, dead_letters, handle, agent="gift-fanout")

    return gift_fanout
