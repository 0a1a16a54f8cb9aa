"""Today's payout batch as it stands: the same planning and Great Expectations suite as the
daily job, on payables until now. Nothing is posted (the scheduled job pays the day once it
is over)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pandas as pd

from orchestration.definitions import BATCH_COLUMNS, with_store
from orchestration.payouts import Exclusion, FinanceStore, PayoutLine, plan
from orchestration.quality import SuiteOutcome, validate_batch


@dataclass(frozen=True)
class Preview:
    period: date
    batch: pd.DataFrame
    excluded: list[Exclusion]
    quality: SuiteOutcome


def preview_batch() -> Preview:
    today = datetime.now(UTC).date()

    async def build(store: FinanceStore) -> tuple[list[PayoutLine], list[Exclusion], dict[str, int]]:
        payables = await store.payables(today)
        lines, excluded = plan(
            today,
            payables,
            await store.payouts_of(today),
            store.finance,
            failed=await store.failed_of(today),
            later=await store.paid_later_than(today),
        )
        return lines, excluded, payables

    lines, excluded, payables = with_store(build)
    frame = pd.DataFrame(
        [
            [str(x.payout_id), x.creator_id, x.period.isoformat(), x.coins, x.amount_cents, x.currency]
            for x in lines
        ],
        columns=BATCH_COLUMNS,
    )
    quality = validate_batch(frame, sum(payables.get(c, 0) for c in frame["creator_id"]))
    return Preview(today, frame, excluded, quality)
