"""The PostgreSQL ledger store: every write is one transaction that locks the accounts it
touches (in id order, so concurrent writers never deadlock), inserts the transfers (a
repeated id is a no-op that returns the original), adds them to the account totals, and lets
the database's CHECK refuse any overdraft. The outbox row of each transfer is written in the
same transaction by a trigger."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from streams.ids import derived_id
from streams.ledger.model import (
    COIN_ISSUANCE,
    COINS,
    NEGATIVE_ALLOWED,
    AccountKind,
    Flags,
    GiftOutcome,
    GiftRequest,
    IdempotencyConflict,
    InsufficientFunds,
    LedgerError,
    Totals,
    Transfer,
    UnknownTransfer,
    account,
    apply,
    conserved,
    decide_gifts,
    kind_of,
    overdrawn,
    owner_of,
    split,
    unique_by_id,
)
from streams.postgres.named_sql import load

SQL = load(Path(__file__).with_name("ledger.sql"))
COPY_TRANSFERS = (
    "COPY ledger_transfers (id, posting_id, kind, flags, asset, amount, debit_account, credit_account, reference_id) "
    "FROM STDIN"
)


@dataclass(frozen=True)
class Audit:
    """The books' health: balances per asset (all must be 0), accounts overdrawn (none may be),
    accounts whose totals differ from what their transfers say (none may)."""

    sums: dict[str, int]
    overdrawn: list[str]
    unreconciled: list[str]

    @property
    def ok(self) -> bool:
        return all(v == 0 for v in self.sums.values()) and not self.overdrawn and not self.unreconciled


@dataclass(frozen=True)
class StatementLine:
    seq: int
    transfer_id: uuid.UUID
    posting_id: uuid.UUID
    kind: str
    flags: str
    asset: str
    amount: int
    debit_account: str
    credit_account: str
    reference_id: str
    created_at: datetime


def _row_transfer(row: Sequence[Any]) -> Transfer:
    return Transfer(
        row[0],
        row[1],
        row[2],
        Flags(row[3]),
        row[4],
        int(row[5]),
        row[6],
        row[7],
        row[8],
        row[9],
        row[10],
        row[11],
    )


def _same(a: Transfer, b: Transfer) -> bool:
    keys = (
        "posting_id",
        "kind",
        "flags",
        "asset",
        "amount",
        "debit_account",
        "credit_account",
        "pending_id",
        "reverses",
    )
    return all(getattr(a, k) == getattr(b, k) for k in keys)


def _recorded(row: Sequence[Any], request: GiftRequest, creator_share_bps: int) -> GiftOutcome:
    """The outcome recorded for a gift decided before, as it was then (rows from before the
    share was recorded get it from today's split)."""
    gift_id, request_hash, outcome, reason, posting_id, balance, detail, share, decided_at = row
    settled = outcome == "settled"
    if share is None:
        share = split(request.total_coins, creator_share_bps)[0] if settled else 0
    return GiftOutcome(
        gift_id,
        settled,
        reason,
        posting_id,
        None if balance is None else int(balance),
        creator_share=int(share),
        platform_fee=request.total_coins - int(share) if settled else 0,
        detail=detail or "",
        decided_at=decided_at,
        conflict=request_hash != request.fingerprint(),
    )


class PostgresLedger:
    def __init__(self, pool: AsyncConnectionPool, *, creator_share_bps: int = 7000) -> None:
        self._pool = pool
        self.creator_share_bps = creator_share_bps

    @property
    def pool(self) -> AsyncConnectionPool:
        """The connection pool (for stores sharing the ledger's database, such as finance's)."""
        return self._pool

    # -- the primitive ------------------------------------------------------------------

    async def _ensure_accounts(self, conn: AsyncConnection, ids: Iterable[str], asset: str = COINS) -> None:
        ids = sorted(set(ids))
        await conn.execute(
            SQL["ensure_accounts"],
            {
                "ids": ids,
                "assets": [asset] * len(ids),
                "kinds": [kind_of(i).value for i in ids],
                "owners": [owner_of(i) for i in ids],
                "negative": [kind_of(i) in NEGATIVE_ALLOWED for i in ids],
            },
        )

    async def _lock(self, conn: AsyncConnection, ids: Iterable[str]) -> dict[str, Totals]:
        rows = await (await conn.execute(SQL["lock_accounts"], {"ids": sorted(set(ids))})).fetchall()
        return {r[0]: Totals(int(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in rows}

    async def _post(self, conn: AsyncConnection, transfers: Sequence[Transfer]) -> list[Transfer]:
        """Insert and apply ``transfers`` (accounts already locked). Returns the ones that were new."""
        if not transfers:
            return []
        pending_ids = [t.pending_id for t in transfers if t.pending_id is not None]
        pendings: dict[uuid.UUID, Transfer] = {}
        if pending_ids:
            rows = await (await conn.execute(SQL["transfers_by_id"], {"ids": pending_ids})).fetchall()
            pendings = {r[0]: _row_transfer(r) for r in rows}
            for t in transfers:
                p = pendings.get(t.pending_id) if t.pending_id else None
                if t.pending_id is not None and (p is None or p.flags is not Flags.PENDING):
                    raise UnknownTransfer(f"{t.flags} of {t.pending_id}: no such pending transfer")
        inserted = await (
            await conn.execute(
                SQL["insert_transfers"],
                {
                    "id": [t.id for t in transfers],
                    "posting_id": [t.posting_id for t in transfers],
                    "kind": [t.kind for t in transfers],
                    "flags": [t.flags.value for t in transfers],
                    "asset": [t.asset for t in transfers],
                    "amount": [t.amount for t in transfers],
                    "debit": [t.debit_account for t in transfers],
                    "credit": [t.credit_account for t in transfers],
                    "reference": [t.reference_id for t in transfers],
                    "pending": [t.pending_id for t in transfers],
                    "reverses": [t.reverses for t in transfers],
                    "expires": [t.expires_at for t in transfers],
                },
            )
        ).fetchall()
        new_ids = {r[0] for r in inserted}
        repeated = [t for t in transfers if t.id not in new_ids]
        if repeated:
            rows = await (
                await conn.execute(SQL["transfers_by_id"], {"ids": [t.id for t in repeated]})
            ).fetchall()
            existing = {r[0]: _row_transfer(r) for r in rows}
            for t in repeated:
                original = existing.get(t.id)
                if original is None:  # lost to a unique index: already resolved or reversed by another id
                    raise LedgerError(
                        f"transfer {t.id} conflicts: its pending transfer or original was already resolved"
                    )
                if not _same(original, t):
                    raise IdempotencyConflict(f"transfer id {t.id} was used before for a different transfer")
        new = [t for t in transfers if t.id in new_ids]
        deltas: dict[str, Totals] = {}
        for t in new:
            apply(deltas, t, pendings.get(t.pending_id) if t.pending_id else None)
        await self._add_totals(conn, deltas)
        return new

    async def _copy_new(self, conn: AsyncConnection, transfers: Sequence[Transfer]) -> None:
        """Bulk path for single-phase transfers known to be new (a duplicate id still fails on
        the primary key, rolling the whole batch back)."""
        if not transfers:
            return
        async with conn.cursor().copy(COPY_TRANSFERS) as copy:
            for t in transfers:
                await copy.write_row(
                    (
                        t.id,
                        t.posting_id,
                        t.kind,
                        t.flags.value,
                        t.asset,
                        t.amount,
                        t.debit_account,
                        t.credit_account,
                        t.reference_id,
                    )
                )
        deltas: dict[str, Totals] = {}
        for t in transfers:
            apply(deltas, t)
        await self._add_totals(conn, deltas)

    async def _add_totals(self, conn: AsyncConnection, deltas: dict[str, Totals]) -> None:
        ids = sorted(deltas)
        try:
            result = await conn.execute(
                SQL["add_totals"],
                {
                    "ids": ids,
                    "dp": [deltas[i].debits_posted for i in ids],
                    "cp": [deltas[i].credits_posted for i in ids],
                    "dpe": [deltas[i].debits_pending for i in ids],
                    "cpe": [deltas[i].credits_pending for i in ids],
                },
            )
        except psycopg.errors.CheckViolation as err:
            raise InsufficientFunds(f"refused by the database: {err.diag.message_primary}") from None
        if result.rowcount != len(ids):
            raise LedgerError("a transfer names an account that does not exist")

    async def post(self, transfers: Sequence[Transfer]) -> list[Transfer]:
        """Apply transfers atomically (all or none); repeating a transfer id returns nothing new."""
        involved = {a for t in transfers for a in (t.debit_account, t.credit_account)}
        async with self._pool.connection() as conn, conn.transaction():
            await self._ensure_accounts(conn, involved, transfers[0].asset if transfers else COINS)
            await self._lock(conn, involved)
            return await self._post(conn, transfers)

    # -- gifts ----------------------------------------------------------------------------

    async def settle_gifts(self, gifts: Sequence[GiftRequest], attempts: int = 3) -> list[GiftOutcome]:
        """Settle a batch in one transaction, in order; a gift already decided keeps its outcome.

        Two settlers racing on the same gift (a consumer group rebalancing) meet on the outcome's
        primary key: the loser's transaction rolls back and is retried, and then finds the
        winner's outcome."""
        for attempt in range(1, attempts + 1):
            try:
                return await self._settle_once(gifts)
            except (psycopg.errors.UniqueViolation, psycopg.errors.DeadlockDetected):
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")

    async def _settle_once(self, gifts: Sequence[GiftRequest]) -> list[GiftOutcome]:
        batch = unique_by_id(gifts)
        async with self._pool.connection() as conn, conn.transaction():
            rows = await (
                await conn.execute(SQL["known_gifts"], {"ids": [g.gift_id for g in batch]})
            ).fetchall()
            known = {r[0]: r for r in rows}
            fresh = [g for g in batch if g.gift_id not in known]
            decided: dict[uuid.UUID, GiftOutcome] = {}
            if fresh:
                wallets = {g.wallet for g in fresh if g.refusal is None}
                involved = (
                    wallets | {g.earnings for g in fresh if g.refusal is None} | {"system:platform_revenue"}
                )
                available: dict[str, int] = {}
                if wallets:
                    await self._ensure_accounts(conn, involved)
                    totals = await self._lock(conn, involved)
                    available = {w: totals[w].available for w in wallets}
                outcomes = decide_gifts(fresh, available, self.creator_share_bps)
                # The outcome rows go first: their primary key makes a concurrent settlement of
                # the same gift wait, then fail (the batch is retried and sees this outcome), so
                # the transfers below are new by construction and are copied in bulk.
                stamped = await (
                    await conn.execute(
                        SQL["record_gifts"],
                        {
                            "gift_id": [o.gift_id for o in outcomes],
                            "hash": [g.fingerprint() for g in fresh],
                            "outcome": ["settled" if o.settled else "rejected" for o in outcomes],
                            "reason": [o.reason for o in outcomes],
                            "posting_id": [o.posting_id for o in outcomes],
                            "balance": [o.sender_balance_after for o in outcomes],
                            "detail": [o.detail for o in outcomes],
                            "share": [o.creator_share if o.settled else None for o in outcomes],
                        },
                    )
                ).fetchall()
                at = {r[0]: r[1] for r in stamped}
                await self._copy_new(conn, [t for o in outcomes for t in o.transfers])
                decided = {o.gift_id: replace(o, decided_at=at[o.gift_id]) for o in outcomes}
        return [
            decided.get(g.gift_id) or _recorded(known[g.gift_id], g, self.creator_share_bps) for g in gifts
        ]

    # -- top-ups: two-phase ---------------------------------------------------------------

    def _topup(self, topup_id: uuid.UUID, user_id: str, coins: int, expires_at: datetime | None) -> Transfer:
        return Transfer(
            derived_id("topup", topup_id),
            derived_id("topup", topup_id),
            "topup",
            Flags.PENDING,
            COINS,
            coins,
            COIN_ISSUANCE,
            account(AccountKind.USER_COINS, user_id),
            str(topup_id),
            expires_at=expires_at,
        )

    async def topup_pending(
        self, topup_id: uuid.UUID, user_id: str, coins: int, expires_at: datetime
    ) -> Transfer:
        transfer = self._topup(topup_id, user_id, coins, expires_at)
        await self.post([transfer])
        return transfer

    async def _resolve(self, topup_id: uuid.UUID, flags: Flags) -> Transfer:
        pending_id = derived_id("topup", topup_id)
        return await self.resolve(
            pending_id, flags, derived_id("topup", topup_id, flags.value), f"top-up {topup_id}"
        )

    async def resolve(
        self, pending_id: uuid.UUID, flags: Flags, resolution_id: uuid.UUID, what: str
    ) -> Transfer:
        """Post or void a pending transfer (idempotent by ``resolution_id``; the second phase of a
        top-up or a payout)."""
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(SQL["transfers_by_id"], {"ids": [pending_id]})).fetchall()
        if not rows:
            raise UnknownTransfer(f"no pending {what}")
        pending = _row_transfer(rows[0])
        resolution = Transfer(
            resolution_id,
            pending.posting_id,
            pending.kind,
            flags,
            pending.asset,
            pending.amount,
            pending.debit_account,
            pending.credit_account,
            pending.reference_id,
            pending_id=pending_id,
        )
        await self.post([resolution])
        return resolution

    async def topup_capture(self, topup_id: uuid.UUID) -> Transfer:
        return await self._resolve(topup_id, Flags.POST_PENDING)

    async def topup_void(self, topup_id: uuid.UUID) -> Transfer:
        return await self._resolve(topup_id, Flags.VOID_PENDING)

    async def clawback(self, topup_id: uuid.UUID, kind: str) -> tuple[int, int]:
        """Refund or chargeback of a captured top-up: take back what the wallet still holds and
        record the rest as the user's debt. Returns (coins clawed back, debt). Idempotent."""
        pending_id = derived_id("topup", topup_id)
        async with self._pool.connection() as conn, conn.transaction():
            rows = await (await conn.execute(SQL["transfers_by_id"], {"ids": [pending_id]})).fetchall()
            if not rows:
                raise UnknownTransfer(f"no top-up {topup_id}")
            topup = _row_transfer(rows[0])
            resolved = await (await conn.execute(SQL["resolution_of"], {"ids": [pending_id]})).fetchall()
            if not resolved or resolved[0][1] != Flags.POST_PENDING.value:
                raise LedgerError(f"top-up {topup_id} was not captured; nothing to claw back")
            wallet = topup.credit_account
            debt_account = account(AccountKind.USER_DEBT, owner_of(wallet))
            done = await (
                await conn.execute(
                    SQL["transfers_by_id"],
                    {
                        "ids": [
                            derived_id("clawback", topup_id, "wallet"),
                            derived_id("clawback", topup_id, "debt"),
                        ]
                    },
                )
            ).fetchall()
            if done:
                taken = sum(int(r[5]) for r in done if r[6] == wallet)
                return taken, topup.amount - taken
            await self._ensure_accounts(conn, [wallet, debt_account, COIN_ISSUANCE])
            totals = await self._lock(conn, [wallet, debt_account, COIN_ISSUANCE])
            take = max(0, min(totals[wallet].available, topup.amount))
            posting = derived_id("clawback", topup_id)
            legs = []
            if take:
                legs.append(
                    Transfer(
                        derived_id("clawback", topup_id, "wallet"),
                        posting,
                        kind,
                        Flags.POSTED,
                        COINS,
                        take,
                        wallet,
                        COIN_ISSUANCE,
                        str(topup_id),
                    )
                )
            if topup.amount - take:
                legs.append(
                    Transfer(
                        derived_id("clawback", topup_id, "debt"),
                        posting,
                        kind,
                        Flags.POSTED,
                        COINS,
                        topup.amount - take,
                        debt_account,
                        COIN_ISSUANCE,
                        str(topup_id),
                    )
                )
            await self._post(conn, legs)
            return take, topup.amount - take

    async def reverse(self, transfer_id: uuid.UUID) -> Transfer:
        """A correction: a new transfer moving the same amount back (history is never edited)."""
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(SQL["transfers_by_id"], {"ids": [transfer_id]})).fetchall()
        if not rows:
            raise UnknownTransfer(f"no transfer {transfer_id}")
        original = _row_transfer(rows[0])
        if original.flags is not Flags.POSTED:
            raise LedgerError("only posted single-phase transfers are reversed; void a pending one instead")
        reversal = Transfer(
            derived_id("reversal", transfer_id),
            derived_id("reversal", transfer_id),
            "reversal",
            Flags.POSTED,
            original.asset,
            original.amount,
            original.credit_account,
            original.debit_account,
            str(transfer_id),
            reverses=transfer_id,
        )
        await self.post([reversal])
        return reversal

    async def void_expired(self, now: datetime, limit: int = 1000) -> list[Transfer]:
        """Void pending transfers past their expiry; returns the voids this call made."""
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(SQL["expired_pending"], {"now": now, "limit": limit})).fetchall()
            pendings = await (
                await conn.execute(SQL["transfers_by_id"], {"ids": [r[0] for r in rows]})
            ).fetchall()
        voids = [
            Transfer(
                derived_id("expire", p.id),
                p.posting_id,
                p.kind,
                Flags.VOID_PENDING,
                p.asset,
                p.amount,
                p.debit_account,
                p.credit_account,
                p.reference_id,
                pending_id=p.id,
            )
            for p in map(_row_transfer, pendings)
        ]
        done = []
        for void in voids:  # one by one: a capture racing the sweeper wins or loses cleanly
            try:
                if await self.post([void]):
                    done.append(void)
            except LedgerError:
                continue
        return done

    # -- reads ----------------------------------------------------------------------------

    async def recorded_at(self, transfer_ids: Sequence[uuid.UUID]) -> datetime:
        """When the first of these transfers was written (events about a ledger operation carry
        it as ``occurred_at``, so publishing one again yields the same event)."""
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(SQL["transfers_by_id"], {"ids": list(transfer_ids)})).fetchall()
        if not rows:
            raise UnknownTransfer(f"no transfer among {', '.join(map(str, transfer_ids))}")
        first: datetime = min(r[13] for r in rows)
        return first

    async def totals(self) -> tuple[dict[str, Totals], dict[str, str]]:
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(SQL["account_totals"])).fetchall()
        return (
            {r[0]: Totals(int(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in rows},
            {r[0]: r[1] for r in rows},
        )

    async def totals_from_transfers(self) -> dict[str, Totals]:
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(SQL["totals_from_transfers"])).fetchall()
        return {r[0]: Totals(int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows}

    async def audit(self) -> Audit:
        totals, assets = await self.totals()
        recomputed = await self.totals_from_transfers()
        return Audit(
            sums=conserved(totals, assets),
            overdrawn=overdrawn(totals),
            unreconciled=[a for a, t in totals.items() if recomputed.get(a, Totals()) != t],
        )

    async def balance(self, account_id: str) -> Totals:
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(SQL["account"], {"id": account_id})).fetchall()
        if not rows:
            return Totals()
        r = rows[0]
        return Totals(int(r[2]), int(r[3]), int(r[4]), int(r[5]))

    async def balance_at(self, account_id: str, at: datetime) -> int:
        async with self._pool.connection() as conn:
            row = await (await conn.execute(SQL["balance_at"], {"id": account_id, "at": at})).fetchone()
        return int(row[0]) if row else 0

    async def statement(self, account_id: str, after_seq: int = 0, limit: int = 100) -> list[StatementLine]:
        async with self._pool.connection() as conn:
            rows = await (
                await conn.execute(SQL["statement"], {"id": account_id, "after": after_seq, "limit": limit})
            ).fetchall()
        return [
            StatementLine(int(r[0]), r[1], r[2], r[3], r[4], r[5], int(r[6]), r[7], r[8], r[9], r[10])
            for r in rows
        ]
