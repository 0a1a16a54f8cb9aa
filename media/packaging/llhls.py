"""Apple Low-Latency HLS packaging: fragments in, parts, segments and playlists out.

A rendition's fragments (about one part target long, keyframe-aligned on video) become
partial segments; parts are grouped into segments at the first independent part at or past
each ``segment_s`` boundary of media time, so every rendition cuts at the same instants and
shares media sequence numbers (segment ``n`` covers media time ``[n·segment_s, …)``).
Program-date-time is the ingest clock at media time zero plus media time.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from media.packaging.cmaf import Fragment

EPSILON_S = 1e-3


@dataclass(frozen=True, slots=True)
class Part:
    msn: int
    index: int
    start_s: float
    duration_s: float
    independent: bool
    data: bytes


@dataclass(slots=True)
class Segment:
    msn: int
    start_s: float
    parts: list[Part] = field(default_factory=list)
    complete: bool = False

    @property
    def duration_s(self) -> float:
        return sum(p.duration_s for p in self.parts)

    def data(self) -> bytes:
        return b"".join(p.data for p in self.parts)


@dataclass(frozen=True, slots=True)
class Timing:
    segment_s: float = 2.0
    part_target_s: float = 0.334
    window_segments: int = 8  # segments listed in a playlist (and kept in memory)
    part_hold_back_parts: float = 3.5  # Apple: at least 3 part targets; half a part of cushion

    @property
    def target_duration(self) -> int:
        return math.ceil(self.segment_s)

    @property
    def part_hold_back_s(self) -> float:
        return round(self.part_target_s * self.part_hold_back_parts, 3)


class Track:
    """One rendition's live window."""

    def __init__(self, name: str, timing: Timing, anchor: datetime, timescale: int, init: bytes) -> None:
        self.name = name
        self.timing = timing
        self.anchor = anchor
        self.timescale = timescale
        self.init = init
        self.segments: deque[Segment] = deque()
        self.ended = False
        self.version = 0  # bumped on every change: what a rendered playlist depends on

    # -- feeding ---------------------------------------------------------------------------
    def add(self, fragment: Fragment) -> Part:
        start = fragment.decode_time / self.timescale
        duration = fragment.duration / self.timescale
        boundary = math.floor((start + EPSILON_S) / self.timing.segment_s)
        current = self.segments[-1] if self.segments else None
        if current is None or current.complete or (fragment.independent and boundary > current.msn):
            if current is not None:
                current.complete = True
            msn = boundary if current is None else max(boundary, current.msn + 1)
            current = Segment(msn=msn, start_s=start)
            self.segments.append(current)
            while len(self.segments) > self.timing.window_segments + 1:
                self.segments.popleft()
        part = Part(current.msn, len(current.parts), start, duration, fragment.independent, fragment.data)
        current.parts.append(part)
        self.version += 1
        if start + duration >= (current.msn + 1) * self.timing.segment_s - EPSILON_S:
            # The next part starts the next segment (keyframes are forced on the boundary): close
            # this one now, so the preload hint already names the next segment's first part.
            current.complete = True
        return part

    def end(self) -> None:
        if self.segments:
            self.segments[-1].complete = True
        self.ended = True
        self.version += 1

    # -- reading ---------------------------------------------------------------------------
    def segment(self, msn: int) -> Segment | None:
        if not self.segments or msn < self.segments[0].msn or msn > self.segments[-1].msn:
            return None
        found = self.segments[msn - self.segments[0].msn]
        return found if found.msn == msn else next((s for s in self.segments if s.msn == msn), None)

    def part(self, msn: int, index: int) -> Part | None:
        segment = self.segment(msn)
        if segment is None or index >= len(segment.parts):
            return None
        return segment.parts[index]

    def last_part(self) -> tuple[int, int] | None:
        """(msn, part index) of the newest complete part."""
        for segment in reversed(self.segments):
            if segment.parts:
                return segment.msn, len(segment.parts) - 1
        return None

    def next_part(self) -> tuple[int, int] | None:
        """Where the next part will go (the preload hint), unless the track ended."""
        if self.ended or not self.segments:
            return None
        last = self.segments[-1]
        return (last.msn + 1, 0) if last.complete else (last.msn, len(last.parts))

    def last_complete_msn(self) -> int | None:
        for segment in reversed(self.segments):
            if segment.complete:
                return segment.msn
        return None

    def has(self, msn: int, part: int | None) -> bool:
        """Whether a blocking request for (msn, part) can be answered: the playlist holds that
        part (or a later one), or that whole segment when no part is named."""
        if part is None:
            complete = self.last_complete_msn()
            return complete is not None and complete >= msn
        last = self.last_part()
        if last is None:
            return False
        segment = self.segment(msn)
        if segment is not None and segment.complete and part >= len(segment.parts):
            msn, part = msn + 1, 0  # past the end of a finished segment: the next one's first part
        return last >= (msn, part)

    def pdt(self, start_s: float) -> datetime:
        return self.anchor + timedelta(seconds=start_s)


def media_playlist(track: Track, others: list[Track], low_latency: bool = True) -> str:
    """The LL-HLS media playlist: full segments in the window, parts near the live edge, a
    preload hint, rendition reports for ``others``. With ``low_latency`` off, the standard
    HLS playlist of the same segments (no parts, no blocking reload), for players that would
    otherwise half-use the low-latency tags."""
    timing = track.timing
    complete = [s for s in track.segments if s.complete]
    live = [s for s in track.segments if not s.complete] if low_latency else []
    listed = complete[-timing.window_segments :] + live
    if not listed:
        raise ValueError(f"{track.name} has no media yet")
    lines = ["#EXTM3U", "#EXT-X-VERSION:6", f"#EXT-X-TARGETDURATION:{timing.target_duration}"]
    if low_latency:
        lines += [
            (
                "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,"
                f"PART-HOLD-BACK={timing.part_hold_back_s:.3f},HOLD-BACK={3 * timing.target_duration:.1f}"
            ),
            f"#EXT-X-PART-INF:PART-TARGET={timing.part_target_s:.3f}",
        ]
    lines += [f"#EXT-X-MEDIA-SEQUENCE:{listed[0].msn}", '#EXT-X-MAP:URI="init.mp4"']
    edge_s = listed[-1].start_s + listed[-1].duration_s
    parts_from_s = edge_s - 3 * timing.target_duration if low_latency else math.inf
    for segment in listed:
        lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{_iso(track.pdt(segment.start_s))}")
        if segment.start_s + segment.duration_s > parts_from_s or not segment.complete:
            for p in segment.parts:
                independent = ",INDEPENDENT=YES" if p.independent else ""
                lines.append(
                    f'#EXT-X-PART:DURATION={p.duration_s:.5f},URI="p{p.msn}.{p.index}.m4s"{independent}'
                )
        if segment.complete:
            lines.append(f"#EXTINF:{segment.duration_s:.5f},")
            lines.append(f"s{segment.msn}.m4s")
    hint = track.next_part() if low_latency else None
    if hint is not None:
        lines.append(f'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="p{hint[0]}.{hint[1]}.m4s"')
    for other in others if low_latency else []:
        last = other.last_part()
        if last is not None:
            lines.append(
                f'#EXT-X-RENDITION-REPORT:URI="../{other.name}/index.m3u8",LAST-MSN={last[0]},LAST-PART={last[1]}'
            )
    if track.ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    width: int
    height: int
    bandwidth: int  # bits per second, video + audio
    fps: float
    codecs: str


def master_playlist(epoch: str, variants: list[Variant], audio: str | None, query: str = "") -> str:
    """``query`` (e.g. ``?ll=0``) is carried to every media playlist URI."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-INDEPENDENT-SEGMENTS"]
    group = ""
    if audio is not None:
        lines.append(
            f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="main",LANGUAGE="und",DEFAULT=YES,'
            f'AUTOSELECT=YES,CHANNELS="2",URI="{epoch}/{audio}/index.m3u8{query}"'
        )
        group = ',AUDIO="aud"'
    for v in sorted(variants, key=lambda v: -v.bandwidth):
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={v.bandwidth},RESOLUTION={v.width}x{v.height},"
            f'FRAME-RATE={v.fps:.3f},CODECS="{v.codecs}"{group}'
        )
        lines.append(f"{epoch}/{v.name}/index.m3u8{query}")
    return "\n".join(lines) + "\n"


def avc_codec(init: bytes) -> str:
    """RFC 6381 codec string of an H.264 init section, from its avcC box."""
    at = init.find(b"avcC")
    if at < 0 or len(init) < at + 8:
        return "avc1.42e01e"
    profile, compat, level = init[at + 5], init[at + 6], init[at + 7]
    return f"avc1.{profile:02x}{compat:02x}{level:02x}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
