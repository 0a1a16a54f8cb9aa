"""Top-ups and provider notices in PostgreSQL (the adapter behind ``streams.wallet.topups``)."""

from __future__ import annotations

import uuid
from pathlib import Path

from psycopg_pool import AsyncConnectionPool

from streams.postgres.named_sql import load
from streams.wallet.topups import ProviderNotice, SeenNotice, TopUp

SQL = load(Path(__file__).with_name("topups.sql"))


class PostgresTopUps:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def record(self, topup: TopUp) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                SQL["record_topup"],
                {
                    "topup_id": topup.topup_id,
                    "user_id": topup.user_id,
                    "amount_cents": topup.amount_cents,
                    "currency": topup.currency,
                    "coins": topup.coins,
                    "instrument": topup.payment_instrument_id,
                },
            )

    async def get(self, topup_id: uuid.UUID) -> TopUp | None:
        async with self._pool.connection() as conn:
            row = await (await conn.execute(SQL["topup"], {"topup_id": topup_id})).fetchone()
        return None if row is None else TopUp(*row)

    async def claim_notice(self, notice: ProviderNotice) -> SeenNotice | None:
        claim = {"id": notice.id, "type": notice.type, "topup_id": notice.topup_id}
        async with self._pool.connection() as conn:
            if await (await conn.execute(SQL["claim_webhook"], claim)).fetchone():
                return None
            row = await (await conn.execute(SQL["webhook_seen"], {"id": notice.id})).fetchone()
        if row is None:  # the claim lost to a row deleted since: nothing deletes them
            raise RuntimeError(f"webhook event {notice.id} neither claimed nor recorded")
        return SeenNotice(row[0], row[1], bool(row[2]))

    async def complete_notice(self, notice_id: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(SQL["complete_webhook"], {"id": notice_id})
