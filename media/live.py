"""Live streams: what happens between a publisher being let in and its last part being served.

:class:`LiveStreams` is the ingest :class:`~media.ingest.gate.Gate`: it checks the key with
serving/, refuses a second publisher, starts a :class:`LiveStream` (ffmpeg + packager) and
emits the lifecycle events. While a stream is live its key is re-checked every few seconds,
so revoking a key ends the broadcast.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from media.ingest.gate import Refused
from media.ingest.keys import Authorized, KeyAuthority
from media.packaging.cmaf import FragmentReader, MalformedMp4, describe, timescale
from media.packaging.llhls import Timing, Track, Variant, avc_codec, media_playlist
from media.packaging.thumbnails import Thumbnails
from media.transcode.ladder import InputFormat, Ladder
from media.transcode.supervisor import Transcoder
from streams.contracts.base import Event
from streams.contracts.lifecycle import EndReason, IngestProtocol, StreamEnded, StreamLadder, StreamStarted

log = structlog.get_logger(__name__)
PRODUCER = "media"
AUDIO = "audio"
EventSink = Callable[[Event], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class LiveConfig:
    ladder: Ladder
    timing: Timing
    ffmpeg: str = "ffmpeg"
    thumbnail_s: float = 4.0
    linger_s: float = 60.0
    recheck_s: float = 5.0


class LiveStream:
    """One broadcast session (one ``epoch``): its transcoder, its tracks, its thumbnails."""

    def __init__(
        self, who: Authorized, protocol: IngestProtocol, config: LiveConfig, emit: EventSink
    ) -> None:
        self.stream_id = who.stream_id
        self.who = who
        self.protocol = protocol
        self.config = config
        self.emit = emit
        self.epoch = secrets.token_hex(4)
        self.names = [r.name for r in config.ladder.renditions] + [AUDIO]
        self.readers = [FragmentReader() for _ in self.names]
        self.tracks: dict[str, Track] = {}
        self.thumbnails = Thumbnails()
        self.part_lag_s: dict[str, float] = {}
        # Parts that became available later than a player at the part hold-back can wait (the
        # hold-back less one part): each one is a stall for every viewer at the live edge.
        self.late_parts: dict[str, int] = {}
        self.part_lag_max_s: dict[str, float] = {}
        self.anchor: datetime | None = None
        self._first_media_ms: int | None = None
        self.started = time.monotonic()
        self.closing: EndReason | None = None
        self.ended = False
        self._changed = asyncio.Event()
        self._done = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._rendered: dict[tuple[str, bool, tuple[int, ...]], str] = {}
        input_format = InputFormat.FLV if protocol == IngestProtocol.RTMP else InputFormat.MPEGTS
        self.transcoder = Transcoder(
            config.ladder, input_format, self._output, config.ffmpeg, config.thumbnail_s
        )

    # -- ingest side (Publication) ---------------------------------------------------------
    def media_clock(self, media_ms: int) -> None:
        """Program-date-time follows the source clock: the anchor (wall clock at media time zero)
        is the earliest arrival seen relative to the source's timestamps (the least delayed
        packet), fixed once the first part is out, before any playlist names a date."""
        if self.tracks:
            return
        if self._first_media_ms is None:
            self._first_media_ms = media_ms
        candidate = datetime.now(UTC) - timedelta(milliseconds=media_ms - self._first_media_ms)
        if self.anchor is None or candidate < self.anchor:
            self.anchor = candidate

    async def write(self, data: bytes) -> None:
        if self.closing is not None:
            raise ConnectionError(f"stream {self.stream_id} is ending: {self.closing.value}")
        if self.anchor is None and self.protocol == IngestProtocol.SRT:
            self.anchor = datetime.now(UTC)  # no source timestamps parsed: the first arrival
        try:
            await self.transcoder.feed(data)
        except (ConnectionError, BrokenPipeError):
            raise ConnectionError(f"transcoder of {self.stream_id} stopped") from None

    async def close(self, reason: EndReason, detail: str = "") -> None:
        if self.closing is not None:
            await self._done.wait()
            return
        self.closing = reason
        code = await self.transcoder.stop()
        for track in self.tracks.values():
            track.end()
        self.ended = True
        self._notify()
        self._done.set()
        if code not in (0, 255) and reason != EndReason.TRANSCODER_FAILED:
            detail = detail or f"ffmpeg exited {code}"
        log.info(
            "stream.ended", stream_id=self.stream_id, epoch=self.epoch, reason=reason.value, detail=detail
        )
        await self._emit(
            StreamEnded(
                stream_id=self.stream_id,
                creator_id=self.who.creator_id,
                room_id=self.who.room_id,
                epoch=self.epoch,
                reason=reason,
                duration_s=round(time.monotonic() - self.started, 3),
                detail=detail[:200],
                producer=PRODUCER,
            )
        )

    async def start(self) -> None:
        await self.transcoder.start()
        ladder = self.config.ladder
        await self._emit(
            StreamStarted(
                stream_id=self.stream_id,
                creator_id=self.who.creator_id,
                room_id=self.who.room_id,
                protocol=self.protocol,
                epoch=self.epoch,
                producer=PRODUCER,
            )
        )
        await self._emit(
            StreamLadder(
                stream_id=self.stream_id,
                room_id=self.who.room_id,
                epoch=self.epoch,
                renditions=ladder.renditions,
                audio_kbps=ladder.audio_kbps,
                segment_s=self.config.timing.segment_s,
                part_s=round(ladder.part_s, 3),
                producer=PRODUCER,
            )
        )
        self._tasks.add(asyncio.create_task(self._watch_transcoder()))

    async def _watch_transcoder(self) -> None:
        code = await self.transcoder.wait()
        if self.closing is None:
            tail = " | ".join(self.transcoder.stderr_tail[-3:])
            await self.close(EndReason.TRANSCODER_FAILED, f"ffmpeg exited {code}: {tail}"[:200])

    async def _emit(self, event: Event) -> None:
        try:
            await self.emit(event)
        except Exception as err:  # the broadcast goes on without its lifecycle event
            log.error(
                "stream.event_failed", stream_id=self.stream_id, event_type=event.event_type, error=str(err)
            )

    # -- transcoder side -------------------------------------------------------------------
    async def _output(self, index: int, chunk: bytes) -> None:
        if index == len(self.names):
            self.thumbnails.feed(chunk)
            return
        name = self.names[index]
        reader = self.readers[index]
        try:
            fragments = reader.feed(chunk)
        except MalformedMp4 as err:
            log.error("stream.bad_fragment", stream_id=self.stream_id, rendition=name, error=str(err))
            return
        if not fragments:
            return
        track = self.tracks.get(name)
        if track is None:
            assert reader.init is not None
            anchor = self.anchor or datetime.now(UTC)
            track = Track(name, self.config.timing, anchor, timescale(reader.init), reader.init)
            self.tracks[name] = track
        for fragment in fragments:
            part = track.add(describe(fragment))
        # How long after its media ended (by program-date-time) the newest part became available.
        lag = (datetime.now(UTC) - track.pdt(part.start_s + part.duration_s)).total_seconds()
        self.part_lag_s[name] = lag
        self.part_lag_max_s[name] = max(lag, self.part_lag_max_s.get(name, 0.0))
        timing = self.config.timing
        if lag > timing.part_hold_back_s - timing.part_target_s:
            self.late_parts[name] = self.late_parts.get(name, 0) + 1
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # -- origin side -----------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return len(self.tracks) == len(self.names) and all(t.segments for t in self.tracks.values())

    async def until(self, condition: Callable[[], bool], timeout_s: float) -> bool:
        """Wait until ``condition()`` holds (re-checked on every new part) or the stream ends."""
        deadline = time.monotonic() + timeout_s
        while not condition():
            if self.ended:
                return condition()
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)
        return True

    def playlist(self, name: str, low_latency: bool) -> str:
        """The rendition's media playlist, rendered once per change of any track (every viewer
        blocked on the next part wakes at once and asks for the same text)."""
        key = (name, low_latency, tuple(t.version for t in self.tracks.values()))
        text = self._rendered.get(key)
        if text is None:
            track = self.tracks[name]
            others = [t for n, t in self.tracks.items() if n != name]
            text = media_playlist(track, others, low_latency)
            if len(self._rendered) > 4 * len(self.names):
                self._rendered.clear()
            self._rendered[key] = text
        return text

    def variants(self) -> list[Variant]:
        audio_bps = self.config.ladder.audio_kbps * 1000
        return [
            Variant(
                name=r.name,
                width=r.width,
                height=r.height,
                bandwidth=round(r.video_kbps * 1200) + audio_bps,
                fps=r.fps,
                codecs=f"{avc_codec(self.tracks[r.name].init)},mp4a.40.2",
            )
            for r in self.config.ladder.renditions
        ]


class LiveStreams:
    """The registry of live streams and the ingest gate."""

    def __init__(self, authority: KeyAuthority, config: LiveConfig, emit: EventSink) -> None:
        self.authority = authority
        self.config = config
        self.emit = emit
        self.streams: dict[str, LiveStream] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def get(self, stream_id: str) -> LiveStream | None:
        return self.streams.get(stream_id)

    @property
    def live(self) -> int:
        return sum(1 for s in self.streams.values() if not s.ended)

    async def open(self, key: str, protocol: IngestProtocol, peer: str) -> LiveStream:
        who = await self.authority.authorize(key, protocol.value)
        current = self.streams.get(who.stream_id)
        if current is not None and current.closing is None:
            raise Refused("already_live", f"stream {who.stream_id} already has a publisher")
        stream = LiveStream(who, protocol, self.config, self.emit)
        self.streams[who.stream_id] = stream
        try:
            await stream.start()
        except OSError as err:  # ffmpeg missing or not startable: the encoder is told, not dropped
            self.streams.pop(who.stream_id, None)
            log.error("stream.transcoder_unavailable", stream_id=who.stream_id, error=str(err))
            raise Refused("unavailable", "the transcoder could not start; try again shortly") from None
        log.info(
            "stream.started",
            stream_id=stream.stream_id,
            epoch=stream.epoch,
            protocol=protocol.value,
            peer=peer,
        )
        task = asyncio.create_task(self._while_live(stream, key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return stream

    async def _while_live(self, stream: LiveStream, key: str) -> None:
        """Re-check the key while live; forget the stream ``linger_s`` after it ended."""
        while not stream.ended:
            await stream.until(lambda: stream.ended, self.config.recheck_s)
            if stream.closing is not None:
                break
            try:
                await self.authority.authorize(key, stream.protocol.value)
            except Refused as err:
                if err.reason != "auth_unavailable":
                    await stream.close(EndReason.KEY_REVOKED, err.detail)
        await asyncio.sleep(self.config.linger_s)
        if self.streams.get(stream.stream_id) is stream:
            del self.streams[stream.stream_id]

    async def shutdown(self) -> None:
        await asyncio.gather(
            *(s.close(EndReason.SHUTDOWN) for s in self.streams.values() if s.closing is None),
            return_exceptions=True,
        )
