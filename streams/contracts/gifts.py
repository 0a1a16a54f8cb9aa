"""Gifts: a viewer pays coins to a creator in a room. Keyed by the paying wallet."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from streams.contracts.base import Coins, Event, Identifier, NoNul, RoomId, ShortText, UserId

GiftSku = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]


class GiftRejectReason(StrEnum):
    INSUFFICIENT_FUNDS = "insufficient_funds"
    FRAUD_BLOCK = "fraud_block"
    FRAUD_REVIEW = "fraud_review"
    SENDER_BANNED = "sender_banned"
    UNKNOWN_GIFT = "unknown_gift"
    UNKNOWN_CREATOR = "unknown_creator"
    SELF_GIFT = "self_gift"


class GiftRoomProblem(StrEnum):
    """Why a room refuses a gift, whatever the fraud rules say: the room is not open or not the
    creator's, or the sender is banned or timed out there."""

    UNKNOWN_CREATOR = "unknown_creator"
    SENDER_BANNED = "sender_banned"


class GiftRequested(Event):
    event_type: Literal["gift.requested"] = "gift.requested"
    schema_version: Literal[1] = 1
    gift_id: uuid.UUID = Field(description="Idempotency key of the gift: at most one settlement per id.")
    sender_id: UserId
    creator_id: UserId
    room_id: RoomId
    gift_sku: GiftSku
    quantity: int = Field(ge=1, le=10_000)
    unit_price_coins: Coins = Field(description="Catalog price at request time.")
    total_coins: Coins
    device_id: Identifier | None = None
    ip: Annotated[str, StringConstraints(max_length=45), NoNul] | None = None

    @model_validator(mode="after")
    def _total_matches(self) -> GiftRequested:
        if self.total_coins != self.unit_price_coins * self.quantity:
            raise ValueError("total_coins must equal unit_price_coins * quantity")
        return self


class GiftSettled(Event):
    event_type: Literal["gift.settled"] = "gift.settled"
    schema_version: Literal[1] = 1
    gift_id: uuid.UUID
    sender_id: UserId
    creator_id: UserId
    room_id: RoomId
    gift_sku: GiftSku
    quantity: int = Field(ge=1)
    total_coins: Coins
    creator_share_coins: Coins
    platform_fee_coins: Coins
    transfer_id: uuid.UUID
    sender_balance_after: Coins

    @model_validator(mode="after")
    def _legs_add_up(self) -> GiftSettled:
        if self.creator_share_coins + self.platform_fee_coins != self.total_coins:
            raise ValueError("creator_share_coins + platform_fee_coins must equal total_coins")
        return self


class GiftRejected(Event):
    event_type: Literal["gift.rejected"] = "gift.rejected"
    schema_version: Literal[1] = 1
    gift_id: uuid.UUID
    sender_id: UserId
    creator_id: UserId
    room_id: RoomId
    gift_sku: GiftSku
    total_coins: Coins
    reason: GiftRejectReason
    detail: ShortText = ""


class GiftScreened(Event):
    """A gift request after the fraud rules: settlement acts on ``decision``."""

    event_type: Literal["gift.screened"] = "gift.screened"
    schema_version: Literal[1] = 1
    gift_id: uuid.UUID
    sender_id: UserId
    creator_id: UserId
    room_id: RoomId
    gift_sku: GiftSku
    quantity: int = Field(ge=1, le=10_000)
    unit_price_coins: Coins
    total_coins: Coins
    decision: Literal["allow", "review", "block"]
    rules: tuple[Annotated[str, StringConstraints(max_length=64), NoNul], ...] = Field(
        default=(), description="Enforced rules that fired (shadow rules only raise alerts)."
    )
    room_problem: GiftRoomProblem | None = Field(
        default=None,
        description="Set when the room refused the gift before any fraud rule (decision is block).",
    )
