"""Creator payouts: two-phase, one per creator per period, never paid twice."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import Field, model_validator

from streams.contracts.base import Cents, CurrencyCode, Event, Identifier, ShortText, UserId


class _PayoutEvent(Event):
    payout_id: uuid.UUID = Field(
        description="Deterministic from (creator, period): reruns pay nothing twice."
    )
    creator_id: UserId
    period_start: date
    period_end: date
    amount_cents: Cents = Field(gt=0)
    currency: CurrencyCode

    @model_validator(mode="after")
    def _period_is_ordered(self) -> _PayoutEvent:
        if self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        return self


class PayoutPending(_PayoutEvent):
    event_type: Literal["payout.pending"] = "payout.pending"
    schema_version: Literal[1] = 1


class PayoutPaid(_PayoutEvent):
    event_type: Literal["payout.paid"] = "payout.paid"
    schema_version: Literal[1] = 1
    provider_ref: Identifier


class PayoutFailed(_PayoutEvent):
    event_type: Literal["payout.failed"] = "payout.failed"
    schema_version: Literal[1] = 1
    reason: ShortText
