"""Playback QoS beacons from the player, named after CMCD v2 (CTA-5004-B) keys.

Keyed by playback session (``sid``). Derived QoE metrics (startup time, rebuffer ratio,
time-weighted bitrate, ...) are computed downstream, following the Mux/Conviva vocabulary.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from streams.contracts.base import Event, Identifier, NoNul, ShortText


class BeaconEvent(StrEnum):
    PLAY_REQUEST = "play_request"
    START = "start"
    STALL_START = "stall_start"
    STALL_END = "stall_end"
    BITRATE_SWITCH = "bitrate_switch"
    ERROR = "error"
    HEARTBEAT = "heartbeat"
    END = "end"


class PlayerState(StrEnum):
    """CMCD v2 ``sta`` values."""

    STARTING = "s"
    PLAYING = "p"
    SEEKING = "k"
    REBUFFERING = "r"
    PAUSED = "a"
    WAITING = "w"
    ENDED = "e"
    FATAL_ERROR = "f"
    QUIT = "q"
    PRELOADING = "d"


Kbps = Annotated[int, Field(ge=0, le=1_000_000)]
Millis = Annotated[int, Field(ge=0, le=86_400_000)]


class PlaybackBeacon(Event):
    event_type: Literal["qos.beacon"] = "qos.beacon"
    schema_version: Literal[1] = 1
    e: BeaconEvent = Field(description="What happened.")
    sid: Identifier = Field(description="CMCD sid: playback session id.")
    cid: Identifier = Field(description="CMCD cid: content (stream) id.")
    sn: int = Field(ge=0, le=2**31 - 1, description="CMCD sn: beacon sequence number within the session.")
    ts: int = Field(ge=0, le=2**53, description="CMCD ts: player wall clock, ms since the epoch.")
    viewer_id: Identifier | None = None
    br: Kbps | None = Field(default=None, description="CMCD br: encoded bitrate of the rendition.")
    bl: Millis | None = Field(default=None, description="CMCD bl: buffer length.")
    mtp: Kbps | None = Field(default=None, description="CMCD mtp: measured throughput.")
    pr: float | None = Field(default=None, ge=0, le=16, description="CMCD pr: playback rate.")
    ltc: Millis | None = Field(default=None, description="CMCD ltc: live latency.")
    sta: PlayerState | None = Field(default=None, description="CMCD sta: player state.")
    dfa: int | None = Field(
        default=None, ge=0, le=2**31 - 1, description="CMCD dfa: dropped frames (absolute)."
    )
    rendition: Annotated[str, StringConstraints(max_length=32), NoNul] | None = None
    startup_ms: Millis | None = Field(default=None, description="On start: request to first frame.")
    stall_ms: Millis | None = Field(default=None, description="On stall_end / heartbeat: time stalled.")
    play_ms: Millis | None = Field(default=None, description="On heartbeat: time playing since last.")
    fatal: bool | None = Field(default=None, description="On error: playback cannot continue.")
    before_start: bool | None = Field(default=None, description="On error / end: before first frame.")
    error_code: Annotated[str, StringConstraints(max_length=64), NoNul] | None = None
    reason: ShortText | None = Field(default=None, description="On end: why playback ended.")
    user_agent: Annotated[str, StringConstraints(max_length=256), NoNul] | None = None

    @model_validator(mode="after")
    def _event_fields(self) -> PlaybackBeacon:
        if self.e is BeaconEvent.START and self.startup_ms is None:
            raise ValueError("a start beacon carries startup_ms")
        if self.e is BeaconEvent.STALL_END and self.stall_ms is None:
            raise ValueError("a stall_end beacon carries stall_ms")
        if self.e is BeaconEvent.ERROR and self.fatal is None:
            raise ValueError("an error beacon says whether it is fatal")
        return self
