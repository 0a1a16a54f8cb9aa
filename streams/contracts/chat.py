"""Chat: what a viewer submits and what moderation decides about it."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from streams.contracts.base import Event, NoNul, Role, RoomId, ShortText, UserId

MAX_CHAT_CHARS = 500

ChatText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_CHAT_CHARS), NoNul]


class RejectReason(StrEnum):
    RATE_LIMITED = "rate_limited"
    SLOW_MODE = "slow_mode"
    EMOTE_ONLY = "emote_only"
    DUPLICATE = "duplicate"
    LINK_BLOCKED = "link_blocked"
    BANNED_TERM = "banned_term"
    BANNED = "banned"
    TIMED_OUT = "timed_out"
    HELD_DENIED = "held_denied"
    ROOM_CLOSED = "room_closed"
    TOXIC = "toxic"


Toxicity = Annotated[
    float | None,
    Field(ge=0.0, le=1.0, description="The toxicity classifier's score, when it judged the message."),
]
ToxicityShadow = Annotated[
    Literal["hold", "refuse"] | None,
    Field(description="In a room whose classifier runs in shadow mode: what it would have done."),
]


class ChatMessageSubmitted(Event):
    event_type: Literal["chat.message.submitted"] = "chat.message.submitted"
    schema_version: Literal[1] = 1
    message_id: uuid.UUID
    room_id: RoomId
    user_id: UserId
    user_role: Role = Role.VIEWER
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=64), NoNul] | None = None
    text: ChatText


class ChatMessageAccepted(Event):
    event_type: Literal["chat.message.accepted"] = "chat.message.accepted"
    schema_version: Literal[1] = 1
    message_id: uuid.UUID
    room_id: RoomId
    user_id: UserId
    user_role: Role = Role.VIEWER
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=64), NoNul] | None = None
    text: ChatText
    released_by: UserId | None = Field(
        default=None, description="The moderator who approved it, when it was held first."
    )
    toxicity: Toxicity = None
    toxicity_shadow: ToxicityShadow = None


class ChatMessageHeld(Event):
    event_type: Literal["chat.message.held"] = "chat.message.held"
    schema_version: Literal[1] = 1
    message_id: uuid.UUID
    room_id: RoomId
    user_id: UserId
    text: ChatText
    score: float = Field(ge=0.0, le=1.0, description="AutoMod score; held when above the room level.")
    held_reason: ShortText
    toxicity: Toxicity = None
    toxicity_shadow: ToxicityShadow = None


class ChatMessageRejected(Event):
    event_type: Literal["chat.message.rejected"] = "chat.message.rejected"
    schema_version: Literal[1] = 1
    message_id: uuid.UUID
    room_id: RoomId
    user_id: UserId
    reason: RejectReason
    detail: ShortText = ""
    retry_after_ms: int | None = Field(default=None, ge=0)
    toxicity: Toxicity = None
    toxicity_shadow: ToxicityShadow = None


class ChatMessageDeleted(Event):
    event_type: Literal["chat.message.deleted"] = "chat.message.deleted"
    schema_version: Literal[1] = 1
    message_id: uuid.UUID
    room_id: RoomId
    deleted_by: UserId
    delete_reason: ShortText = ""
