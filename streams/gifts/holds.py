"""Gifts held for review, in PostgreSQL: held once per gift id, decided once, by someone."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from streams.contracts.gifts import GiftScreened
from streams.ledger.model import LedgerError

HOLD = """
INSERT INTO gift_holds (gift_id, sender_id, request, rules) VALUES (%(gift_id)s, %(sender)s, %(request)s, %(rules)s)
ON CONFLICT (gift_id) DO NOTHING
"""
OPEN = """
SELECT request FROM gift_holds
WHERE decision IS NULL AND (%(sender)s::text IS NULL OR sender_id = %(sender)s)
ORDER BY held_at LIMIT %(limit)s
"""
RECENT = """
SELECT request, held_at FROM gift_holds WHERE decision IS NULL ORDER BY held_at DESC LIMIT %(limit)s
"""
FIND = "SELECT request, held_at FROM gift_holds WHERE gift_id = %(gift_id)s"
CLAIM = "SELECT request, decision, decided_by FROM gift_holds WHERE gift_id = %(gift_id)s FOR UPDATE"
DECIDE = """
UPDATE gift_holds SET decision = %(decision)s, decided_by = %(by)s, decided_at = now()
WHERE gift_id = %(gift_id)s AND decision IS NULL
"""


@dataclass(frozen=True)
class HoldDecision:
    """The decision on a hold as recorded (the first one made). ``now``: made by this call."""

    request: GiftScreened
    decision: Literal["approved", "denied"]
    decided_by: str
    now: bool


class GiftHolds:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def hold(self, screened: GiftScreened) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                HOLD,
                {
                    "gift_id": screened.gift_id,
                    "sender": screened.sender_id,
                    "request": Jsonb(screened.model_dump(mode="json")),
                    "rules": list(screened.rules),
                },
            )

    async def open(self, limit: int = 100, sender: str | None = None) -> list[GiftScreened]:
        """The oldest undecided holds first; ``sender`` narrows them to one user's gifts."""
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(OPEN, {"limit": limit, "sender": sender})).fetchall()
        return [GiftScreened.model_validate_json(_json(r[0])) for r in rows]

    async def recent(self, limit: int = 100) -> list[tuple[GiftScreened, datetime]]:
        """Undecided holds, newest first, with when each was held (the analysts' queue)."""
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(RECENT, {"limit": limit})).fetchall()
        return [(GiftScreened.model_validate_json(_json(r[0])), r[1]) for r in rows]

    async def find(self, gift_id: uuid.UUID) -> tuple[GiftScreened, datetime] | None:
        """One hold, decided or not: the request and when it was held."""
        async with self._pool.connection() as conn:
            row = await (await conn.execute(FIND, {"gift_id": gift_id})).fetchone()
        if row is None:
            return None
        return GiftScreened.model_validate_json(_json(row[0])), row[1]

    async def decide(
        self, gift_id: uuid.UUID, decision: Literal["approved", "denied"], by: str
    ) -> HoldDecision:
        """Record the decision if the hold has none yet; return the decision that stands. The
        caller then carries it out (idempotently), so a decision whose settlement failed is
        finished by whoever asks next, instead of staying decided and unsettled."""
        async with self._pool.connection() as conn, conn.transaction():
            row = await (await conn.execute(CLAIM, {"gift_id": gift_id})).fetchone()
            if row is None:
                raise LedgerError(f"no gift {gift_id} is held")
            request = GiftScreened.model_validate_json(_json(row[0]))
            if row[1] is not None:
                return HoldDecision(request, row[1], row[2], now=False)
            await conn.execute(DECIDE, {"gift_id": gift_id, "decision": decision, "by": by})
            return HoldDecision(request, decision, by, now=True)


def _json(value: Any) -> str:
    import json

    return json.dumps(value)
