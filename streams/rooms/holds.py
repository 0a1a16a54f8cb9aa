"""The AutoMod hold queue in PostgreSQL: held once per message, decided once, by a moderator."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from streams.contracts.chat import ChatMessageSubmitted
from streams.rooms.directory import SQL, RoomError


class HoldAlreadyDecided(RoomError):
    """The hold was decided before: who decided what is in the message and the attributes."""

    def __init__(self, message_id: uuid.UUID, decision: str, decided_by: str) -> None:
        super().__init__(f"message {message_id} was already {decision} by {decided_by}")
        self.decision = decision
        self.decided_by = decided_by


class UnknownHold(RoomError):
    pass


@dataclass(frozen=True)
class HeldMessage:
    message: ChatMessageSubmitted
    score: float
    held_reason: str
    held_at: datetime


def _held(row: Any) -> HeldMessage:
    message = ChatMessageSubmitted.model_validate_json(orjson.dumps(row[0]))
    return HeldMessage(message, float(row[1]), row[2], row[3])


class ChatHolds:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def hold(self, message: ChatMessageSubmitted, score: float, reason: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                SQL["HOLD"],
                {
                    "message_id": message.message_id,
                    "room_id": message.room_id,
                    "user_id": message.user_id,
                    "submitted": Jsonb(message.model_dump(mode="json")),
                    "score": score,
                    "held_reason": reason,
                },
            )

    async def open(self, room_id: str, limit: int = 100) -> list[HeldMessage]:
        async with self._pool.connection() as conn:
            rows = await (
                await conn.execute(SQL["OPEN_HOLDS"], {"room_id": room_id, "limit": limit})
            ).fetchall()
        return [_held(r) for r in rows]

    async def recent(self, limit: int = 100) -> list[HeldMessage]:
        """Undecided holds in every room, newest first (the analysts' queue)."""
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(SQL["OPEN_HOLDS_ALL"], {"limit": limit})).fetchall()
        return [_held(r) for r in rows]

    async def find(self, message_id: uuid.UUID) -> HeldMessage:
        """One hold, decided or not; UnknownHold if the message was never held."""
        async with self._pool.connection() as conn:
            row = await (await conn.execute(SQL["FIND_HOLD"], {"message_id": message_id})).fetchone()
        if row is None:
            raise UnknownHold(f"no message {message_id} is held")
        return _held(row)

    async def decide(
        self, room_id: str, message_id: uuid.UUID, decision: Literal["approved", "denied"], by: str
    ) -> ChatMessageSubmitted:
        """Mark the hold decided (exactly once) and return the held message."""
        async with self._pool.connection() as conn, conn.transaction():
            row = await (
                await conn.execute(SQL["CLAIM_HOLD"], {"message_id": message_id, "room_id": room_id})
            ).fetchone()
            if row is None:
                raise UnknownHold(f"no message {message_id} is held in room {room_id}")
            if row[1] is not None:
                raise HoldAlreadyDecided(message_id, row[1], row[2])
            await conn.execute(SQL["DECIDE_HOLD"], {"message_id": message_id, "decision": decision, "by": by})
        return ChatMessageSubmitted.model_validate_json(orjson.dumps(row[0]))
