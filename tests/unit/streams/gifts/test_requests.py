"""request_gift, the one gift path behind the HTTP route and the socket, against fakes of its ports."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from streams.contracts.gifts import GiftRequested, GiftRoomProblem
from streams.gifts.requests import (
    SENDER_BANNED,
    UNKNOWN_CREATOR,
    GiftOrder,
    GiftRefused,
    gift_id_of,
    request_gift,
)


class Standing:
    def __init__(self, problem: GiftRoomProblem | None = None) -> None:
        self.problem = problem
        self.asked: list[tuple[str, str, str]] = []

    async def gift_problems(self, gifts: Sequence[tuple[str, str, str]]) -> list[GiftRoomProblem | None]:
        self.asked.extend(gifts)
        return [self.problem for _ in gifts]


class Published:
    def __init__(self) -> None:
        self.events: list[GiftRequested] = []

    async def send(self, event: GiftRequested) -> None:
        self.events.append(event)


def order(**changes: object) -> GiftOrder:
    fields: dict[str, object] = {
        "sender_id": "fan",
        "creator_id": "maya",
        "room_id": "room-1",
        "gift_sku": "star",
        "quantity": 3,
        "idempotency_key": "k1",
        "ip": "203.0.113.5",
    }
    return GiftOrder(**{**fields, **changes})  # type: ignore[arg-type]


async def test_a_gift_is_priced_by_the_catalog_and_named_by_its_key() -> None:
    rooms, out = Standing(), Published()
    event = await request_gift(order(), rooms, out, "api")
    assert out.events == [event]
    assert (event.unit_price_coins, event.total_coins, event.quantity) == (100, 300, 3)
    assert event.gift_id == gift_id_of("fan", "k1")
    assert rooms.asked == [("room-1", "fan", "maya")]
    again = await request_gift(order(), Standing(), Published(), "gw-1")
    assert (again.gift_id, again.event_id) == (event.gift_id, event.event_id)  # a retry is the same gift


@pytest.mark.parametrize(
    ("changes", "problem", "reason", "detail"),
    [
        ({"gift_sku": "unicorn"}, None, "unknown_gift", "unknown gift 'unicorn'; the catalog has rose"),
        ({"creator_id": "fan"}, None, "self_gift", "you cannot send a gift to yourself"),
        ({}, UNKNOWN_CREATOR, "unknown_recipient", "maya is not live in room room-1"),
        ({}, SENDER_BANNED, "sender_banned", "you are banned or timed out in room room-1"),
        ({"quantity": 10_001}, None, "invalid", "quantity: Input should be less than or equal to 10000"),
    ],
)
async def test_a_refused_gift_says_why_and_publishes_nothing(
    changes: dict[str, object], problem: str | None, reason: str, detail: str
) -> None:
    out = Published()
    with pytest.raises(GiftRefused) as refused:
        await request_gift(order(**changes), Standing(problem), out, "api")
    assert refused.value.reason == reason
    assert refused.value.detail.startswith(detail)
    assert out.events == []
