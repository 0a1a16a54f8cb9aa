"""What an ingest protocol asks of the live-stream registry: may this key publish, and where do
its bytes go. RTMP and SRT both speak to a :class:`Gate`."""

from __future__ import annotations

from typing import Protocol

from streams.contracts.lifecycle import EndReason, IngestProtocol


class Refused(Exception):
    """This publisher may not go live; ``reason`` is a stable code, ``detail`` for people."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class Publication(Protocol):
    stream_id: str

    async def write(self, data: bytes) -> None:
        """Media bytes in the container the protocol delivers (FLV for RTMP, MPEG-TS for SRT)."""

    def media_clock(self, media_ms: int) -> None:
        """The source's timestamp (ms) of the media about to be written, when the protocol
        carries one (RTMP does; SRT's MPEG-TS is not parsed here)."""

    async def close(self, reason: EndReason, detail: str = "") -> None: ...


class Gate(Protocol):
    async def open(self, key: str, protocol: IngestProtocol, peer: str) -> Publication:
        """Authorize ``key`` and start its stream, or raise :class:`Refused`."""
        ...
