"""Ledger postings, published from the PostgreSQL outbox once per transfer."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from streams.contracts.base import Event, NoNul, UtcDatetime

AccountId = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[a-z_]+:[A-Za-z0-9_.:-]+$")
]
"""``kind:owner``, e.g. ``user_coins:u42``, ``creator_earnings:c7``, ``system:platform_revenue``."""


class Asset(StrEnum):
    COINS = "COINS"
    USD_CENTS = "USD_CENTS"
    EUR_CENTS = "EUR_CENTS"
    GBP_CENTS = "GBP_CENTS"


class TransferState(StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"


class TransferKind(StrEnum):
    TOPUP = "topup"
    GIFT = "gift"
    GIFT_FEE = "gift_fee"
    PAYOUT = "payout"
    REFUND = "refund"
    CHARGEBACK = "chargeback"
    REVERSAL = "reversal"
    ADJUSTMENT = "adjustment"


LEDGER_OUTBOX = "ledger-outbox"
"""The ``producer`` of every ledger posting: the ledger's outbox relay, their only publisher."""


class LedgerPosted(Event):
    """One transfer leg: ``amount`` of ``asset`` moved from ``debit_account`` to ``credit_account``."""

    event_type: Literal["ledger.posted"] = "ledger.posted"
    schema_version: Literal[1] = 1
    transfer_id: uuid.UUID
    posting_id: uuid.UUID = Field(description="The atomic posting (several legs) this transfer belongs to.")
    kind: TransferKind
    state: TransferState
    asset: Asset
    amount: int = Field(gt=0, le=10**12)
    debit_account: AccountId
    credit_account: AccountId
    reference_id: Annotated[str, StringConstraints(max_length=128), NoNul] = Field(
        description="What caused it: a gift id, top-up id or payout id."
    )
    posted_at: UtcDatetime
    reverses: uuid.UUID | None = None
