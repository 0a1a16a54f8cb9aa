"""Presence: who is in which room, on which gateway node."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from streams.contracts.base import Event, Identifier, RoomId, UserId


class LeaveReason(StrEnum):
    LEFT = "left"
    DISCONNECTED = "disconnected"
    EXPIRED = "expired"
    KICKED = "kicked"


class PresenceJoined(Event):
    event_type: Literal["presence.joined"] = "presence.joined"
    schema_version: Literal[1] = 1
    room_id: RoomId
    user_id: UserId
    session_id: Identifier
    node_id: Identifier


class PresenceLeft(Event):
    event_type: Literal["presence.left"] = "presence.left"
    schema_version: Literal[1] = 1
    room_id: RoomId
    user_id: UserId
    session_id: Identifier
    node_id: Identifier
    reason: LeaveReason = LeaveReason.LEFT


class RoomOccupancy(Event):
    event_type: Literal["room.occupancy"] = "room.occupancy"
    schema_version: Literal[1] = 1
    room_id: RoomId
    viewers: int = Field(ge=0, description="Distinct users connected to the room right now.")
    connections: int = Field(ge=0, description="Open sockets in the room (a user may have several).")
