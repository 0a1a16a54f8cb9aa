"""Trust-and-safety: gifts the fraud rules held for review, approved or denied by an analyst."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter

from serving.api.params import UserQuery
from serving.api.room_routes import audit, staff_acting
from serving.api.state import AppState, PrincipalDep, StateDep
from serving.exceptions import Conflict, Forbidden, NotFound
from streams.contracts.base import Role
from streams.contracts.gifts import GiftRejectReason
from streams.contracts.moderation import ModerationKind
from streams.gifts.settlement import settle
from streams.ledger.model import LedgerError

router = APIRouter(prefix="/v1/fraud", tags=["fraud"])
ANALYSTS = (Role.ANALYST, Role.ADMIN)


def require_analyst(principal: Any) -> None:
    if not principal.has(*ANALYSTS):
        raise Forbidden("held gifts are for analysts and admins")


@router.get("/held-gifts")
async def held_gifts(
    state: StateDep, principal: PrincipalDep, limit: int = 100, sender_id: UserQuery = None
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
    return await decide_gift_hold(gift_id, "approved", state, principal)


@router.post("/held-gifts/{gift_id}/deny")
async def deny(gift_id: uuid.UUID, state: StateDep, principal: PrincipalDep) -> dict[str, Any]:
    return await decide_gift_hold(gift_id, "denied", state, principal)


async def decide_gift_hold(
    gift_id: uuid.UUID, decision: Literal["approved", "denied"], state: AppState, principal: Any
) -> dict[str, Any]:
    """The first decision on a hold stands. It is carried out (settled or rejected in the
    ledger, outcome published) every time anyone asks, idempotently: a decision whose
    settlement failed half-way is finished by the next request. An analyst who was not first
    is told who decided what."""
    require_analyst(principal)
    try:
        hold = await state.holds.decide(gift_id, decision, principal.user_id)
    except LedgerError as err:
        raise NotFound(str(err)) from None
    held = hold.request
    if hold.decision == "approved":
        settlement = await settle([held.model_copy(update={"decision": "allow"})], state.ledger)
    else:
        detail = f"denied by {hold.decided_by} after review: " + ", ".join(held.rules)
        settlement = await settle(
            [held], state.ledger, overrides={held.gift_id: (GiftRejectReason.FRAUD_REVIEW, detail)}
        )
    if settlement.conflicts:
        raise Conflict(settlement.conflicts[0][1])
    (outcome,) = settlement.events
    await state.producer.send(outcome)
    if hold.now:  # the decision made by this call joins the audit trail (once)
        kind = ModerationKind.APPROVE_GIFT if hold.decision == "approved" else ModerationKind.DENY_GIFT
        acting = staff_acting(principal, held.room_id, held.creator_id)
        await audit(state, acting, kind, target=held.sender_id, params={"gift_id": str(gift_id)})
    if not hold.now and (hold.decided_by != principal.user_id or hold.decision != decision):
        raise Conflict(
            f"gift {gift_id} was already {hold.decision} by {hold.decided_by}",
            reason=f"already_{hold.decision}",
        )
    return {"gift_id": str(gift_id), "decision": hold.decision, "outcome": outcome.event_type}
