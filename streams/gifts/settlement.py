"""Settle gift requests: catalog check, then the ledger, then the outcome events to publish."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from streams.contracts.base import utc_now
from streams.contracts.gifts import (
    GiftRejected,
    GiftRejectReason,
    GiftRequested,
    GiftRoomProblem,
    GiftScreened,
    GiftSettled,
)
from streams.gifts.catalog import DEFAULT_CATALOG
from streams.ids import derived_id
from streams.ledger.model import GiftOutcome, GiftRequest

PRODUCER = "settlement"


class GiftLedger(Protocol):
    creator_share_bps: int

    async def settle_gifts(self, gifts: Sequence[GiftRequest]) -> list[GiftOutcome]: ...


def catalog_problem(request: GiftRequested | GiftScreened, catalog: Mapping[str, int]) -> str | None:
    price = catalog.get(request.gift_sku)
    if price is None:
        return f"no gift {request.gift_sku!r} in the catalog"
    if price != request.unit_price_coins:
        return f"{request.gift_sku} costs {price} coins, the request said {request.unit_price_coins}"
    return None


ROOM_REFUSALS = {
    GiftRoomProblem.UNKNOWN_CREATOR: (
        GiftRejectReason.UNKNOWN_CREATOR,
        "the room is not open or is not this creator's",
    ),
    GiftRoomProblem.SENDER_BANNED: (
        GiftRejectReason.SENDER_BANNED,
        "the sender is banned or timed out in this room",
    ),
}


def room_problem_of(request: GiftScreened) -> GiftRoomProblem | None:
    """The room's refusal. A gift screened before the field existed (still on the topic during
    an upgrade) carried it as its first rule: read once here, nowhere else."""
    if request.room_problem is not None:
        return request.room_problem
    if request.decision == "block" and request.rules and request.rules[0] in set(GiftRoomProblem):
        return GiftRoomProblem(request.rules[0])
    return None


def fraud_problem(request: GiftRequested | GiftScreened) -> tuple[GiftRejectReason, str] | None:
    if not isinstance(request, GiftScreened) or request.decision == "allow":
        return None
    room = room_problem_of(request)
    if room is not None:
        return ROOM_REFUSALS[room]
    reason = GiftRejectReason.FRAUD_BLOCK if request.decision == "block" else GiftRejectReason.FRAUD_REVIEW
    return reason, "held by fraud rules: " + ", ".join(request.rules)


def refusal(
    request: GiftRequested | GiftScreened, catalog: Mapping[str, int]
) -> tuple[GiftRejectReason, str] | None:
    """Why the gift is refused before the ledger sees it (fraud hold or block, unknown price)."""
    problem = catalog_problem(request, catalog)
    if problem is not None:
        return GiftRejectReason.UNKNOWN_GIFT, problem
    return fraud_problem(request)


def rejected(
    r: GiftRequested | GiftScreened,
    reason: GiftRejectReason,
    detail: str,
    occurred_at: datetime | None = None,
) -> GiftRejected:
    return GiftRejected(
        event_id=derived_id("gift-outcome", r.gift_id),
        gift_id=r.gift_id,
        sender_id=r.sender_id,
        creator_id=r.creator_id,
        room_id=r.room_id,
        gift_sku=r.gift_sku,
        total_coins=r.total_coins,
        reason=reason,
        detail=detail,
        producer=PRODUCER,
        occurred_at=occurred_at or utc_now(),
    )


def _for_ledger(r: GiftRequested | GiftScreened, refused: tuple[GiftRejectReason, str] | None) -> GiftRequest:
    return GiftRequest(
        r.gift_id,
        r.sender_id,
        r.creator_id,
        r.room_id,
        r.gift_sku,
        r.quantity,
        r.total_coins,
        refusal=None if refused is None else (refused[0].value, refused[1]),
    )


@dataclass(frozen=True)
class Settlement:
    """Outcome events to publish, one per request in order, and the requests that reused a
    decided gift id for something else (no outcome: they go to the dead-letter topic)."""

    events: list[GiftSettled | GiftRejected]
    conflicts: list[tuple[GiftRequested | GiftScreened, str]]


async def settle(
    requests: Sequence[GiftRequested | GiftScreened],
    ledger: GiftLedger,
    catalog: Mapping[str, int] = DEFAULT_CATALOG,
    overrides: Mapping[uuid.UUID, tuple[GiftRejectReason, str]] | None = None,
) -> Settlement:
    """Every gift's outcome is decided once, by the ledger, and replayed as recorded: a refusal
    (catalog, fraud, room standing, ``overrides`` such as an analyst's denial) is recorded there
    too, so a request delivered again, or screened again differently, gets the outcome it got
    the first time, with the same event id and ``occurred_at`` (when it was decided)."""
    extra = overrides or {}
    outcomes = await ledger.settle_gifts(
        [_for_ledger(r, extra.get(r.gift_id) or refusal(r, catalog)) for r in requests]
    )
    events: list[GiftSettled | GiftRejected] = []
    conflicts: list[tuple[GiftRequested | GiftScreened, str]] = []
    for r, outcome in zip(requests, outcomes, strict=True):
        if outcome.conflict:
            conflicts.append((r, f"gift id {r.gift_id} was already decided for a different request"))
            continue
        if not outcome.settled:
            reason = GiftRejectReason(outcome.reason) if outcome.reason else GiftRejectReason.UNKNOWN_GIFT
            events.append(rejected(r, reason, outcome.detail, outcome.decided_at))
            continue
        assert outcome.posting_id is not None
        assert outcome.sender_balance_after is not None
        events.append(
            GiftSettled(
                event_id=derived_id("gift-outcome", r.gift_id),
                gift_id=r.gift_id,
                sender_id=r.sender_id,
                creator_id=r.creator_id,
                room_id=r.room_id,
                gift_sku=r.gift_sku,
                quantity=r.quantity,
                total_coins=r.total_coins,
                creator_share_coins=outcome.creator_share,
                platform_fee_coins=outcome.platform_fee,
                transfer_id=outcome.posting_id,
                sender_balance_after=outcome.sender_balance_after,
                producer=PRODUCER,
                occurred_at=outcome.decided_at or utc_now(),
            )
        )
    return Settlement(events, conflicts)
