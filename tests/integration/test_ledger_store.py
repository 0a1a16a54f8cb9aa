"""The PostgreSQL ledger under random sequences of top-ups, gifts, refunds, reversals and
duplicated requests (hypothesis): every asset conserved, no user wallet negative, each id
applied once, account totals equal to what the transfers say."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from orchestration.payouts import FinanceStore, PayoutLine, Settlement, payout_id
from streams.ledger.model import (
    GiftRequest,
    IdempotencyConflict,
    InsufficientFunds,
    LedgerError,
)
from streams.ledger.store import PostgresLedger
from streams.postgres.migrate import migrate
from streams.settings import FinanceSettings, Settings
from tests.integration.conftest import run_with_ledger


@pytest.fixture(scope="module")
def ledger_dsn(settings: Settings) -> Iterator[str]:
    schema = f"test_ledger_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("CREATE SCHEMA {}").format(psycopg.sql.Identifier(schema)))
    dsn = f"{settings.postgres.dsn()}?options=-csearch_path%3D{schema}"
    migrate(dsn)
    yield dsn
    with psycopg.connect(settings.postgres.dsn(), autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("DROP SCHEMA {} CASCADE").format(psycopg.sql.Identifier(schema)))


async def check_invariants(ledger: PostgresLedger) -> None:
    audit = await ledger.audit()
    assert all(v == 0 for v in audit.sums.values()), audit.sums
    assert audit.overdrawn == []
    assert audit.unreconciled == []


op = st.one_of(
    st.tuples(st.just("topup"), st.sampled_from(["a", "b", "c"]), st.integers(1, 500), st.booleans()),
    st.tuples(st.just("gift"), st.sampled_from(["a", "b", "c"]), st.integers(1, 300), st.booleans()),
    st.tuples(st.just("refund"), st.integers(0, 20)),
    st.tuples(st.just("reverse"), st.integers(0, 20)),
    st.tuples(st.just("replay"), st.integers(0, 20)),
    st.tuples(st.just("payout"), st.integers(1, 400), st.sampled_from(["paid", "failed"])),
)


@hyp_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(op, min_size=1, max_size=25))
def test_random_histories_keep_the_books_balanced(ledger_dsn: str, ops: list[tuple]) -> None:  # type: ignore[type-arg]
    run = uuid.uuid4().hex[:6]

    async def body(ledger: PostgresLedger) -> None:
        topups: list[uuid.UUID] = []
        captured_topups: set[uuid.UUID] = set()
        gifts: list[GiftRequest] = []
        transfers: list[uuid.UUID] = []
        for step in ops:
            kind = step[0]
            if kind == "topup":
                _, user, coins, capture = step
                topup = uuid.uuid4()
                await ledger.topup_pending(
                    topup, f"{run}{user}", coins, datetime.now(UTC) + timedelta(minutes=5)
                )
                await (ledger.topup_capture(topup) if capture else ledger.topup_void(topup))
                await (
                    ledger.topup_capture(topup) if capture else ledger.topup_void(topup)
                )  # webhook retried
                topups.append(topup)
                if capture:
                    captured_topups.add(topup)
            elif kind == "gift":
                _, user, coins, twice = step
                gift = GiftRequest(uuid.uuid4(), f"{run}{user}", f"{run}creator", "room-1", "rose", 1, coins)
                batch = [gift, gift] if twice else [gift]
                first = await ledger.settle_gifts(batch)
                again = await ledger.settle_gifts([gift])  # redelivered by Kafka
                assert again[0].settled == first[0].settled
                assert again[0].posting_id == first[0].posting_id
                gifts.append(gift)
                transfers += [t.id for t in first[0].transfers]
            elif kind == "refund" and topups:
                topup = topups[step[1] % len(topups)]
                captured = topup in captured_topups
                if captured:
                    await ledger.clawback(topup, "refund")
                else:
                    with pytest.raises(LedgerError, match="not captured"):
                        await ledger.clawback(topup, "refund")
            elif kind == "reverse" and transfers:
                # Refused when the creator's earnings no longer cover it: nothing written then.
                with contextlib.suppress(InsufficientFunds):
                    await ledger.reverse(transfers[step[1] % len(transfers)])
            elif kind == "payout":
                # A creator payout: reserved (pending), then posted or voided by the provider's
                # settlement, which is delivered twice; a payout beyond the earnings is refused.
                _, coins, status = step
                day = date(2026, 1, 1) + timedelta(days=len(transfers) + coins)
                finance = FinanceStore(ledger.pool, FinanceSettings())
                line = PayoutLine(payout_id(f"{run}creator", day), f"{run}creator", day, coins, coins, "USD")
                if await finance.post_pending(line):
                    for _ in range(2):
                        outcome, _payout = await finance.settle(
                            Settlement(2, str(line.payout_id), status, str(coins), "ref")
                        )
                        assert outcome in ("applied", "duplicate")
            elif kind == "replay" and gifts:
                gift = gifts[step[1] % len(gifts)]
                outcomes = await ledger.settle_gifts([gift])
                assert outcomes[0].gift_id == gift.gift_id
            await check_invariants(ledger)

    asyncio.run(run_with_ledger(ledger_dsn, body))


def test_a_wallet_cannot_go_negative_even_bypassing_the_domain(ledger_dsn: str) -> None:
    async def body(ledger: PostgresLedger) -> None:
        from streams.ledger.model import COINS, Flags, Transfer

        spend = Transfer(
            uuid.uuid4(),
            uuid.uuid4(),
            "gift",
            Flags.POSTED,
            COINS,
            5,
            "user_coins:broke",
            "system:platform_revenue",
            "x",
        )
        with pytest.raises(InsufficientFunds, match="no_overdraft"):
            await ledger.post([spend])
        assert (await ledger.balance("user_coins:broke")).balance == 0

    asyncio.run(run_with_ledger(ledger_dsn, body))


def test_history_is_append_only_and_ids_are_not_reusable(ledger_dsn: str) -> None:
    async def body(ledger: PostgresLedger) -> None:
        from streams.ledger.model import COIN_ISSUANCE, COINS, Flags, Transfer

        t = Transfer(
            uuid.uuid4(),
            uuid.uuid4(),
            "adjustment",
            Flags.POSTED,
            COINS,
            7,
            COIN_ISSUANCE,
            "user_coins:z",
            "x",
        )
        assert len(await ledger.post([t])) == 1
        assert await ledger.post([t]) == []  # same id, same transfer: a no-op
        with pytest.raises(IdempotencyConflict):
            await ledger.post(
                [
                    Transfer(
                        t.id,
                        t.posting_id,
                        t.kind,
                        t.flags,
                        t.asset,
                        8,
                        t.debit_account,
                        t.credit_account,
                        "x",
                    )
                ]
            )

    asyncio.run(run_with_ledger(ledger_dsn, body))
    with (
        psycopg.connect(ledger_dsn, autocommit=True) as conn,
        pytest.raises(psycopg.errors.RaiseException, match="append-only"),
    ):
        conn.execute("UPDATE ledger_transfers SET amount = amount + 1")


def test_refund_of_spent_coins_becomes_debt_not_a_negative_wallet(ledger_dsn: str) -> None:
    async def body(ledger: PostgresLedger) -> None:
        topup = uuid.uuid4()
        await ledger.topup_pending(topup, "spender", 100, datetime.now(UTC) + timedelta(minutes=5))
        await ledger.topup_capture(topup)
        (outcome,) = await ledger.settle_gifts(
            [GiftRequest(uuid.uuid4(), "spender", "cx", "r", "rose", 1, 70)]
        )
        assert outcome.settled
        assert outcome.sender_balance_after == 30
        assert await ledger.clawback(topup, "chargeback") == (30, 70)
        assert await ledger.clawback(topup, "chargeback") == (30, 70)  # idempotent
        assert (await ledger.balance("user_coins:spender")).balance == 0
        assert (await ledger.balance("user_debt:spender")).balance == -70
        lines = await ledger.statement("user_coins:spender")
        assert [line.kind for line in lines] == ["topup", "topup", "gift", "gift_fee", "chargeback"]
        page = await ledger.statement("user_coins:spender", after_seq=lines[1].seq, limit=2)
        assert [line.kind for line in page] == ["gift", "gift_fee"]
        await check_invariants(ledger)

    asyncio.run(run_with_ledger(ledger_dsn, body))


def test_expired_pending_top_ups_are_voided(ledger_dsn: str) -> None:
    async def body(ledger: PostgresLedger) -> None:
        topup = uuid.uuid4()
        await ledger.topup_pending(topup, "late", 40, datetime.now(UTC) - timedelta(seconds=1))
        assert len(await ledger.void_expired(datetime.now(UTC))) >= 1
        with pytest.raises(LedgerError):
            await ledger.topup_capture(topup)  # too late: it was voided
        assert (await ledger.balance("user_coins:late")).credits_pending == 0
        await check_invariants(ledger)

    asyncio.run(run_with_ledger(ledger_dsn, body))


def test_balance_at_a_point_in_time(ledger_dsn: str) -> None:
    async def body(ledger: PostgresLedger) -> None:
        from streams.ledger.model import COIN_ISSUANCE, COINS, Flags, Transfer

        wallet = "user_coins:timeline"
        await ledger.post(
            [
                Transfer(
                    uuid.uuid4(), uuid.uuid4(), "topup", Flags.POSTED, COINS, 100, COIN_ISSUANCE, wallet, "t"
                )
            ]
        )
        between = datetime.now(UTC)
        await asyncio.sleep(0.01)
        await ledger.post(
            [
                Transfer(
                    uuid.uuid4(),
                    uuid.uuid4(),
                    "adjustment",
                    Flags.POSTED,
                    COINS,
                    30,
                    wallet,
                    COIN_ISSUANCE,
                    "t",
                )
            ]
        )
        assert await ledger.balance_at(wallet, between - timedelta(hours=1)) == 0
        assert await ledger.balance_at(wallet, between) == 100
        assert await ledger.balance_at(wallet, datetime.now(UTC)) == 70

    asyncio.run(run_with_ledger(ledger_dsn, body))
