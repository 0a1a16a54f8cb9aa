"""Rooms and their moderation: open a room, appoint moderators, ban, time out, delete messages,
set modes and banned terms, review held messages.

Only the room's creator, a moderator the creator appointed, or an admin may moderate a room
(appointing moderators and closing the room: the creator or an admin). Every action is
written to the room's state, then published on ``moderation.actions`` as an audit event
(who, when, what), which also tells the room's clients.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from serving.api.params import RoomPath, UserPath
from serving.api.state import AppState, PrincipalDep, StateDep
from serving.auth.tokens import Principal
from serving.exceptions import Conflict, Forbidden, Unprocessable
from streams.contracts.base import NoNul, Role, RoomId, UserId
from streams.contracts.chat import ChatMessageDeleted, RejectReason
from streams.contracts.moderation import PLATFORM_ROOM, ModerationAction, ModerationKind, ParamValue
from streams.ids import derived_id
from streams.rooms.holds import HoldAlreadyDecided
from streams.rooms.model import Room, RoomModes
from streams.rooms.moderation import acceptance, rejection

router = APIRouter(prefix="/v1/rooms", tags=["rooms"])
PRODUCER = "api"

Reason = Annotated[str, StringConstraints(max_length=200), NoNul]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class OpenRoom(_Body):
    room_id: RoomId
    title: Annotated[str, StringConstraints(max_length=200), NoNul] = ""
    creator_id: UserId | None = Field(default=None, description="Admins open rooms for a creator.")


class UserTarget(_Body):
    user_id: UserId
    reason: Reason = ""


class Timeout(UserTarget):
    duration_s: int = Field(ge=1, le=14 * 24 * 3600)


class BannedTerms(_Body):
    terms: list[Annotated[str, StringConstraints(min_length=1, max_length=100), NoNul]] = Field(
        max_length=200
    )


def _actor_role(principal: Principal, room: Room) -> Role:
    if principal.has(Role.ADMIN):
        return Role.ADMIN
    return Role.CREATOR if principal.user_id == room.creator_id else Role.MODERATOR


def require_moderator(principal: Principal, room: Room) -> Role:
    if not room.is_privileged(principal.user_id, admin=principal.has(Role.ADMIN)):
        raise Forbidden(f"{principal.user_id} does not moderate room {room.room_id}")
    return _actor_role(principal, room)


def require_owner(principal: Principal, room: Room) -> Role:
    if principal.user_id != room.creator_id and not principal.has(Role.ADMIN):
        raise Forbidden(f"only the creator of room {room.room_id} or an admin may do this")
    return _actor_role(principal, room)


@dataclass(frozen=True)
class Acting:
    """Who acts on which room, in which capacity (resolved and checked once per request)."""

    room: Room
    principal: Principal
    role: Role


async def as_moderator(room_id: RoomPath, state: StateDep, principal: PrincipalDep) -> Acting:
    room = await state.rooms.require(room_id)
    return Acting(room, principal, require_moderator(principal, room))


async def as_owner(room_id: RoomPath, state: StateDep, principal: PrincipalDep) -> Acting:
    room = await state.rooms.require(room_id)
    return Acting(room, principal, require_owner(principal, room))


def staff_acting(principal: Principal, room_id: str = PLATFORM_ROOM, creator_id: str = "") -> Acting:
    """An analyst or admin acting platform-wide (trust and safety), or on something in a room
    they do not moderate: the audit records them in that capacity."""
    role = Role.ADMIN if principal.has(Role.ADMIN) else Role.ANALYST
    return Acting(Room(room_id=room_id, creator_id=creator_id), principal, role)


AsModerator = Annotated[Acting, Depends(as_moderator)]
AsOwner = Annotated[Acting, Depends(as_owner)]


def room_view(room: Room, *, privileged: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "room_id": room.room_id,
        "creator_id": room.creator_id,
        "modes": room.modes.model_dump(),
        "closed": room.closed,
    }
    if privileged:
        view["banned_terms"] = list(room.banned_terms)
        view["moderators"] = sorted(room.moderators)
    return view


async def audit(
    state: AppState,
    acting: Acting,
    kind: ModerationKind,
    *,
    target: str | None = None,
    message_id: uuid.UUID | None = None,
    duration_s: int | None = None,
    params: dict[str, ParamValue] | None = None,
    reason: str = "",
) -> dict[str, Any]:
    action = ModerationAction(
        action_id=uuid.uuid4(),
        room_id=acting.room.room_id,
        kind=kind,
        actor_id=acting.principal.user_id,
        actor_role=acting.role,
        target_user_id=target,
        message_id=message_id,
        duration_s=duration_s,
        params=params or {},
        reason=reason,
        producer=PRODUCER,
    )
    await state.producer.send(action)
    return {"action_id": str(action.action_id), "kind": kind.value, "at": action.occurred_at.isoformat()}


def _not_the_owner(acting: Acting, target: str) -> None:
    """Moderators may not act against the creator or each other; the creator and admins may."""
    room, principal = acting.room, acting.principal
    if target == room.creator_id:
        raise Conflict("the room's creator cannot be banned or timed out in their own room")
    if target in room.moderators and principal.user_id != room.creator_id and not principal.has(Role.ADMIN):
        raise Forbidden("only the creator or an admin may act against a moderator")


@router.post("", status_code=201)
async def open_room(body: OpenRoom, state: StateDep, principal: PrincipalDep) -> dict[str, Any]:
    if principal.has(Role.ADMIN) and body.creator_id:
        creator = body.creator_id
    elif principal.has(Role.CREATOR):
        creator = principal.user_id
    else:
        raise Forbidden("only creators (for themselves) and admins open rooms")
    if body.room_id == PLATFORM_ROOM:
        raise Unprocessable(f"room_id: {PLATFORM_ROOM!r} is reserved for platform-wide actions")
    room = await state.rooms.create(body.room_id, creator, body.title)
    return room_view(room, privileged=True)


@router.get("/{room_id}")
async def get_room(room_id: RoomPath, state: StateDep, principal: PrincipalDep) -> dict[str, Any]:
    room = await state.rooms.require(room_id)
    return room_view(room, privileged=room.is_privileged(principal.user_id, admin=principal.has(Role.ADMIN)))


@router.post("/{room_id}/close")
async def close_room(room_id: RoomPath, acting: AsOwner, state: StateDep) -> dict[str, Any]:
    await state.rooms.close(room_id)
    return await audit(state, acting, ModerationKind.CLOSE_ROOM)


@router.post("/{room_id}/moderators")
async def add_moderator(
    room_id: RoomPath, body: UserTarget, acting: AsOwner, state: StateDep
) -> dict[str, Any]:
    await state.rooms.add_moderator(room_id, body.user_id, acting.principal.user_id)
    return await audit(state, acting, ModerationKind.ADD_MODERATOR, target=body.user_id)


@router.delete("/{room_id}/moderators/{user_id}")
async def remove_moderator(
    room_id: RoomPath, user_id: UserPath, acting: AsOwner, state: StateDep
) -> dict[str, Any]:
    await state.rooms.remove_moderator(room_id, user_id)
    return await audit(state, acting, ModerationKind.REMOVE_MODERATOR, target=user_id)


@router.post("/{room_id}/bans")
async def ban(room_id: RoomPath, body: UserTarget, acting: AsModerator, state: StateDep) -> dict[str, Any]:
    _not_the_owner(acting, body.user_id)
    return await ban_in_room(state, acting, body.user_id, None, body.reason)


@router.post("/{room_id}/timeouts")
async def timeout(room_id: RoomPath, body: Timeout, acting: AsModerator, state: StateDep) -> dict[str, Any]:
    _not_the_owner(acting, body.user_id)
    return await ban_in_room(state, acting, body.user_id, body.duration_s, body.reason)


async def ban_in_room(
    state: AppState, acting: Acting, user_id: str, duration_s: int | None, reason: str
) -> dict[str, Any]:
    """Ban (no duration) or time out ``user_id`` in the acting room, and audit it."""
    until = await state.rooms.ban(
        acting.room.room_id, user_id, acting.principal.user_id, duration_s=duration_s, reason=reason
    )
    kind = ModerationKind.BAN if duration_s is None else ModerationKind.TIMEOUT
    result = await audit(state, acting, kind, target=user_id, duration_s=duration_s, reason=reason)
    return {**result, "until": until.isoformat() if until else None}


@router.delete("/{room_id}/bans/{user_id}")
async def unban(room_id: RoomPath, user_id: UserPath, acting: AsModerator, state: StateDep) -> dict[str, Any]:
    """Lifts a ban or a timeout."""
    await state.rooms.unban(room_id, user_id)
    return await audit(state, acting, ModerationKind.UNBAN, target=user_id)


@router.delete("/{room_id}/messages/{message_id}")
async def delete_message(
    room_id: RoomPath, message_id: uuid.UUID, acting: AsModerator, state: StateDep, reason: str = ""
) -> dict[str, Any]:
    """Removes the message for everyone in the room and from the reconnect history."""
    if len(reason) > 200:
        raise Unprocessable("reason: at most 200 characters")
    return await delete_held_message(state, acting, message_id, reason)


async def delete_held_message(
    state: AppState, acting: Acting, message_id: uuid.UUID, reason: str
) -> dict[str, Any]:
    """Remove a message from the acting room for everyone and from its reconnect history."""
    await state.producer.send(
        ChatMessageDeleted(
            event_id=derived_id("chat-deleted", str(message_id)),
            message_id=message_id,
            room_id=acting.room.room_id,
            deleted_by=acting.principal.user_id,
            delete_reason=reason,
            producer=PRODUCER,
        )
    )
    return await audit(state, acting, ModerationKind.DELETE_MESSAGE, message_id=message_id, reason=reason)


@router.put("/{room_id}/modes")
async def set_modes(
    room_id: RoomPath, modes: RoomModes, acting: AsModerator, state: StateDep
) -> dict[str, Any]:
    await state.rooms.set_modes(room_id, modes)
    params: dict[str, ParamValue] = dict(modes.model_dump())
    return await audit(state, acting, ModerationKind.SET_MODES, params=params)


@router.put("/{room_id}/banned-terms")
async def set_banned_terms(
    room_id: RoomPath, body: BannedTerms, acting: AsModerator, state: StateDep
) -> dict[str, Any]:
    terms = await state.rooms.set_banned_terms(room_id, body.terms)
    result = await audit(state, acting, ModerationKind.SET_BANNED_TERMS, params={"count": len(terms)})
    return {**result, "terms": list(terms)}


@router.get("/{room_id}/held")
async def held_messages(
    room_id: RoomPath, acting: AsModerator, state: StateDep, limit: int = 100
) -> dict[str, Any]:
    held = await state.chat_holds.open(room_id, min(max(limit, 1), 500))
    return {
        "items": [
            {
                "message_id": str(h.message.message_id),
                "user_id": h.message.user_id,
                "text": h.message.text,
                "score": h.score,
                "reason": h.held_reason,
                "held_at": h.held_at.isoformat(),
            }
            for h in held
        ]
    }


@router.post("/{room_id}/held/{message_id}/{decision}")
async def decide_held(
    room_id: RoomPath, message_id: uuid.UUID, decision: str, acting: AsModerator, state: StateDep
) -> dict[str, Any]:
    """``approve`` publishes the message to the room; ``deny`` tells its sender it was refused."""
    if decision not in ("approve", "deny"):
        raise Unprocessable("decide with /approve or /deny")
    return await decide_chat_hold(state, acting, message_id, decision == "approve")


async def decide_chat_hold(
    state: AppState, acting: Acting, message_id: uuid.UUID, approve: bool
) -> dict[str, Any]:
    """The first decision on a held message stands: ``approve`` publishes it to the room, deny
    tells its sender it was refused; a later one is a 409 naming who decided what."""
    try:
        message = await state.chat_holds.decide(
            acting.room.room_id, message_id, "approved" if approve else "denied", acting.principal.user_id
        )
    except HoldAlreadyDecided as err:
        raise Conflict(str(err), reason=f"already_{err.decision}") from None
    if approve:
        await state.producer.send(acceptance(message, PRODUCER, released_by=acting.principal.user_id))
        kind = ModerationKind.APPROVE_HELD
    else:
        denied = rejection(
            message, RejectReason.HELD_DENIED, "a moderator declined your message", None, PRODUCER
        )
        await state.producer.send(
            denied.model_copy(update={"event_id": derived_id("chat-denied", str(message_id))})
        )
        kind = ModerationKind.DENY_HELD
    return await audit(state, acting, kind, target=message.user_id, message_id=message_id)
