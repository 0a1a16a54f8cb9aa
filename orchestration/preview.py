"""Today's payout batch as it stands: the same planning and Great Expectations suite as the
daily job, on payables until now. Nothing is posted (the scheduled job pays the day once it
is over)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pandas as pd

from orchestration.definitions import batch_frame, check_batch
from orchestration.payouts import Exclusion, FinanceStore, PeriodPlan
from orchestration.quality import SuiteOutcome
from orchestration.resources import LedgerResource


@dataclass(frozen=True)
class Preview:
    period: date
    batch: pd.DataFrame
    excluded: list[Exclusion]
    quality: SuiteOutcome


def preview_batch(ledger: LedgerResource) -> Preview:
    today = datetime.now(UTC).date()

    async def build(store: FinanceStore) -> PeriodPlan:
        return await store.plan_period(today)

    planned = ledger.run(build)
    frame = batch_frame(planned.lines)
    return Preview(today, frame, planned.excluded, check_batch(frame, planned.payables))
