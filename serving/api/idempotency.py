"""Idempotency-Key handling with Stripe semantics, stored in PostgreSQL (on connections of its
own: see :meth:`IdempotencyStore.open_pool`).

Same key, same body: the first response is replayed. Same key, another body: 422. Same key
while the first request still runs: 409, until the claim is older than ``claim_ttl_s`` (the
process that made it died): then a retry of the same request takes it over. A request that fails validation stores nothing, so
the client may fix it and retry with the same key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from serving.exceptions import Conflict, Unprocessable
from streams.postgres.named_sql import load

SQL = load(Path(__file__).with_name("api.sql"))

Handler = Callable[[], Awaitable[tuple[int, dict[str, Any]]]]


def request_hash(endpoint: str, body: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(body or b"{}"), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(endpoint.encode() + b"\n" + canonical).hexdigest()


class IdempotencyStore:
    """``claim_ttl_s``: how long a claim whose request never finished (its process died) blocks
    the key; after that, a retry of the same request takes it over (the operation it guards
    derives its ids from the key, so finishing it twice has one effect)."""

    def __init__(self, pool: AsyncConnectionPool, claim_ttl_s: float = 30.0) -> None:
        self._pool = pool
        self.claim_ttl_s = claim_ttl_s

    @staticmethod
    async def open_pool(dsn: str, max_size: int = 20) -> AsyncConnectionPool:
        """Connections of the store's own: each statement commits by itself (one round trip, no
        BEGIN or COMMIT) and does not wait for its WAL to reach the disk. The operations these
        rows guard derive their ids from (principal, key), so a record lost in a crash only
        costs a harmless replay; the ledger's own pool keeps its commits durable."""
        pool = AsyncConnectionPool(
            dsn,
            min_size=2,
            max_size=max_size,
            kwargs={"autocommit": True, "options": "-c synchronous_commit=off"},
            open=False,
        )
        await pool.open(wait=True, timeout=30)
        return pool

    async def run(
        self, principal: str, key: str | None, endpoint: str, body: bytes, handler: Handler
    ) -> tuple[int, dict[str, Any], bool]:
        """Returns (status, body, replayed)."""
        if not key:
            raise Unprocessable("this endpoint needs an Idempotency-Key header (a unique id per operation)")
        if len(key) > 255:
            raise Unprocessable("Idempotency-Key must be at most 255 characters")
        digest = request_hash(endpoint, body)
        async with self._pool.connection() as conn:
            claimed = await (
                await conn.execute(
                    SQL["claim"],
                    {
                        "principal": principal,
                        "key": key,
                        "endpoint": endpoint,
                        "hash": digest,
                        "claim_ttl_s": self.claim_ttl_s,
                    },
                )
            ).fetchone()
            if claimed is None:
                row = await (
                    await conn.execute(SQL["lookup"], {"principal": principal, "key": key})
                ).fetchone()
                if row is None:  # released between the two statements: treat as running
                    raise Conflict("a request with this Idempotency-Key is in progress; retry shortly")
                endpoint_seen, hash_seen, status, response = row
                if endpoint_seen != endpoint or hash_seen != digest:
                    raise Unprocessable(
                        "this Idempotency-Key was used with a different request; use a new key"
                    )
                if status is None:
                    raise Conflict("a request with this Idempotency-Key is in progress; retry shortly")
                return int(status), dict(response), True
        try:
            status, response = await handler()
        except BaseException:
            async with self._pool.connection() as conn:
                await conn.execute(SQL["release"], {"principal": principal, "key": key})
            raise
        async with self._pool.connection() as conn:
            await conn.execute(
                SQL["complete"],
                {"principal": principal, "key": key, "status": status, "response": Jsonb(response)},
            )
        return status, response, False
