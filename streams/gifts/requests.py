"""Requesting a gift: the one implementation behind ``POST /v1/gifts`` and the socket's
``send_gift``. Prices come from the catalog, never from the client; the sender may not gift
themselves; the room must be open and the creator's, and the sender in good standing there
(the fraud agent checks standing again when it screens the gift, which may be later). The gift's
id derives from the sender and their idempotency key, so a retried request is the same gift.

Refusals are :class:`GiftRefused` with a stable ``reason``; the edge maps them to HTTP problems
and socket acks in one place each.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import ValidationError

from streams.contracts.codec import describe
from streams.contracts.gifts import GiftRequested, GiftRoomProblem
from streams.exceptions import Refused
from streams.gifts.catalog import DEFAULT_CATALOG
from streams.ids import derived_id

# Room standing, as RoomStanding.gift_problems reports it.
UNKNOWN_CREATOR = GiftRoomProblem.UNKNOWN_CREATOR
SENDER_BANNED = GiftRoomProblem.SENDER_BANNED


class GiftRefused(Refused):
    """A gift that is not requested. ``reason``: unknown_gift, self_gift, unknown_recipient,
    sender_banned or invalid (a field out of range)."""


class RoomStanding(Protocol):
    async def gift_problems(self, gifts: Sequence[tuple[str, str, str]]) -> list[GiftRoomProblem | None]:
        """Per (room, sender, creator): UNKNOWN_CREATOR, SENDER_BANNED or None."""
        ...


class Publisher(Protocol):
    async def send(self, event: GiftRequested) -> Any: ...


@dataclass(frozen=True)
class GiftOrder:
    sender_id: str
    creator_id: str
    room_id: str
    gift_sku: str
    quantity: int
    idempotency_key: str
    ip: str | None = None


def gift_id_of(sender_id: str, idempotency_key: str) -> uuid.UUID:
    return derived_id("api-gift", sender_id, idempotency_key)


async def request_gift(
    order: GiftOrder,
    rooms: RoomStanding,
    publisher: Publisher,
    producer: str,
    catalog: Mapping[str, int] = DEFAULT_CATALOG,
) -> GiftRequested:
    """Check the order, publish its ``gift.requested`` and return it (raises GiftRefused)."""
    price = catalog.get(order.gift_sku)
    if price is None:
        raise GiftRefused(
            "unknown_gift", f"unknown gift {order.gift_sku!r}; the catalog has {', '.join(catalog)}"
        )
    if order.creator_id == order.sender_id:
        raise GiftRefused("self_gift", "you cannot send a gift to yourself")
    (problem,) = await rooms.gift_problems([(order.room_id, order.sender_id, order.creator_id)])
    if problem == UNKNOWN_CREATOR:
        raise GiftRefused(
            "unknown_recipient", f"{order.creator_id} is not live in room {order.room_id}: unknown recipient"
        )
    if problem == SENDER_BANNED:
        raise GiftRefused("sender_banned", f"you are banned or timed out in room {order.room_id}")
    gift_id = gift_id_of(order.sender_id, order.idempotency_key)
    try:
        event = GiftRequested(
            event_id=derived_id("gift-requested", gift_id),
            gift_id=gift_id,
            sender_id=order.sender_id,
            creator_id=order.creator_id,
            room_id=order.room_id,
            gift_sku=order.gift_sku,
            quantity=order.quantity,
            unit_price_coins=price,
            total_coins=price * order.quantity,
            ip=order.ip,
            producer=producer,
        )
    except ValidationError as err:
        raise GiftRefused("invalid", describe(err)) from None
    await publisher.send(event)
    return event
