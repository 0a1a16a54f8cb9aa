"""Gift outcomes as clients see them: the animation for the room, the balance for the sender."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from streams.contracts.gifts import GiftRejected, GiftSettled
from streams.fanout.ports import RoomEmitter, user_room

MAX_AGE = timedelta(seconds=60)


async def fan_out_gift(
    outcome: GiftSettled | GiftRejected, emitter: RoomEmitter, now: datetime | None = None
) -> bool:
    """Emit what clients see; an outcome older than a minute (a consumer catching up) is not
    animated any more: the ledger and the balance API stay the truth. True if emitted."""
    if (now or datetime.now(UTC)) - outcome.occurred_at > MAX_AGE:
        return False
    if isinstance(outcome, GiftSettled):
        await emitter.emit(
            "gift",
            {
                "gift_id": str(outcome.gift_id),
                "sender_id": outcome.sender_id,
                "creator_id": outcome.creator_id,
                "gift_sku": outcome.gift_sku,
                "quantity": outcome.quantity,
                "total_coins": outcome.total_coins,
            },
            room=outcome.room_id,
        )
        await emitter.emit(
            "balance",
            {
                "gift_id": str(outcome.gift_id),
                "outcome": "settled",
                "available": outcome.sender_balance_after,
            },
            room=user_room(outcome.sender_id),
        )
    else:
        await emitter.emit(
            "gift_rejected",
            {"gift_id": str(outcome.gift_id), "reason": outcome.reason.value, "detail": outcome.detail},
            room=user_room(outcome.sender_id),
        )
    return True
