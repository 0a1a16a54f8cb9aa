"""Request and response bodies of the HTTP API (the events themselves live in the contracts)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from streams.contracts.base import Identifier, NoNul, RoomId, UserId


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class TopUpRequest(Body):
    amount_cents: int = Field(gt=0, le=100_000_00, description="What the viewer pays, in cents (integer).")
    currency: Literal["USD"] = "USD"
    payment_instrument_id: Identifier
    device_id: Identifier | None = None


class TopUpResponse(Body):
    topup_id: uuid.UUID
    status: Literal["pending"]
    amount_cents: int
    currency: str
    coins: int


class WebhookEvent(Body):
    id: Annotated[str, StringConstraints(min_length=1, max_length=128), NoNul]
    type: Literal["payment.captured", "payment.failed", "charge.refunded", "charge.dispute.lost"]
    topup_id: uuid.UUID
    provider_ref: Identifier
    reason: Annotated[str, StringConstraints(max_length=500), NoNul] = ""


class GiftBody(Body):
    creator_id: UserId
    room_id: RoomId
    gift_sku: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
    quantity: int = Field(default=1, ge=1, le=10_000)


class GiftAccepted(Body):
    gift_id: uuid.UUID
    status: Literal["requested"]
    total_coins: int


class Balance(Body):
    user_id: str
    available: int
    balance: int
    pending_in: int
    pending_out: int
    debt: int


class StatementItem(Body):
    seq: int
    transfer_id: uuid.UUID
    kind: str
    direction: Literal["in", "out"]
    amount: int
    counterparty: str
    reference_id: str
    at: str


class Statement(Body):
    account: str
    items: list[StatementItem]
    next_cursor: int | None


class Earnings(Body):
    creator_id: str
    balance: int
    credited: int
    debited: int
