"""The fraud agent's decision per gift, in PostgreSQL (``fraud_gift_screenings``): made once,
replayed to a redelivered request."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from psycopg_pool import AsyncConnectionPool

from streams.contracts.gifts import GiftRoomProblem
from streams.fraud.screening import Screening
from streams.postgres.named_sql import load

SQL = load(Path(__file__).with_name("decisions.sql"))


def _screening(row: Sequence[Any], recorded_now: bool) -> Screening:
    return Screening(row[1], tuple(row[2]), row[3], recorded_now, GiftRoomProblem(row[4]) if row[4] else None)


class PostgresScreenings:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def known(self, gift_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Screening]:
        if not gift_ids:
            return {}
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(SQL["screenings"], {"ids": list(gift_ids)})).fetchall()
        return {r[0]: _screening(r, False) for r in rows}

    async def record(self, decided: Mapping[uuid.UUID, Screening]) -> dict[uuid.UUID, Screening]:
        ids = list(decided)
        async with self._pool.connection() as conn:
            inserted = await (
                await conn.execute(
                    SQL["record_screenings"],
                    {
                        "ids": ids,
                        "decisions": [decided[i].verdict for i in ids],
                        # one text per gift: PostgreSQL has no ragged arrays, so the rules travel joined
                        "rules": [",".join(decided[i].rules) for i in ids],
                        "room_problems": [decided[i].room_problem for i in ids],
                    },
                )
            ).fetchall()
            kept = {r[0]: _screening(r, True) for r in inserted}
            lost = [i for i in ids if i not in kept]
            if lost:  # another worker screened it first: its decision stands
                rows = await (await conn.execute(SQL["screenings"], {"ids": lost})).fetchall()
                kept.update({r[0]: _screening(r, False) for r in rows})
        return kept
