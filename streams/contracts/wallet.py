"""Wallet top-ups: buying coins with real money. Two-phase: pending, then captured or failed."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from streams.contracts.base import Cents, Coins, CurrencyCode, Event, Identifier, NoNul, ShortText, UserId


class ClawbackKind(StrEnum):
    REFUND = "refund"
    CHARGEBACK = "chargeback"


class TopUpPending(Event):
    event_type: Literal["wallet.topup.pending"] = "wallet.topup.pending"
    schema_version: Literal[1] = 1
    topup_id: uuid.UUID
    user_id: UserId
    amount_cents: Cents = Field(gt=0)
    currency: CurrencyCode
    coins: Coins = Field(gt=0)
    payment_instrument_id: Identifier
    device_id: Identifier | None = None
    ip: Annotated[str, StringConstraints(max_length=45), NoNul] | None = None


class TopUpCaptured(Event):
    event_type: Literal["wallet.topup.captured"] = "wallet.topup.captured"
    schema_version: Literal[1] = 1
    topup_id: uuid.UUID
    user_id: UserId
    amount_cents: Cents = Field(gt=0)
    currency: CurrencyCode
    coins: Coins = Field(gt=0)
    provider_ref: Identifier
    transfer_id: uuid.UUID


class TopUpFailed(Event):
    event_type: Literal["wallet.topup.failed"] = "wallet.topup.failed"
    schema_version: Literal[1] = 1
    topup_id: uuid.UUID
    user_id: UserId
    reason: ShortText


class TopUpRefunded(Event):
    """Coins clawed back after a refund or chargeback; what was already spent becomes debt."""

    event_type: Literal["wallet.topup.refunded"] = "wallet.topup.refunded"
    schema_version: Literal[1] = 1
    topup_id: uuid.UUID
    user_id: UserId
    kind: ClawbackKind
    amount_cents: Cents = Field(gt=0)
    currency: CurrencyCode
    coins_clawed_back: Coins
    debt_coins: Coins = Field(description="Coins already spent, recorded on the debt account.")
