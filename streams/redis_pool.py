"""One way to open Redis: a bounded, blocking connection pool.

redis-py's default pool refuses a request with "Too many connections" once a burst outgrows it
(hundreds of sockets joining at once); a blocking pool makes the burst wait for a connection
instead, which is the back-pressure we want.
"""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis


def connect_redis(url: str, max_connections: int = 64, wait_s: float = 10.0) -> Redis:
    pool = BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=wait_s)
    return Redis(connection_pool=pool)
