"""Moderation actions: the audit trail of who did what to whom, in which room."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from streams.contracts.base import Event, NoNul, Role, RoomId, ShortText, UserId


class ModerationKind(StrEnum):
    BAN = "ban"
    UNBAN = "unban"
    TIMEOUT = "timeout"
    DELETE_MESSAGE = "delete_message"
    SET_MODES = "set_modes"
    SET_BANNED_TERMS = "set_banned_terms"
    APPROVE_HELD = "approve_held"
    DENY_HELD = "deny_held"
    ADD_MODERATOR = "add_moderator"
    REMOVE_MODERATOR = "remove_moderator"
    CLOSE_ROOM = "close_room"
    # Trust and safety (the console): platform-wide, so their room_id is PLATFORM_ROOM
    # unless the action was taken on something in a room.
    APPROVE_GIFT = "approve_gift"
    DENY_GIFT = "deny_gift"
    PLATFORM_BAN = "platform_ban"
    PLATFORM_UNBAN = "platform_unban"
    ACK_ALERT = "ack_alert"


PLATFORM_ROOM = "platform"
"""The room id of a platform-wide action; no room may be opened under it."""


ParamValue = Annotated[str, StringConstraints(max_length=500), NoNul] | int | float | bool | list[str] | None


class ModerationAction(Event):
    event_type: Literal["moderation.action"] = "moderation.action"
    schema_version: Literal[1] = 1
    action_id: uuid.UUID
    room_id: RoomId
    kind: ModerationKind
    actor_id: UserId
    actor_role: Role
    target_user_id: UserId | None = None
    message_id: uuid.UUID | None = None
    duration_s: int | None = Field(default=None, ge=1, le=14 * 24 * 3600)
    params: dict[Annotated[str, StringConstraints(max_length=64), NoNul], ParamValue] = Field(
        default_factory=dict
    )
    reason: ShortText = ""
