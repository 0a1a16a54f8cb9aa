"""The platform exporter: the gauges no single deployable can report about itself.

- ``kafka_consumer_lag{group, topic}`` for every platform consumer group, read from the broker
  (a stopped sink cannot say that it is falling behind; this process can);
- the ledger audit (``streams.ledger.store.PostgresLedger.audit``): assets whose postings do not
  sum to zero, overdrawn wallets, balances that differ from their transfers, and when the audit
  last ran to the end;
- the payout job's state: days whose batch failed its quality check (blocked, nobody paid) and
  payouts by status.

    python -m streams.exporter [--metrics-port 0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import time
from pathlib import Path

import confluent_kafka
import structlog
from confluent_kafka.admin import AdminClient
from prometheus_client import Gauge
from psycopg_pool import AsyncConnectionPool

from streams.ledger.store import PostgresLedger
from streams.logs import configure_logging
from streams.metrics import CONSUMER_LAG, group_lag, serve_metrics
from streams.postgres.named_sql import load
from streams.settings import Settings
from streams.telemetry import init_telemetry

log = structlog.get_logger(__name__)
SQL = load(Path(__file__).with_name("exporter.sql"))

LEDGER_UNBALANCED = Gauge("ledger_unbalanced_assets", "Assets whose account balances do not sum to zero")
LEDGER_OVERDRAWN = Gauge("ledger_overdrawn_accounts", "User wallets below zero (never allowed)")
LEDGER_UNRECONCILED = Gauge(
    "ledger_unreconciled_accounts", "Accounts whose balance differs from their transfers"
)
LEDGER_AUDITED_AT = Gauge(
    "ledger_audit_last_success_timestamp_seconds", "When the ledger audit last completed"
)
PAYOUT_CHECKS_FAILING = Gauge(
    "payout_checks_failing", "Periods of the last 7 days whose latest payout-batch quality check failed"
)
PAYOUT_LAST_CHECK = Gauge("payout_check_last_timestamp_seconds", "When a payout batch was last checked")
PAYOUTS = Gauge("payouts", "Payouts of the last 7 days' periods, by status", ["status"])
LAG_MEASURED_AT = Gauge(
    "kafka_consumer_lag_last_success_timestamp_seconds", "When consumer lag was last read"
)


def report_lag(admin: AdminClient, groups: list[str]) -> None:
    for group in groups:
        for topic, behind in group_lag(admin, group).items():
            CONSUMER_LAG.labels(group, topic).set(behind)
    LAG_MEASURED_AT.set(time.time())


async def audit_ledger(ledger: PostgresLedger) -> None:
    audit = await ledger.audit()
    LEDGER_UNBALANCED.set(sum(1 for total in audit.sums.values() if total != 0))
    LEDGER_OVERDRAWN.set(len(audit.overdrawn))
    LEDGER_UNRECONCILED.set(len(audit.unreconciled))
    LEDGER_AUDITED_AT.set(time.time())
    if audit.overdrawn or audit.unreconciled or any(audit.sums.values()):
        log.error(
            "ledger_audit_failed",
            sums=audit.sums,
            overdrawn=audit.overdrawn[:20],
            unreconciled=audit.unreconciled[:20],
        )


async def report_payouts(pool: AsyncConnectionPool) -> None:
    """The payout job's state: blocked days (failed quality checks) and payouts by status."""
    async with pool.connection() as conn:
        checks = await (await conn.execute(SQL["payout_checks"])).fetchall()
        statuses: dict[str, int] = dict(await (await conn.execute(SQL["payouts_by_status"])).fetchall())
    PAYOUT_CHECKS_FAILING.set(sum(1 for _, passed, _ in checks if not passed))
    if checks:
        PAYOUT_LAST_CHECK.set(max(at for _, _, at in checks).timestamp())
    for status in ("pending", "paid", "failed"):
        PAYOUTS.labels(status).set(int(statuses.get(status, 0)))


async def run(settings: Settings, stop: asyncio.Event) -> None:
    observe = settings.observe
    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    pool = AsyncConnectionPool(settings.postgres.dsn(), min_size=1, max_size=1, open=False)
    await pool.open(wait=False)
    ledger = PostgresLedger(pool)
    audited = 0.0
    try:
        while not stop.is_set():
            started = time.monotonic()
            try:
                await asyncio.to_thread(report_lag, admin, observe.groups)
            except (confluent_kafka.KafkaException, RuntimeError) as err:
                log.warning("lag_unavailable", error=str(err)[:200])
            if time.monotonic() - audited >= observe.audit_every_s:
                try:
                    await audit_ledger(ledger)
                    await report_payouts(pool)
                    audited = time.monotonic()
                except Exception as err:  # an outage: the timestamp stops moving, an alert says so
                    log.warning("ledger_audit_unavailable", error=repr(err)[:200])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    stop.wait(), max(0.0, observe.lag_every_s - (time.monotonic() - started))
                )
    finally:
        await pool.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--metrics-port", type=int, default=0, help="Prometheus metrics on loopback (0: any free port)"
    )
    args = parser.parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_format)
    init_telemetry(settings, "exporter")
    serve_metrics("exporter", settings.local.run_dir, port=args.metrics_port)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run(settings, stop)

    asyncio.run(serve())


if __name__ == "__main__":
    main()
