"""PostgreSQL and Redis adapters for the probe ports."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from streams.contracts.probes import PlatformProbe

INSERT_RECEIPT = """
INSERT INTO probe_receipts (event_id, run_id, seq, occurred_at, consumer)
VALUES (%(event_id)s, %(run_id)s, %(seq)s, %(occurred_at)s, %(consumer)s)
ON CONFLICT (event_id) DO NOTHING
"""


class PostgresProbeReceipts:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def record(self, probe: PlatformProbe, consumer: str) -> bool:
        async with self._pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                INSERT_RECEIPT,
                {
                    "event_id": probe.event_id,
                    "run_id": probe.run_id,
                    "seq": probe.seq,
                    "occurred_at": probe.occurred_at,
                    "consumer": consumer,
                },
            )
            return cursor.rowcount == 1


class RedisAnnouncer:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def announce(self, channel: str, payload: bytes) -> None:
        await self._redis.publish(channel, payload)
