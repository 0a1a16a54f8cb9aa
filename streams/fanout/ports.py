"""What fan-out needs: something that emits to a Socket.IO room on every gateway node."""

from __future__ import annotations

from typing import Any, Protocol

from streams.store_keys import key_part


class RoomEmitter(Protocol):
    async def emit(self, event: str, data: dict[str, Any], room: str) -> None: ...


def user_room(user_id: str) -> str:
    """Every connection of a user joins this room, so per-user updates reach all their devices."""
    return f"user:{key_part(user_id)}"


def moderators_room(room_id: str) -> str:
    """The room's moderators (and creator) also join this room: held messages, the audit trail."""
    return f"mods:{key_part(room_id)}"
