"""Finance's Dagster payout job, materialized in process against the real PostgreSQL ledger,
ClickHouse and Kafka, on known days of earnings."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
import pytest
from dagster import DagsterUnknownPartitionError, RunRequest, SkipReason, build_sensor_context, materialize
from prometheus_client import REGISTRY
from psycopg_pool import AsyncConnectionPool

from orchestration.definitions import ASSETS, confirm_payouts, settlement_files
from orchestration.payouts import payout_id, pending_transfer_id
from orchestration.resources import FinanceResources, platform_resources
from pipelines.warehouse.sink import WarehouseWriter
from streams.bus.consumer import Received
from streams.contracts.payouts import PayoutPending
from streams.exporter import report_payouts
from streams.ledger.model import COINS, AccountKind, Flags, Transfer, account
from streams.ledger.relay import to_event
from streams.settings import Settings
from streams.topics import TOPICS
from tests.integration.conftest import fund, read_topic, run_with_ledger
from warehouse.client import connect


def days_ago(n: int) -> date:
    return (datetime.now(UTC) - timedelta(days=n)).date()


@pytest.fixture(autouse=True)
def finance_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FINANCE_STATEMENTS_DIR", str(tmp_path / "statements"))
    monkeypatch.setenv("FINANCE_SETTLEMENT_DIR", str(tmp_path / "settlements"))
    return tmp_path


def earn(
    settings: Settings, day: date, gifts: dict[str, list[int]], reversals: dict[str, int] | None = None
) -> None:
    """Known earnings on ``day``: gift shares into each creator's earnings (and reversals out),
    posted through the ledger, dated to midday of ``day``, and the same postings in ClickHouse
    (what the outbox relay and the warehouse sink would have written)."""
    sender = f"fan-{uuid.uuid4().hex[:8]}"
    fund(settings.postgres.dsn(), sender, 10**9)
    transfers = [
        Transfer(
            uuid.uuid4(),
            uuid.uuid4(),
            "gift",
            Flags.POSTED,
            COINS,
            coins,
            account(AccountKind.USER_COINS, sender),
            account(AccountKind.CREATOR_EARNINGS, creator),
            str(uuid.uuid4()),
        )
        for creator, amounts in gifts.items()
        for coins in amounts
    ]
    transfers += [
        Transfer(
            uuid.uuid4(),
            uuid.uuid4(),
            "reversal",
            Flags.POSTED,
            COINS,
            coins,
            account(AccountKind.CREATOR_EARNINGS, creator),
            account(AccountKind.USER_COINS, sender),
            "correction",
        )
        for creator, coins in (reversals or {}).items()
    ]
    asyncio.run(run_with_ledger(settings.postgres.dsn(), lambda ledger: ledger.post(transfers)))
    ids = [t.id for t in transfers]
    with psycopg.connect(settings.postgres.dsn()) as conn, conn.transaction():
        # Test setup only: history is append-only, so the trigger is lifted for this one update.
        conn.execute("ALTER TABLE ledger_transfers DISABLE TRIGGER ledger_transfers_append_only")
        conn.execute(
            "UPDATE ledger_transfers SET created_at = %s WHERE id = ANY(%s)",
            (datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12), ids),
        )
        conn.execute("ALTER TABLE ledger_transfers ENABLE TRIGGER ledger_transfers_append_only")
        rows = conn.execute(
            "SELECT seq, id, posting_id, kind, flags, asset, amount, debit_account, credit_account, reference_id, "
            "reverses, created_at FROM ledger_transfers WHERE id = ANY(%s) ORDER BY seq",
            (ids,),
        ).fetchall()
    warehouse(settings, [to_event(r) for r in rows])


def warehouse(settings: Settings, events: list[Any]) -> None:
    client = connect(settings.clickhouse.url, database=settings.clickhouse.database)
    # A topic of its own: rows written under a real topic name with made-up offsets would make
    # the real sink take that partition's records for already written (its high-water mark).
    topic = f"test.finance.{uuid.uuid4().hex[:10]}"
    WarehouseWriter(client, "finance-test")([Received(e, topic, 0, i, 0) for i, e in enumerate(events)])


def resources() -> FinanceResources:
    """The real resources, read from the settings when called (the folders the test points at)."""
    return platform_resources(Settings())


def run_day(day: date) -> Any:
    return materialize(ASSETS, partition_key=day.isoformat(), raise_on_error=False, resources=resources())


def payouts(settings: Settings, creators: list[str]) -> dict[str, tuple[str, int, str]]:
    with psycopg.connect(settings.postgres.dsn()) as conn:
        rows = conn.execute(
            "SELECT creator_id, status, amount_cents, period::text FROM creator_payouts WHERE creator_id = ANY(%s)",
            (creators,),
        ).fetchall()
    return {r[0]: (r[1], int(r[2]), r[3]) for r in rows}


def available(settings: Settings, creator: str) -> int:
    async def read(ledger: Any) -> int:
        return int((await ledger.balance(account(AccountKind.CREATOR_EARNINGS, creator))).available)

    return asyncio.run(run_with_ledger(settings.postgres.dsn(), read))


def check_passed(result: Any, name: str) -> bool:
    evaluations = [e for e in result.get_asset_check_evaluations() if e.check_name == name]
    assert evaluations, f"check {name} did not run"
    return all(e.passed for e in evaluations)


@pytest.fixture
def creators() -> Iterator[dict[str, str]]:
    tag = uuid.uuid4().hex[:6]
    return {k: f"{k}-{tag}" for k in ("big", "small", "wiped", "other")}


def test_a_day_is_paid_once_with_statements_and_exclusions(
    settings: Settings, creators: dict[str, str], finance_folders: Path
) -> None:
    day = days_ago(3)
    big, small, wiped = creators["big"], creators["small"], creators["wiped"]
    earn(settings, day, {big: [3000, 2000, 700], small: [300], wiped: [800]}, reversals={wiped: 800})
    result = run_day(day)
    assert result.success
    assert check_passed(result, "matches_warehouse")
    assert check_passed(result, "great_expectations")
    assert payouts(settings, [big, small, wiped]) == {big: ("pending", 5700, day.isoformat())}
    with psycopg.connect(settings.postgres.dsn()) as conn:
        reasons = dict(
            conn.execute(
                "SELECT creator_id, reason FROM payout_exclusions WHERE creator_id = ANY(%s)",
                ([small, wiped],),
            ).fetchall()
        )
    assert "below the 1000 minimum" in reasons[small]
    assert "nothing payable" in reasons[wiped]
    assert available(settings, big) == 0  # reserved by the pending payout
    statement = pd.read_parquet(finance_folders / "statements" / day.isoformat() / f"{big}.parquet")
    assert list(statement["kind"]) == ["gift", "gift", "gift", "payout"]
    assert statement["coins"].sum() == 0  # every gift earned, then paid out
    assert (finance_folders / "statements" / day.isoformat() / f"{big}.csv").exists()
    pid = payout_id(big, day)
    event = PayoutPending.model_validate_json(
        read_topic(
            settings, TOPICS.for_event(PayoutPending).name, lambda m: str(pid).encode() in (m.value() or b"")
        ).value()
    )
    assert (event.amount_cents, event.currency, event.period_start) == (5700, "USD", day)

    # A rerun of the same day pays nothing twice.
    again = run_day(day)
    assert again.success
    assert payouts(settings, [big]) == {big: ("pending", 5700, day.isoformat())}
    with psycopg.connect(settings.postgres.dsn()) as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM ledger_transfers WHERE kind = 'payout' AND reference_id = %s", (str(pid),)
        ).fetchone() or (0,)
    assert count == 1


def settle_file(folder: Path, name: str, lines: list[str]) -> dict[str, int]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("payout_id,status,amount_cents,provider_ref\n" + "\n".join(lines) + "\n")
    result = confirm_payouts.execute_in_process(
        run_config={"ops": {"apply_settlement_file": {"config": {"path": str(path)}}}}, resources=resources()
    )
    assert result.success
    assert (folder / "processed" / name).exists()
    counts: dict[str, int] = result.output_for_node("apply_settlement_file")
    return counts


def test_the_provider_confirms_or_fails_payouts_and_bad_lines_are_refused(
    settings: Settings, creators: dict[str, str], finance_folders: Path
) -> None:
    day = days_ago(4)
    paid, failed = creators["big"], creators["other"]
    earn(settings, day, {paid: [2500], failed: [4000]})
    assert run_day(day).success
    folder = finance_folders / "settlements"
    counts = settle_file(
        folder,
        "batch-1.csv",
        [
            f"{payout_id(paid, day)},paid,2500,prov-1",
            f"{payout_id(failed, day)},failed,4000,prov-2",
            f"{uuid.uuid4()},paid,100,prov-3",  # unknown payout
            f"{payout_id(paid, day)},paid,2499,prov-4",  # wrong amount
        ],
    )
    assert counts == {"applied": 2, "duplicate": 0, "rejected": 2}
    assert payouts(settings, [paid, failed]) == {
        paid: ("paid", 2500, day.isoformat()),
        failed: ("failed", 4000, day.isoformat()),
    }
    assert available(settings, paid) == 0  # paid out
    assert available(settings, failed) == 4000  # the failure restored the creator's payable
    with psycopg.connect(settings.postgres.dsn()) as conn:
        flags = dict(
            conn.execute(
                "SELECT pending_id, flags FROM ledger_transfers WHERE pending_id = ANY(%s)",
                ([pending_transfer_id(payout_id(paid, day)), pending_transfer_id(payout_id(failed, day))],),
            ).fetchall()
        )
        rejected = conn.execute(
            "SELECT reason FROM payout_settlement_rejections WHERE file_name = 'batch-1.csv' ORDER BY id DESC LIMIT 2"
        ).fetchall()
    assert sorted(flags.values()) == ["post_pending", "void_pending"]
    assert "2499" in rejected[0][0]  # line 5: the wrong amount
    assert "no payout" in rejected[1][0]  # line 4: an unknown payout
    # The same file again changes nothing.
    assert settle_file(folder, "batch-1-again.csv", [f"{payout_id(paid, day)},paid,2500,prov-1"]) == {
        "applied": 0,
        "duplicate": 1,
        "rejected": 0,
    }
    # The failed creator's coins are paid with the next day's batch.
    next_day = days_ago(3)
    assert run_day(next_day).success
    with psycopg.connect(settings.postgres.dsn()) as conn:
        history = conn.execute(
            "SELECT period, amount_cents, status FROM creator_payouts WHERE creator_id = %s ORDER BY period",
            (failed,),
        ).fetchall()
    assert history == [(day, 4000, "failed"), (next_day, 4000, "pending")]  # the failure stays on record


def books_disagree_day() -> date:
    """A day of its own for a test that leaves the warehouse disagreeing with the ledger. The
    warehouse is append-only, so its ghost posting stays; on a recent day, a later run of the
    suite whose test had that day (``days_ago`` moves on daily) would find the books disagreeing
    and fail. ``days_ago`` never reaches back to the first half of 2026."""
    return date(2026, 1, 2) + timedelta(days=random.randrange(180))


def test_a_broken_reconciliation_blocks_the_payout(settings: Settings, creators: dict[str, str]) -> None:
    day = books_disagree_day()
    creator = creators["big"]
    earn(settings, day, {creator: [5000]})
    # ClickHouse sees a posting the ledger does not have: the books disagree.
    ghost = Transfer(
        uuid.uuid4(),
        uuid.uuid4(),
        "gift",
        Flags.POSTED,
        COINS,
        999,
        "user_coins:ghost",
        account(AccountKind.CREATOR_EARNINGS, creator),
        "ghost",
    )
    noon = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
    warehouse(
        settings,
        [
            to_event(
                (
                    0,
                    ghost.id,
                    ghost.posting_id,
                    "gift",
                    "posted",
                    "COINS",
                    999,
                    ghost.debit_account,
                    ghost.credit_account,
                    "ghost",
                    None,
                    noon,
                )
            )
        ],
    )
    result = run_day(day)
    assert not check_passed(result, "matches_warehouse")
    # This run's creator among the differences (not only another run's ghost on the same day).
    differences = [
        str(e.metadata["differences"].value)
        for e in result.get_asset_check_evaluations()
        if e.check_name == "matches_warehouse"
    ]
    assert any(f"| {creator} " in table for table in differences), differences
    materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert "payout_batch" not in materialized
    assert "payout_postings" not in materialized
    assert payouts(settings, [creator]) == {}


def test_a_failing_expectation_blocks_the_payout(
    settings: Settings, creators: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    day = days_ago(6)
    creator = creators["big"]
    earn(settings, day, {creator: [5000]})
    monkeypatch.setenv("FINANCE_CURRENCY", "XXX")  # not a currency the provider pays in
    result = run_day(day)
    assert check_passed(result, "matches_warehouse")
    assert not check_passed(result, "great_expectations")
    assert "payout_postings" not in {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert payouts(settings, [creator]) == {}
    # The blocked day is recorded, and the exporter reports it (PayoutChecksFailing pages finance).
    with psycopg.connect(settings.postgres.dsn()) as conn:
        (passed, failed) = conn.execute(
            "SELECT passed, failed FROM payout_check_runs WHERE period = %s ORDER BY checked_at DESC LIMIT 1",
            (day,),
        ).fetchone() or (None, None)
    assert passed is False
    assert failed, "the failed expectations are named"

    async def exported() -> float:
        pool = AsyncConnectionPool(settings.postgres.dsn(), min_size=1, max_size=1, open=False)
        await pool.open(wait=True)
        try:
            await report_payouts(pool)
        finally:
            await pool.close()
        return REGISTRY.get_sample_value("payout_checks_failing") or 0.0

    assert asyncio.run(exported()) >= 1


def test_a_backfill_over_several_days_is_idempotent(settings: Settings, creators: dict[str, str]) -> None:
    first, second = days_ago(8), days_ago(7)
    a, b = creators["big"], creators["other"]
    earn(settings, first, {a: [1500], b: [600]})
    earn(settings, second, {a: [1000], b: [600]})
    for _ in range(2):
        for day in (first, second):
            assert run_day(day).success
    with psycopg.connect(settings.postgres.dsn()) as conn:
        rows = conn.execute(
            "SELECT creator_id, period::text, amount_cents FROM creator_payouts WHERE creator_id = ANY(%s) "
            "ORDER BY creator_id, period",
            ([a, b],),
        ).fetchall()
    # a: each day's earnings; b: 600 is under the minimum on the first day, carried to the second.
    assert rows == [
        (a, first.isoformat(), 1500),
        (a, second.isoformat(), 1000),
        (b, second.isoformat(), 1200),
    ]


def test_a_day_that_is_not_over_is_never_paid() -> None:
    today = datetime.now(UTC).date()
    with pytest.raises(DagsterUnknownPartitionError):  # the daily partitions end with the last full day
        run_day(today)


def test_a_settlement_file_landing_starts_a_confirmation_run(finance_folders: Path) -> None:
    folder = finance_folders / "settlements"
    assert isinstance(next(iter(settlement_files(build_sensor_context(resources=resources())))), SkipReason)
    folder.mkdir(parents=True)
    (folder / "provider-2026-11-27.csv").write_text("payout_id,status,amount_cents,provider_ref\n")
    (request,) = list(settlement_files(build_sensor_context(resources=resources())))
    assert isinstance(request, RunRequest)
    assert request.run_config == {
        "ops": {"apply_settlement_file": {"config": {"path": str(folder / "provider-2026-11-27.csv")}}}
    }


def test_an_out_of_order_backfill_never_pays_twice(settings: Settings, creators: dict[str, str]) -> None:
    earlier, later = days_ago(10), days_ago(9)
    creator = creators["big"]
    earn(settings, earlier, {creator: [2000]})
    earn(settings, later, {creator: [3000]})
    assert run_day(later).success  # pays everything earned until the end of the later day
    assert run_day(earlier).success  # then the earlier day: already covered
    with psycopg.connect(settings.postgres.dsn()) as conn:
        rows = conn.execute(
            "SELECT period, amount_cents FROM creator_payouts WHERE creator_id = %s", (creator,)
        ).fetchall()
        (reason,) = conn.execute(
            "SELECT reason FROM payout_exclusions WHERE creator_id = %s AND period = %s", (creator, earlier)
        ).fetchone() or ("",)
    assert rows == [(later, 5000)]
    assert reason == "a later period is already paid, which covered this one"
