"""Setup shared by the demo, the benchmarks and the tests: open rooms for creators directly in
the room directory (PostgreSQL + Redis), as a creator would through ``POST /v1/rooms``."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from streams.rooms.directory import RoomDirectory
from streams.settings import Settings


def live_room(creator_id: str) -> str:
    """The room a creator's gifts go to in seeded data."""
    return f"{creator_id}-live"[-64:]


async def open_rooms_async(settings: Settings, rooms: Mapping[str, str]) -> None:
    """``rooms``: room id -> creator id. Idempotent."""
    pool = AsyncConnectionPool(settings.postgres.dsn(), min_size=1, max_size=4, open=False)
    await pool.open(wait=True, timeout=30)
    redis = Redis.from_url(settings.redis.url)
    try:
        directory = RoomDirectory(pool, redis)
        for room_id, creator_id in rooms.items():
            await directory.create(room_id, creator_id)
    finally:
        await redis.aclose()
        await pool.close()


def open_rooms(settings: Settings, rooms: Mapping[str, str]) -> None:
    asyncio.run(open_rooms_async(settings, rooms))
