"""Reactions: single taps in, coalesced bursts out."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, model_validator

from streams.contracts.base import Event, RoomId, UserId, UtcDatetime


class ReactionKind(StrEnum):
    HEART = "heart"
    LAUGH = "laugh"
    WOW = "wow"
    CLAP = "clap"
    FIRE = "fire"
    SAD = "sad"


class ReactionSubmitted(Event):
    event_type: Literal["reaction.submitted"] = "reaction.submitted"
    schema_version: Literal[1] = 1
    room_id: RoomId
    user_id: UserId
    reaction: ReactionKind


class ReactionBurst(Event):
    """All reactions of one room over one short window (about 250 ms)."""

    event_type: Literal["reaction.burst"] = "reaction.burst"
    schema_version: Literal[1] = 1
    room_id: RoomId
    window_start: UtcDatetime
    window_end: UtcDatetime
    counts: dict[ReactionKind, Annotated[int, Field(ge=1)]]
    unique_users: int = Field(ge=1)

    @model_validator(mode="after")
    def _window_is_ordered(self) -> ReactionBurst:
        if self.window_end < self.window_start:
            raise ValueError("window_end is before window_start")
        if not self.counts:
            raise ValueError("a burst has at least one reaction")
        return self

    @property
    def total(self) -> int:
        return sum(self.counts.values())
