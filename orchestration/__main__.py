"""Finance from the command line (the same Dagster definitions the UI shows).

    python -m orchestration pay --day 2026-11-27 [--to 2026-11-30]   materialize the payout assets per day
    python -m orchestration preview                                  today's batch as it stands (nothing posted)
    python -m orchestration settle <file.csv>                        apply a provider settlement file

Runs are recorded in DAGSTER_HOME (default .cache/dagster), so they show in `make dagster`.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, timedelta
from typing import TYPE_CHECKING

from orchestration import dagster_home

if TYPE_CHECKING:
    from orchestration.resources import FinanceResources


def finance_resources() -> FinanceResources:
    from orchestration.resources import platform_resources
    from streams.settings import Settings

    return platform_resources(Settings())


def pay(first: date, last: date) -> int:
    from dagster import DagsterInstance, materialize

    from orchestration.definitions import ASSETS, QUIET

    resources = finance_resources()
    failed = 0
    day = first
    while day <= last:
        result = materialize(
            ASSETS,
            partition_key=day.isoformat(),
            instance=DagsterInstance.get(),
            raise_on_error=False,
            run_config=QUIET,
            resources=resources,
        )
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        batch = result.asset_value("payout_batch") if result.success else None
        print(f"{day}: {'paid' if result.success else 'BLOCKED'}; checks {checks}")
        if batch is not None and not batch.empty:
            print(batch.to_string(index=False))
        failed += 0 if result.success else 1
        day += timedelta(days=1)
    return 1 if failed else 0


def preview() -> int:
    from orchestration.preview import preview_batch

    result = preview_batch(finance_resources()["ledger"])
    batch = result.batch
    print(
        f"payout batch for {result.period} as it stands (paid by the 01:00 UTC schedule once the day is over): "
        f"{len(batch)} payouts, {int(batch['amount_cents'].sum()) if len(batch) else 0} cents; "
        f"{len(result.excluded)} creators left out; Great Expectations suite "
        + ("passed" if result.quality.passed else f"FAILED: {result.quality.failed}")
    )
    if len(batch):
        print(batch.head(20).to_string(index=False))
    return 0 if result.quality.passed else 1


def settle(path: str) -> int:
    from dagster import DagsterInstance

    from orchestration.definitions import confirm_payouts

    result = confirm_payouts.execute_in_process(
        run_config={"ops": {"apply_settlement_file": {"config": {"path": path}}}},
        instance=DagsterInstance.get(),
        resources=finance_resources(),
    )
    print(result.output_for_node("apply_settlement_file") if result.success else "FAILED")
    return 0 if result.success else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    pay_cmd = commands.add_parser(
        "pay", help="materialize the payout assets for one day or a range (backfill)"
    )
    pay_cmd.add_argument("--day", type=date.fromisoformat, required=True)
    pay_cmd.add_argument("--to", type=date.fromisoformat, default=None)
    commands.add_parser("preview", help="today's batch as it stands; nothing is posted")
    settle_cmd = commands.add_parser("settle", help="apply a provider settlement file")
    settle_cmd.add_argument("file")
    args = parser.parse_args(argv)
    dagster_home()
    if args.command == "pay":
        return pay(args.day, args.to or args.day)
    if args.command == "preview":
        return preview()
    return settle(args.file)


if __name__ == "__main__":
    sys.exit(main())
