"""Alerts acknowledged by an analyst, with a note: once per alert (the first one stands)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from psycopg_pool import AsyncConnectionPool

from streams.postgres.named_sql import load

SQL = load(Path(__file__).with_name("alert_acks.sql"))


def _ack(row: Sequence[Any]) -> dict[str, Any]:
    return {"by": row[1], "note": row[2], "at": row[3].isoformat()}


class AlertAcks:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def ack(self, alert_id: str, by: str, note: str) -> tuple[dict[str, Any], bool]:
        """Record the acknowledgement unless there is one: the one that stands, and whether this
        call recorded it."""
        async with self._pool.connection() as conn:
            row = await (
                await conn.execute(SQL["ACK"], {"alert_id": alert_id, "by": by, "note": note})
            ).fetchone()
        assert row is not None
        return _ack(row), bool(row[4])

    async def of(self, alert_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not alert_ids:
            return {}
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(SQL["ACKS"], {"ids": list(alert_ids)})).fetchall()
        return {r[0]: _ack(r) for r in rows}
