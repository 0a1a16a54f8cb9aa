"""Settle gift requests: catalog check, then the ledger, then the outcome events to publish."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from streams.contracts.gifts import GiftRejected, GiftRejectReason, GiftRequested, GiftScreened, GiftSettled
from streams.gifts.catalog import DEFAULT_CATALOG
from streams.ledger.model import GiftOutcome, GiftRequest, derived_id, split

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
    "unknown_creator": (GiftRejectReason.UNKNOWN_CREATOR, "the room is not open or is not this creator's"),
    "sender_banned": (GiftRejectReason.SENDER_BANNED, "the sender is banned or timed out in this room"),
}


def fraud_problem(request: GiftRequested | GiftScreened) -> tuple[GiftRejectReason, str] | None:
    if not isinstance(request, GiftScreened) or request.decision == "allow":
        return None
    if request.decision == "block" and request.rules and request.rules[0] in ROOM_REFUSALS:
        return ROOM_REFUSALS[request.rules[0]]
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


def rejected(r: GiftRequested | GiftScreened, reason: GiftRejectReason, detail: str) -> GiftRejected:
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
    )


async def settle(
    requests: Sequence[GiftRequested | GiftScreened],
    ledger: GiftLedger,
    catalog: Mapping[str, int] = DEFAULT_CATALOG,
) -> list[GiftSettled | GiftRejected]:
    """One outcome event per request, in order. Event ids derive from the gift id, so a request
    delivered twice yields the same outcome event twice, which consumers collapse by id."""
    refused = {r.gift_id: refusal(r, catalog) for r in requests}
    outcomes = await ledger.settle_gifts(
        [
            GiftRequest(
                r.gift_id, r.sender_id, r.creator_id, r.room_id, r.gift_sku, r.quantity, r.total_coins
            )
            for r in requests
            if refused[r.gift_id] is None
        ]
    )
    by_gift = {o.gift_id: o for o in outcomes}
    events: list[GiftSettled | GiftRejected] = []
    for r in requests:
        refused_for = refused[r.gift_id]
        if refused_for is not None:
            events.append(rejected(r, *refused_for))
            continue
        outcome = by_gift[r.gift_id]
        if not outcome.settled:
            reason = GiftRejectReason(outcome.reason) if outcome.reason else GiftRejectReason.UNKNOWN_GIFT
            events.append(rejected(r, reason, ""))
            continue
        share, fee = split(r.total_coins, ledger.creator_share_bps)
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
                creator_share_coins=share,
                platform_fee_coins=fee,
                transfer_id=outcome.posting_id,
                sender_balance_after=outcome.sender_balance_after,
                producer=PRODUCER,
            )
        )
    return events
