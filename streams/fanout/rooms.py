"""What room members see: chat, deletions, moderation, reaction bursts, occupancy.

Decisions reach the sender through their user room (every device of theirs); accepted chat is
appended to the room's history first, so each live message carries the ``seq`` that
reconnecting clients recover from.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from streams.contracts.chat import (
    ChatMessageAccepted,
    ChatMessageDeleted,
    ChatMessageHeld,
    ChatMessageRejected,
)
from streams.contracts.moderation import ModerationAction, ModerationKind
from streams.contracts.presence import RoomOccupancy
from streams.contracts.reactions import ReactionBurst
from streams.fanout.gifts import MAX_AGE
from streams.fanout.ports import RoomEmitter, moderators_room, user_room

ChatDecision = ChatMessageAccepted | ChatMessageHeld | ChatMessageRejected | ChatMessageDeleted

# Shown in the room; the rest of the audit trail (approvals, term lists) is for moderators.
ROOM_VISIBLE = {ModerationKind.BAN, ModerationKind.TIMEOUT, ModerationKind.UNBAN, ModerationKind.SET_MODES}


class History(Protocol):
    async def append(self, room_id: str, message_id: str, payload: dict[str, Any]) -> tuple[str, bool]: ...

    async def delete(self, room_id: str, message_id: str) -> bool: ...


def chat_payload(accepted: ChatMessageAccepted) -> dict[str, Any]:
    return {
        "message_id": str(accepted.message_id),
        "room_id": accepted.room_id,
        "user_id": accepted.user_id,
        "user_role": accepted.user_role.value,
        "display_name": accepted.display_name,
        "text": accepted.text,
        "at": accepted.occurred_at.isoformat(),
    }


async def fan_out_chat(
    decision: ChatDecision, emitter: RoomEmitter, history: History, now: datetime | None = None
) -> None:
    stale = (now or datetime.now(UTC)) - decision.occurred_at > MAX_AGE
    if isinstance(decision, ChatMessageAccepted):
        payload = chat_payload(decision)
        seq, _ = await history.append(decision.room_id, str(decision.message_id), payload)
        if not stale:
            await emitter.emit("chat", {**payload, "seq": seq}, room=decision.room_id)
    elif isinstance(decision, ChatMessageDeleted):
        await history.delete(decision.room_id, str(decision.message_id))
        await emitter.emit(
            "chat_deleted",
            {"message_id": str(decision.message_id), "room_id": decision.room_id, "by": decision.deleted_by},
            room=decision.room_id,
        )
    elif stale:
        return
    elif isinstance(decision, ChatMessageHeld):
        await emitter.emit(
            "chat_held",
            {
                "message_id": str(decision.message_id),
                "room_id": decision.room_id,
                "reason": decision.held_reason,
            },
            room=user_room(decision.user_id),
        )
        await emitter.emit(
            "held_message",
            {
                "message_id": str(decision.message_id),
                "room_id": decision.room_id,
                "user_id": decision.user_id,
                "text": decision.text,
                "score": decision.score,
                "reason": decision.held_reason,
            },
            room=moderators_room(decision.room_id),
        )
    else:
        await emitter.emit(
            "chat_rejected",
            {
                "message_id": str(decision.message_id),
                "room_id": decision.room_id,
                "reason": decision.reason.value,
                "detail": decision.detail,
                "retry_after_ms": decision.retry_after_ms,
            },
            room=user_room(decision.user_id),
        )


async def fan_out_moderation(action: ModerationAction, emitter: RoomEmitter) -> None:
    body = {
        "kind": action.kind.value,
        "room_id": action.room_id,
        "actor_id": action.actor_id,
        "target_user_id": action.target_user_id,
        "duration_s": action.duration_s,
        "params": action.params,
        "reason": action.reason,
        "at": action.occurred_at.isoformat(),
    }
    if action.kind in ROOM_VISIBLE:
        await emitter.emit("moderation", body, room=action.room_id)
    await emitter.emit("moderation", body, room=moderators_room(action.room_id))


async def fan_out_burst(burst: ReactionBurst, emitter: RoomEmitter) -> None:
    await emitter.emit(
        "reactions",
        {
            "room_id": burst.room_id,
            "counts": {k.value: v for k, v in burst.counts.items()},
            "total": burst.total,
            "unique_users": burst.unique_users,
            "window_start": burst.window_start.isoformat(),
            "window_end": burst.window_end.isoformat(),
        },
        room=burst.room_id,
    )


async def fan_out_occupancy(occupancy: RoomOccupancy, emitter: RoomEmitter) -> None:
    await emitter.emit(
        "occupancy",
        {"room_id": occupancy.room_id, "viewers": occupancy.viewers, "connections": occupancy.connections},
        room=occupancy.room_id,
    )
