"""Stream lifecycle, emitted by the media tier."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from streams.contracts.base import Event, Identifier, RoomId, ShortText, UserId


class IngestProtocol(StrEnum):
    RTMP = "rtmp"
    SRT = "srt"


class EndReason(StrEnum):
    BROADCASTER_STOPPED = "broadcaster_stopped"
    INGEST_LOST = "ingest_lost"
    KEY_REVOKED = "key_revoked"
    TRANSCODER_FAILED = "transcoder_failed"
    SHUTDOWN = "shutdown"


class Rendition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,16}$")]
    width: int = Field(ge=16, le=7680)
    height: int = Field(ge=16, le=4320)
    video_kbps: int = Field(ge=16, le=100_000)
    fps: float = Field(gt=0, le=120)


class StreamStarted(Event):
    event_type: Literal["stream.started"] = "stream.started"
    schema_version: Literal[1] = 1
    stream_id: Identifier
    creator_id: UserId
    room_id: RoomId
    protocol: IngestProtocol
    epoch: Identifier = Field(description="Per-session id used in media paths (cache busting).")


class StreamEnded(Event):
    event_type: Literal["stream.ended"] = "stream.ended"
    schema_version: Literal[1] = 1
    stream_id: Identifier
    creator_id: UserId
    room_id: RoomId
    epoch: Identifier
    reason: EndReason
    duration_s: float = Field(ge=0)
    detail: ShortText = ""


class StreamLadder(Event):
    event_type: Literal["stream.ladder"] = "stream.ladder"
    schema_version: Literal[1] = 1
    stream_id: Identifier
    room_id: RoomId
    epoch: Identifier
    renditions: tuple[Rendition, ...] = Field(min_length=1)
    audio_kbps: int = Field(ge=8, le=512)
    segment_s: float = Field(gt=0, le=10)
    part_s: float | None = Field(default=None, gt=0, le=2)
