"""Trust-and-safety: gifts the fraud rules held for review, approved or denied by an analyst."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from serving.api.state import PrincipalDep, StateDep
from serving.exceptions import Conflict, Forbidden
from streams.contracts.base import Role
from streams.contracts.gifts import GiftRejectReason
from streams.gifts.holds import HoldDecided
from streams.gifts.settlement import rejected, settle

router = APIRouter(prefix="/v1/fraud", tags=["fraud"])
ANALYSTS = (Role.ANALYST, Role.ADMIN)


def require_analyst(principal: Any) -> None:
    if not principal.has(*ANALYSTS):
        raise Forbidden("held gifts are for analysts and admins")


@router.get("/held-gifts")
async def held_gifts(
    state: StateDep, principal: PrincipalDep, limit: int = 100, sender_id: str | None = None
) -> dict[str, Any]:
    """Undecided holds, oldest first; ``sender_id`` narrows them to one user's gifts."""
    require_analyst(principal)
    held = await state.holds.open(min(max(limit, 1), 500), sender_id)
    return {
        "items": [
            h.model_dump(
                mode="json",
                include={
                    "gift_id",
                    "sender_id",
                    "creator_id",
                    "room_id",
                    "gift_sku",
                    "quantity",
                    "total_coins",
                    "rules",
                    "occurred_at",
                },
            )
            for h in held
        ]
    }


@router.post("/held-gifts/{gift_id}/approve")
async def approve(gift_id: uuid.UUID, state: StateDep, principal: PrincipalDep) -> dict[str, Any]:
    """Settle the held gift now, exactly like an allowed one (the ledger still checks funds)."""
    require_analyst(principal)
    try:
        held = await state.holds.decide(gift_id, "approved", principal.user_id)
    except HoldDecided as err:
        raise Conflict(str(err)) from None
    (outcome,) = await settle([held.model_copy(update={"decision": "allow"})], state.ledger)
    await state.producer.send(outcome)
    return {"gift_id": str(gift_id), "decision": "approved", "outcome": outcome.event_type}


@router.post("/held-gifts/{gift_id}/deny")
async def deny(gift_id: uuid.UUID, state: StateDep, principal: PrincipalDep) -> dict[str, Any]:
    require_analyst(principal)
    try:
        held = await state.holds.decide(gift_id, "denied", principal.user_id)
    except HoldDecided as err:
        raise Conflict(str(err)) from None
    outcome = rejected(
        held,
        GiftRejectReason.FRAUD_REVIEW,
        f"denied by {principal.user_id} after review: " + ", ".join(held.rules),
    )
    await state.producer.send(outcome)
    return {"gift_id": str(gift_id), "decision": "denied", "outcome": outcome.event_type}
