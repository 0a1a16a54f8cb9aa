# No `from __future__ import annotations` here: Dagster reads the context annotations at runtime.
"""The finance composition root: Dagster assets, checks, jobs, schedule and sensor.

    ledger_creator_earnings  <- warehouse_creator_earnings     (check: ledger == ClickHouse, blocking)
            |
      payout_batch             (check: Great Expectations suite, blocking)
            |
      payout_postings          (pending ledger transfers + payout.pending events)
            |
      creator_statements       (CSV + Parquet per creator per day)

    daily_payouts job (daily partitions), scheduled at 01:00 UTC for the day that ended;
    settlement_files sensor -> confirm_payouts job (post or void each payout).

``make dagster`` serves the UI on 127.0.0.1:3000; ``python -m orchestration`` runs the jobs
from the command line.
"""

import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetIn,
    AssetSelection,
    Config,
    DailyPartitionsDefinition,
    Definitions,
    Failure,
    MetadataValue,
    OpExecutionContext,
    Output,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    asset,
    build_schedule_from_partitioned_job,
    define_asset_job,
    definitions,
    job,
    op,
    sensor,
)

from orchestration.payouts import FinanceStore, PayoutLine, PeriodPlan, day_bounds, read_settlement_file
from orchestration.quality import SuiteOutcome, validate_batch
from orchestration.resources import (
    EventBusResource,
    FinanceFolders,
    FinanceResources,
    LedgerResource,
    WarehouseResource,
    platform_resources,
)
from streams.contracts.payouts import PayoutFailed, PayoutPaid, PayoutPending
from streams.settings import Settings

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
"""Run config for command-line and demo runs: Dagster's console log at WARNING, not DEBUG."""
# The first day the platform pays creators for. Part of the code, not of the environment: the
# partition set is what Dagster keys every run, check and backfill by.
FIRST_PAYOUT_DAY = "2026-01-01"
DAILY = DailyPartitionsDefinition(start_date=FIRST_PAYOUT_DAY, timezone="UTC")
EARNINGS_COLUMNS = ["creator_id", "credited", "debited", "postings"]
BATCH_COLUMNS = ["payout_id", "creator_id", "period", "coins", "amount_cents", "currency"]


def period_of(context: AssetExecutionContext) -> date:
    period = date.fromisoformat(context.partition_key)
    _, end = day_bounds(period)
    if end > datetime.now(UTC):
        raise Failure(
            f"period {period} is not over yet (it ends {end.isoformat()}): partial days are never paid"
        )
    return period


def batch_frame(lines: list[PayoutLine]) -> pd.DataFrame:
    """A payout batch as the table the checks, the postings and the UI see."""
    return pd.DataFrame(
        [
            [str(x.payout_id), x.creator_id, x.period.isoformat(), x.coins, x.amount_cents, x.currency]
            for x in lines
        ],
        columns=BATCH_COLUMNS,
    ).astype({"coins": "int64", "amount_cents": "int64"})


def check_batch(frame: pd.DataFrame, payables: dict[str, int]) -> SuiteOutcome:
    """The GX suite, with the ledger's payables for the batch's creators as the expected total."""
    return validate_batch(frame, sum(payables.get(creator, 0) for creator in frame["creator_id"]))


@asset(partitions_def=DAILY, group_name="finance", compute_kind="clickhouse")
def warehouse_creator_earnings(context: AssetExecutionContext, warehouse: WarehouseResource) -> pd.DataFrame:
    """Creator earnings of the day as the warehouse saw them (ledger.postings -> ClickHouse)."""
    rows = warehouse.rows("WAREHOUSE_EARNINGS_DAY", {"day": context.partition_key})
    frame = pd.DataFrame([list(r) for r in rows], columns=EARNINGS_COLUMNS).astype(
        {"credited": "int64", "debited": "int64", "postings": "int64"}
    )
    context.add_output_metadata({"creators": len(frame), "credited": int(frame["credited"].sum())})
    return frame


@asset(
    partitions_def=DAILY,
    group_name="finance",
    compute_kind="postgres",
    ins={"in_warehouse": AssetIn("warehouse_creator_earnings")},
    check_specs=[
        AssetCheckSpec(
            "matches_warehouse",
            asset="ledger_creator_earnings",
            blocking=True,
            description="Per creator, the ledger's credits and debits of the day equal ClickHouse's; no payout runs otherwise.",
        )
    ],
)
def ledger_creator_earnings(
    context: AssetExecutionContext, in_warehouse: pd.DataFrame, ledger: LedgerResource
) -> Iterator[Any]:
    """Creator earnings of the day from the ledger of record (PostgreSQL)."""
    period = date.fromisoformat(context.partition_key)
    rows = ledger.run(lambda store: store.earnings_of_day(period))
    frame = pd.DataFrame([list(r) for r in rows], columns=EARNINGS_COLUMNS).astype(
        {"credited": "int64", "debited": "int64", "postings": "int64"}
    )
    joined = frame.merge(
        in_warehouse, on="creator_id", how="outer", suffixes=("_ledger", "_warehouse")
    ).fillna(0)
    differs = joined[
        (joined["credited_ledger"] != joined["credited_warehouse"])
        | (joined["debited_ledger"] != joined["debited_warehouse"])
    ]
    yield Output(frame, metadata={"creators": len(frame), "credited": int(frame["credited"].sum())})
    yield AssetCheckResult(
        check_name="matches_warehouse",
        passed=differs.empty,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "creators_compared": len(joined),
            "creators_differing": len(differs),
            "differences": MetadataValue.md(
                differs.head(20).to_markdown(index=False) if not differs.empty else "none"
            ),
        },
    )


@asset(
    partitions_def=DAILY,
    group_name="finance",
    ins={"earnings": AssetIn("ledger_creator_earnings")},
    check_specs=[
        AssetCheckSpec(
            "great_expectations",
            asset="payout_batch",
            blocking=True,
            description="GX suite: no nulls, positive amounts, one row per creator, valid currency, totals equal the ledger payables.",
        )
    ],
)
def payout_batch(
    context: AssetExecutionContext, earnings: pd.DataFrame, ledger: LedgerResource
) -> Iterator[Any]:
    """The period's payouts: creators whose payable converts to at least the minimum, in integer
    cents, with ids derived from (creator, period). Exclusions are recorded with their reason."""
    period = period_of(context)

    async def build(store: FinanceStore) -> PeriodPlan:
        planned = await store.plan_period(period)
        await store.record_exclusions(period, planned.excluded)
        return planned

    planned = ledger.run(build)
    excluded, frame = planned.excluded, batch_frame(planned.lines)
    yield Output(
        frame,
        metadata={
            "payouts": len(frame),
            "amount_cents": int(frame["amount_cents"].sum()),
            "excluded": MetadataValue.json(
                [{"creator": e.creator_id, "payable": e.payable, "reason": e.reason} for e in excluded]
            ),
            "earned_today_by": len(earnings),
        },
    )
    outcome = check_batch(frame, planned.payables)
    ledger.run(lambda store: store.record_check(period, outcome.passed, outcome.checked, outcome.failed))
    yield AssetCheckResult(
        check_name="great_expectations",
        passed=outcome.passed,
        severity=AssetCheckSeverity.ERROR,
        metadata={"expectations": outcome.checked, "failed": MetadataValue.json(outcome.failed)},
    )


@asset(
    partitions_def=DAILY,
    group_name="finance",
    compute_kind="postgres",
    ins={"batch": AssetIn("payout_batch")},
)
def payout_postings(
    context: AssetExecutionContext, batch: pd.DataFrame, ledger: LedgerResource, events: EventBusResource
) -> pd.DataFrame:
    """Reserve each payout in the ledger (pending, from the creator's earnings to payout
    clearing) and announce it; payouts that exist already are left alone (reruns, backfills)."""
    period = period_of(context)

    async def post(store: FinanceStore) -> tuple[list[dict[str, Any]], list[Any]]:
        existing = await store.payouts_of(period)
        results, events = [], []
        for row in batch.itertuples(index=False):
            if row.creator_id in existing:
                results.append({"creator_id": row.creator_id, "status": "existing"})
                continue
            line = PayoutLine(
                uuid.UUID(row.payout_id),
                row.creator_id,
                period,
                int(row.coins),
                int(row.amount_cents),
                row.currency,
            )
            ok = await store.post_pending(line)
            results.append(
                {"creator_id": row.creator_id, "status": "pending" if ok else "refused: funds moved"}
            )
            if ok:
                events.append(
                    PayoutPending(
                        payout_id=line.payout_id,
                        creator_id=row.creator_id,
                        period_start=period,
                        period_end=period,
                        amount_cents=int(row.amount_cents),
                        currency=row.currency,
                        producer="finance",
                    )
                )
        return results, events

    results, announced = ledger.run(post)
    events.publish(announced)
    frame = pd.DataFrame(results, columns=["creator_id", "status"])
    context.add_output_metadata({"new_payouts": len(announced), "rows": len(frame)})
    return frame


@asset(partitions_def=DAILY, group_name="finance", ins={"postings": AssetIn("payout_postings")})
def creator_statements(
    context: AssetExecutionContext, postings: pd.DataFrame, ledger: LedgerResource, folders: FinanceFolders
) -> list[str]:
    """Per creator with a payout in the period: every gift earned that day and the payout, as
    CSV and Parquet under FINANCE_STATEMENTS_DIR/<day>/."""
    period = period_of(context)
    folder = folders.statements / period.isoformat()
    folder.mkdir(parents=True, exist_ok=True)

    async def gather(store: FinanceStore) -> dict[str, pd.DataFrame]:
        out = {}
        for creator_id, line in (await store.payouts_of(period)).items():
            gifts = await store.gifts_earned(creator_id, period)
            rows = [
                {
                    "at": at.isoformat(),
                    "kind": "gift",
                    "reference": ref,
                    "coins": coins,
                    "amount_cents": None,
                    "currency": None,
                }
                for at, ref, coins in gifts
            ]
            rows.append(
                {
                    "at": period.isoformat(),
                    "kind": "payout",
                    "reference": str(line.payout_id),
                    "coins": -line.coins,
                    "amount_cents": line.amount_cents,
                    "currency": line.currency,
                }
            )
            out[creator_id] = pd.DataFrame(rows).astype({"coins": "int64", "amount_cents": "Int64"})
        return out

    written = []
    for creator_id, frame in ledger.run(gather).items():
        frame.to_csv(folder / f"{creator_id}.csv", index=False)
        frame.to_parquet(folder / f"{creator_id}.parquet", index=False)
        written += [str(folder / f"{creator_id}.csv"), str(folder / f"{creator_id}.parquet")]
    context.add_output_metadata({"files": len(written), "folder": str(folder)})
    return written


daily_payouts = define_asset_job("daily_payouts", selection=AssetSelection.groups("finance"))


daily_schedule = build_schedule_from_partitioned_job(daily_payouts, hour_of_day=1, minute_of_hour=0)


class SettlementFile(Config):
    path: str


@op
def apply_settlement_file(
    context: OpExecutionContext, config: SettlementFile, ledger: LedgerResource, events: EventBusResource
) -> dict[str, int]:
    """Post (paid) or void (failed) each payout the provider's file names. Lines naming an
    unknown payout or the wrong amount are refused, recorded and logged; nothing is posted."""
    path = Path(config.path)
    lines = read_settlement_file(path)

    async def apply(store: FinanceStore) -> tuple[dict[str, int], list[Any]]:
        counts = {"applied": 0, "duplicate": 0, "rejected": 0}
        outcomes: list[Any] = []
        for line in lines:
            outcome, payout = await store.settle(line)
            if outcome.startswith("rejected"):
                counts["rejected"] += 1
                await store.reject_line(path.name, line, outcome.removeprefix("rejected: "))
                context.log.warning(f"{path.name}:{line.line}: {outcome}")
                continue
            counts[outcome] += 1
            if outcome == "applied" and payout is not None:
                common = {
                    "payout_id": payout["payout_id"],
                    "creator_id": payout["creator_id"],
                    "period_start": payout["period"],
                    "period_end": payout["period"],
                    "amount_cents": payout["amount_cents"],
                    "currency": payout["currency"],
                    "producer": "finance",
                }
                if line.status == "paid":
                    outcomes.append(PayoutPaid(provider_ref=line.provider_ref or "provider", **common))
                else:
                    outcomes.append(PayoutFailed(reason="the provider reported a failure", **common))
        return counts, outcomes

    counts, outcomes = ledger.run(apply)
    events.publish(outcomes)
    done = path.parent / "processed"
    done.mkdir(exist_ok=True)
    shutil.move(str(path), done / path.name)
    context.log.info(f"{path.name}: {counts}")
    return counts


@job
def confirm_payouts() -> None:
    apply_settlement_file()


@sensor(job=confirm_payouts, minimum_interval_seconds=30)
def settlement_files(context: SensorEvaluationContext, folders: FinanceFolders) -> Iterator[Any]:
    """A settlement file (CSV: payout_id,status,amount_cents,provider_ref) landing in
    FINANCE_SETTLEMENT_DIR starts a confirm_payouts run (once per file name and size)."""
    folder = folders.settlements
    files = sorted(folder.glob("*.csv")) if folder.exists() else []
    if not files:
        yield SkipReason(f"no settlement file in {folder}")
        return
    for path in files:
        yield RunRequest(
            run_key=f"{path.name}:{path.stat().st_size}",
            run_config={"ops": {"apply_settlement_file": {"config": {"path": str(path)}}}},
        )


ASSETS = [
    warehouse_creator_earnings,
    ledger_creator_earnings,
    payout_batch,
    payout_postings,
    creator_statements,
]


def finance_definitions(resources: FinanceResources) -> Definitions:
    return Definitions(
        assets=ASSETS,
        jobs=[daily_payouts, confirm_payouts],
        schedules=[daily_schedule],
        sensors=[settlement_files],
        resources=dict(resources),
    )


@definitions
def defs() -> Definitions:
    """What ``dagster dev -m orchestration.definitions`` loads: the settings are read here, when
    the code location loads, never at import."""
    return finance_definitions(platform_resources(Settings()))
