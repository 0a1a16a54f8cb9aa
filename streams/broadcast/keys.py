"""Stream keys: issued to a creator for one room, checked by the media tier on every publish.

The key is a secret shown once; PostgreSQL keeps only its SHA-256. Rotating revokes the
previous key (a revoked key is refused with its own reason, so the creator knows to update OBS).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

from psycopg_pool import AsyncConnectionPool

from streams.exceptions import PlatformError
from streams.postgres.named_sql import load

SQL = load(Path(__file__).with_name("keys.sql"))
KEY_PREFIX = "live_"


class KeyRefused(PlatformError):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Stream:
    stream_id: str
    creator_id: str
    room_id: str


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class StreamKeys:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def issue(self, creator_id: str, room_id: str) -> tuple[Stream, str]:
        """The room's stream (created on first use) and a fresh key; any previous key is revoked."""
        key = KEY_PREFIX + secrets.token_urlsafe(24)
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(
                SQL["CREATE_STREAM"],
                {"stream_id": f"st_{uuid.uuid4().hex[:16]}", "creator_id": creator_id, "room_id": room_id},
            )
            row = await (await conn.execute(SQL["STREAM_OF_ROOM"], {"room_id": room_id})).fetchone()
            assert row is not None
            stream = Stream(*row)
            if stream.creator_id != creator_id:
                raise KeyRefused("not_yours", f"room {room_id} streams for {stream.creator_id}")
            await conn.execute(SQL["REVOKE_KEYS"], {"stream_id": stream.stream_id})
            await conn.execute(SQL["ADD_KEY"], {"key_sha256": _digest(key), "stream_id": stream.stream_id})
        return stream, key

    async def revoke(self, stream_id: str) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(SQL["REVOKE_KEYS"], {"stream_id": stream_id})

    async def stream(self, stream_id: str) -> Stream | None:
        async with self.pool.connection() as conn:
            row = await (await conn.execute(SQL["STREAM"], {"stream_id": stream_id})).fetchone()
        return Stream(*row) if row else None

    async def streams_of(self, creator_id: str) -> list[Stream]:
        async with self.pool.connection() as conn:
            rows = await (
                await conn.execute(SQL["STREAMS_OF_CREATOR"], {"creator_id": creator_id})
            ).fetchall()
        return [Stream(*row) for row in rows]

    async def authorize(self, key: str) -> Stream:
        """The stream this key publishes, or :class:`KeyRefused` (unknown or revoked)."""
        if not key.startswith(KEY_PREFIX) or len(key) > 128:
            raise KeyRefused("unknown_key", "this is not a stream key issued by the platform")
        async with self.pool.connection() as conn:
            row = await (await conn.execute(SQL["KEY"], {"key_sha256": _digest(key)})).fetchone()
        if row is None:
            raise KeyRefused("unknown_key", "unknown stream key")
        if row[3]:
            raise KeyRefused("revoked_key", "this stream key was revoked; copy the new key into your encoder")
        return Stream(row[0], row[1], row[2])
