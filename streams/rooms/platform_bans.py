"""Platform-wide bans (trust and safety): a user banned from every room, by an analyst or admin.

The record is PostgreSQL (``platform_bans``, append-only: a lift is a new row); the hot copy is a
Redis key the chat gate and the gift standing check read with the room's own ban, in the same
round trip. ``restore`` puts the hot copies back from the record (after Redis lost them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from streams.postgres.named_sql import load
from streams.store_keys import key_part

SQL = load(Path(__file__).with_name("platform_bans.sql"))


def platform_ban_key(user_id: str) -> str:
    return f"platform:ban:{key_part(user_id)}"


@dataclass(frozen=True)
class BanRecord:
    banned: bool
    actor_id: str
    reason: str
    at: datetime


class PlatformBans:
    def __init__(self, pool: AsyncConnectionPool, redis: Redis) -> None:
        self._pool = pool
        self._redis = redis

    async def set(self, user_id: str, banned: bool, actor_id: str, reason: str = "") -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                SQL["RECORD"], {"user_id": user_id, "banned": banned, "actor_id": actor_id, "reason": reason}
            )
        if banned:
            await self._redis.set(platform_ban_key(user_id), "ban")
        else:
            await self._redis.delete(platform_ban_key(user_id))

    async def history(self, user_id: str) -> list[BanRecord]:
        """Newest first; the first entry says whether the user is banned now."""
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(SQL["HISTORY"], {"user_id": user_id})).fetchall()
        return [BanRecord(*row) for row in rows]

    async def restore(self) -> int:
        """Put every standing ban back in Redis from the record; how many there are."""
        async with self._pool.connection() as conn:
            users = [r[0] for r in await (await conn.execute(SQL["STANDING"])).fetchall()]
        if users:
            pipe = self._redis.pipeline(transaction=False)
            for user_id in users:
                pipe.set(platform_ban_key(user_id), "ban")
            await pipe.execute()
        return len(users)
