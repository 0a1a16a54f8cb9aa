"""Creator payouts: the batch for a period, its ledger postings, the provider's settlement.

A period is one UTC day. A creator's payable for a period is what their earnings account
received before the period ended, less reversals and clawbacks, less every payout of another
period that did not fail. Creators at or below zero, or under the minimum, are left out with
the reason recorded. Each payout's id is derived from (creator, period), its ledger transfers
from the payout id: a rerun or a backfill finds what exists and pays nothing twice.
"""

from __future__ import annotations

import csv
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from streams.ids import derived_id
from streams.ledger.model import (
    COINS,
    PAYOUT_CLEARING,
    AccountKind,
    Flags,
    InsufficientFunds,
    LedgerError,
    Transfer,
    account,
)
from streams.ledger.store import PostgresLedger
from streams.postgres.named_sql import load
from streams.settings import FinanceSettings

SQL = load(Path(__file__).with_name("finance.sql"))


def day_bounds(period: date) -> tuple[datetime, datetime]:
    start = datetime.combine(period, time(0), tzinfo=UTC)
    return start, start + timedelta(days=1)


def payout_id(creator_id: str, period: date) -> uuid.UUID:
    return derived_id("payout", creator_id, period.isoformat())


def pending_transfer_id(pid: uuid.UUID) -> uuid.UUID:
    return derived_id("payout-pending", pid)


@dataclass(frozen=True)
class PayoutLine:
    payout_id: uuid.UUID
    creator_id: str
    period: date
    coins: int
    amount_cents: int
    currency: str


@dataclass(frozen=True)
class Exclusion:
    creator_id: str
    payable: int
    reason: str


def plan(
    period: date,
    payables: dict[str, int],
    already: dict[str, PayoutLine],
    finance: FinanceSettings,
    failed: frozenset[str] = frozenset(),
    later: frozenset[str] = frozenset(),
) -> tuple[list[PayoutLine], list[Exclusion]]:
    """The period's batch: the payouts that stand already (a rerun keeps them, unchanged), and a
    new payout for every other creator whose payable converts to at least the minimum. A
    creator whose payout for this period failed is paid with a later period (one id per
    creator and period); a creator already paid for a later period is not paid again for an
    earlier one (an out-of-order backfill)."""
    lines: list[PayoutLine] = list(already.values())
    excluded: list[Exclusion] = []
    for creator_id, coins in sorted(payables.items()):
        if creator_id in already:
            continue
        if creator_id in failed:
            excluded.append(
                Exclusion(creator_id, coins, "this period's payout failed; paid with a later period")
            )
            continue
        if creator_id in later:
            excluded.append(
                Exclusion(creator_id, coins, "a later period is already paid, which covered this one")
            )
            continue
        cents = coins * finance.cents_per_coin_bps // 10_000
        if coins <= 0:
            excluded.append(
                Exclusion(creator_id, coins, "nothing payable (chargebacks, reversals or earlier payouts)")
            )
        elif cents < finance.min_payout_cents:
            excluded.append(
                Exclusion(creator_id, coins, f"{cents} cents is below the {finance.min_payout_cents} minimum")
            )
        else:
            lines.append(
                PayoutLine(payout_id(creator_id, period), creator_id, period, coins, cents, finance.currency)
            )
    return sorted(lines, key=lambda line: line.creator_id), excluded


@dataclass(frozen=True)
class Settlement:
    """One line of the provider's settlement file."""

    line: int
    payout_id: str
    status: str
    amount_cents: str
    provider_ref: str


def read_settlement_file(path: Path) -> list[Settlement]:
    """CSV with a header: payout_id,status,amount_cents,provider_ref (status: paid | failed)."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [
        Settlement(
            index + 2,
            (row.get("payout_id") or "").strip(),
            (row.get("status") or "").strip(),
            (row.get("amount_cents") or "").strip(),
            (row.get("provider_ref") or "").strip(),
        )
        for index, row in enumerate(rows)
    ]


@dataclass(frozen=True)
class PeriodPlan:
    lines: list[PayoutLine]
    excluded: list[Exclusion]
    payables: dict[str, int]


class FinanceStore:
    """Finance's reads and writes on the ledger database."""

    def __init__(self, pool: AsyncConnectionPool, finance: FinanceSettings) -> None:
        self._pool = pool
        self._ledger = PostgresLedger(pool)
        self.finance = finance

    async def earnings_of_day(self, period: date) -> list[tuple[str, int, int, int]]:
        start, end = day_bounds(period)
        async with self._pool.connection() as conn:
            rows = await (
                await conn.execute(SQL["LEDGER_EARNINGS_DAY"], {"start": start, "end": end})
            ).fetchall()
        return [(r[0], int(r[1]), int(r[2]), int(r[3])) for r in rows]

    async def payables(self, period: date) -> dict[str, int]:
        _, end = day_bounds(period)
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(SQL["PAYABLES"], {"end": end, "period": period})).fetchall()
        return {r[0]: int(r[1]) for r in rows}

    async def payouts_of(self, period: date) -> dict[str, PayoutLine]:
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(SQL["PAYOUTS_OF_PERIOD"], {"period": period})).fetchall()
        return {r[1]: PayoutLine(r[0], r[1], period, int(r[2]), int(r[3]), r[4]) for r in rows}

    async def plan_period(self, period: date) -> PeriodPlan:
        """The period's batch from the ledger as it is now (the daily job and the preview)."""
        payables = await self.payables(period)
        lines, excluded = plan(
            period,
            payables,
            await self.payouts_of(period),
            self.finance,
            failed=await self.failed_of(period),
            later=await self.paid_later_than(period),
        )
        return PeriodPlan(lines, excluded, payables)

    async def failed_of(self, period: date) -> frozenset[str]:
        return await self._creators("FAILED_OF_PERIOD", period)

    async def paid_later_than(self, period: date) -> frozenset[str]:
        return await self._creators("LATER_PAID", period)

    async def _creators(self, statement: str, period: date) -> frozenset[str]:
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(SQL[statement], {"period": period})).fetchall()
        return frozenset(r[0] for r in rows)

    async def record_exclusions(self, period: date, excluded: list[Exclusion]) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            for e in excluded:
                await conn.execute(
                    SQL["RECORD_EXCLUSION"],
                    {"creator_id": e.creator_id, "period": period, "payable": e.payable, "reason": e.reason},
                )

    async def record_check(self, period: date, passed: bool, expectations: int, failed: list[str]) -> None:
        """One run of the batch's quality check (the exporter alerts on a blocked day)."""
        async with self._pool.connection() as conn:
            await conn.execute(
                SQL["RECORD_CHECK_RUN"],
                {"period": period, "passed": passed, "expectations": expectations, "failed": Jsonb(failed)},
            )

    async def post_pending(self, line: PayoutLine) -> bool:
        """Record the payout and reserve its coins in the ledger (pending). Idempotent: a payout
        that exists is left as it is. False when the ledger refuses (the coins are no longer
        there, e.g. a chargeback since the batch was planned)."""
        pending = Transfer(
            pending_transfer_id(line.payout_id),
            line.payout_id,
            "payout",
            Flags.PENDING,
            COINS,
            line.coins,
            account(AccountKind.CREATOR_EARNINGS, line.creator_id),
            PAYOUT_CLEARING,
            str(line.payout_id),
            expires_at=datetime.now(UTC) + timedelta(days=self.finance.payout_expiry_days),
        )
        try:
            await self._ledger.post([pending])
        except InsufficientFunds:
            return False
        async with self._pool.connection() as conn:
            await conn.execute(
                SQL["RECORD_PAYOUT"],
                {
                    "payout_id": line.payout_id,
                    "creator_id": line.creator_id,
                    "period": line.period,
                    "coins": line.coins,
                    "amount_cents": line.amount_cents,
                    "currency": line.currency,
                },
            )
        return True

    async def settle(self, settlement: Settlement) -> tuple[str, dict[str, Any] | None]:
        """Apply one settlement line: post (paid) or void (failed) the pending transfer. Returns
        ("applied" | "duplicate", the payout) or ("rejected: <reason>", None); nothing is
        posted for a rejected line."""
        try:
            pid = uuid.UUID(settlement.payout_id)
        except ValueError:
            return f"rejected: {settlement.payout_id!r} is not a payout id", None
        if settlement.status not in ("paid", "failed"):
            return f"rejected: status {settlement.status!r} is not paid or failed", None
        async with self._pool.connection() as conn, conn.transaction():
            row = await (await conn.execute(SQL["PAYOUT"], {"payout_id": pid})).fetchone()
            if row is None:
                return f"rejected: no payout {pid}", None
            payout = dict(
                zip(
                    ("payout_id", "creator_id", "period", "coins", "amount_cents", "currency", "status"),
                    row,
                    strict=True,
                )
            )
            if settlement.amount_cents != str(payout["amount_cents"]):
                return (
                    f"rejected: amount {settlement.amount_cents!r} cents, the payout is {payout['amount_cents']} cents",
                    None,
                )
            if payout["status"] != "pending":
                same = payout["status"] == settlement.status
                return ("duplicate" if same else f"rejected: payout is already {payout['status']}"), payout
            flags = Flags.POST_PENDING if settlement.status == "paid" else Flags.VOID_PENDING
            try:
                await self._ledger.resolve(
                    pending_transfer_id(pid), flags, derived_id("payout", pid, flags.value), f"payout {pid}"
                )
            except LedgerError as err:
                return f"rejected: ledger refused: {err}", None
            await conn.execute(
                SQL["DECIDE_PAYOUT"],
                {
                    "payout_id": pid,
                    "status": settlement.status,
                    "provider_ref": settlement.provider_ref or None,
                    "failure": None if settlement.status == "paid" else "provider reported failure",
                },
            )
        payout["status"] = settlement.status
        return "applied", payout

    async def reject_line(self, file_name: str, settlement: Settlement, reason: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                SQL["REJECT_SETTLEMENT_LINE"],
                {
                    "file_name": file_name,
                    "line": settlement.line,
                    "payout_id": settlement.payout_id,
                    "reason": reason,
                },
            )

    async def gifts_earned(self, creator_id: str, period: date) -> list[tuple[datetime, str, int]]:
        start, end = day_bounds(period)
        async with self._pool.connection() as conn:
            rows = await (
                await conn.execute(
                    SQL["GIFTS_EARNED"],
                    {
                        "account": account(AccountKind.CREATOR_EARNINGS, creator_id),
                        "start": start,
                        "end": end,
                    },
                )
            ).fetchall()
        return [(r[0], r[1], int(r[2])) for r in rows]
