"""The AutoMod hold queue in PostgreSQL: held once per message, decided once, by a moderator."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import orjson
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from streams.contracts.chat import ChatMessageSubmitted
from streams.rooms.directory import SQL, RoomError


class HoldAlreadyDecided(RoomError):
    pass


class UnknownHold(RoomError):
    pass


@dataclass(frozen=True)
class HeldMessage:
    message: ChatMessageSubmitted
    score: float
    held_reason: str
    held_at: datetime


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
        return [
            HeldMessage(ChatMessageSubmitted.model_validate_json(orjson.dumps(r[0])), float(r[1]), r[2], r[3])
            for r in rows
        ]

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
                raise HoldAlreadyDecided(f"message {message_id} was already {row[1]}")
            await conn.execute(SQL["DECIDE_HOLD"], {"message_id": message_id, "decision": decision, "by": by})
        return ChatMessageSubmitted.model_validate_json(orjson.dumps(row[0]))
