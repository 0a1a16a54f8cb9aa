"""Setup shared by the demo, the benchmarks and the tests: open rooms for creators directly in
the room directory (PostgreSQL + Redis), as a creator would through ``POST /v1/rooms``, and put
coins in wallets directly in the ledger, as a captured top-up would."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence

from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from streams.ledger.model import COIN_ISSUANCE, COINS, AccountKind, Flags, Transfer, account
from streams.ledger.store import PostgresLedger
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


async def fund_wallets(
    ledger: PostgresLedger, users: Sequence[str], coins: int, reference: str = "seed"
) -> None:
    """``coins`` into each user's wallet: one posted top-up each, in transactions of 500."""
    transfers = [
        Transfer(
            uuid.uuid4(),
            uuid.uuid4(),
            "topup",
            Flags.POSTED,
            COINS,
            coins,
            COIN_ISSUANCE,
            account(AccountKind.USER_COINS, user),
            reference,
        )
        for user in users
    ]
    for lo in range(0, len(transfers), 500):
        await ledger.post(transfers[lo : lo + 500])
