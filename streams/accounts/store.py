"""Accounts in PostgreSQL (``accounts``): a user id, its password hash and its roles."""

from __future__ import annotations

from pathlib import Path

from psycopg_pool import AsyncConnectionPool

from streams.accounts.signin import Account
from streams.contracts.base import Role
from streams.postgres.named_sql import load

SQL = load(Path(__file__).with_name("accounts.sql"))


class PostgresAccounts:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def create(self, user_id: str, password_hash: str, roles: list[Role]) -> bool:
        async with self._pool.connection() as conn:
            row = await (
                await conn.execute(
                    SQL["CREATE"],
                    {"user_id": user_id, "password_hash": password_hash, "roles": [r.value for r in roles]},
                )
            ).fetchone()
        return row is not None

    async def get(self, user_id: str) -> Account | None:
        async with self._pool.connection() as conn:
            row = await (await conn.execute(SQL["ACCOUNT"], {"user_id": user_id})).fetchone()
        return None if row is None else Account(user_id, row[0], [Role(r) for r in row[1]])

    async def rehash(self, user_id: str, password_hash: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(SQL["REHASH"], {"user_id": user_id, "password_hash": password_hash})
