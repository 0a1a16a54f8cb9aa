"""Pending top-ups the payment provider never confirmed are voided once they expire, and the
viewer's app and the warehouse learn it from a ``wallet.topup.failed`` event."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from streams.contracts.wallet import TopUpFailed
from streams.ids import derived_id
from streams.ledger.model import Transfer, owner_of

PRODUCER = "topup-expiry"


class ExpiringLedger(Protocol):
    async def void_expired(self, now: datetime, limit: int = 1000) -> list[Transfer]: ...


class Publisher(Protocol):
    async def send(self, event: TopUpFailed) -> object: ...


async def expire_topups(ledger: ExpiringLedger, producer: Publisher, now: datetime) -> int:
    """Void what expired by ``now``; one failure event per voided top-up (the id a webhook's
    ``payment.failed`` would have used: a top-up fails once, whichever way)."""
    voided = [v for v in await ledger.void_expired(now) if v.kind == "topup"]
    for void in voided:
        topup_id = uuid.UUID(void.reference_id)
        await producer.send(
            TopUpFailed(
                event_id=derived_id("topup-event", topup_id, "failed"),
                topup_id=topup_id,
                user_id=owner_of(void.credit_account),
                reason="expired: the payment was not confirmed in time",
                producer=PRODUCER,
            )
        )
    return len(voided)
