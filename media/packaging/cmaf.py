"""Fragmented MP4 (CMAF) as ffmpeg writes it to a pipe: an init section (ftyp + moov), then
fragments (optional styp, moof + mdat). Only what the packager needs is parsed: the track's
timescale, each fragment's decode time, duration and whether it starts on a keyframe.

Pure: bytes in, facts out.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass


class MalformedMp4(ValueError):
    """The bytes are not the fragmented MP4 we asked ffmpeg for."""


_CONTAINERS = {b"moov", b"trak", b"mdia", b"moof", b"traf", b"minf", b"mvex"}
_NON_SYNC = 0x00010000
_DEPENDS_ON_NONE = 0x02000000  # sample_depends_on == 2: does not depend on others (an I frame)


def boxes(
    data: bytes | memoryview, start: int = 0, end: int | None = None
) -> Iterator[tuple[bytes, int, int]]:
    """(type, offset of the payload, end) of each box between ``start`` and ``end``."""
    end = len(data) if end is None else end
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, offset + 8)
            header = 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            raise MalformedMp4(f"box {kind!r} at {offset} claims {size} bytes, only {end - offset} left")
        yield kind, offset + header, offset + size
        offset += size


def find(
    data: bytes | memoryview, path: list[bytes], start: int = 0, end: int | None = None
) -> tuple[int, int] | None:
    """Payload span of the first box along ``path`` (e.g. [moov, trak, mdia, mdhd])."""
    for kind, payload, box_end in boxes(data, start, end):
        if kind == path[0]:
            if len(path) == 1:
                return payload, box_end
            found = find(data, path[1:], payload, box_end)
            if found:
                return found
    return None


def timescale(init: bytes) -> int:
    """The media timescale of the (single) track in an init section."""
    span = find(init, [b"moov", b"trak", b"mdia", b"mdhd"])
    if span is None:
        raise MalformedMp4("init section has no moov/trak/mdia/mdhd")
    payload = span[0]
    version = init[payload]
    offset = payload + 4 + (16 if version == 1 else 8)
    (scale,) = struct.unpack_from(">I", init, offset)
    if scale == 0:
        raise MalformedMp4("mdhd timescale is 0")
    return int(scale)


@dataclass(frozen=True, slots=True)
class Fragment:
    """One moof + mdat: a partial segment for LL-HLS."""

    data: bytes
    decode_time: int  # tfdt baseMediaDecodeTime, in the track's timescale
    duration: int  # sum of sample durations, same timescale
    samples: int
    independent: bool  # its first sample is a sync sample


def describe(fragment: bytes) -> Fragment:
    """Read tfdt, tfhd defaults and trun of a moof (+ mdat) fragment."""
    moof = find(fragment, [b"moof"])
    if moof is None:
        raise MalformedMp4("fragment without moof")
    traf = find(fragment, [b"traf"], *moof)
    if traf is None:
        raise MalformedMp4("moof without traf")
    default_duration = 0
    default_flags = 0
    decode_time: int | None = None
    duration = 0
    samples = 0
    first_flags: int | None = None
    for kind, payload, _end in boxes(fragment, *traf):
        if kind == b"tfhd":
            (flags,) = struct.unpack_from(">I", fragment, payload)
            flags &= 0xFFFFFF
            offset = payload + 8
            if flags & 0x01:
                offset += 8  # base data offset
            if flags & 0x02:
                offset += 4  # sample description index
            if flags & 0x08:
                (default_duration,) = struct.unpack_from(">I", fragment, offset)
                offset += 4
            if flags & 0x10:
                offset += 4  # default sample size
            if flags & 0x20:
                (default_flags,) = struct.unpack_from(">I", fragment, offset)
        elif kind == b"tfdt":
            version = fragment[payload]
            fmt = ">Q" if version == 1 else ">I"
            (decode_time,) = struct.unpack_from(fmt, fragment, payload + 4)
        elif kind == b"trun":
            got = _trun(fragment, payload, default_duration, default_flags)
            duration += got[0]
            samples += got[1]
            if first_flags is None:
                first_flags = got[2]
    if decode_time is None:
        raise MalformedMp4("traf without tfdt")
    if samples == 0:
        raise MalformedMp4("fragment without samples")
    flags = default_flags if first_flags is None else first_flags
    independent = not (flags & _NON_SYNC) or bool(flags & _DEPENDS_ON_NONE)
    return Fragment(bytes(fragment), int(decode_time), duration, samples, independent)


def _trun(data: bytes, payload: int, default_duration: int, default_flags: int) -> tuple[int, int, int]:
    """(total duration, sample count, first sample's flags) of one trun box."""
    (word, count) = struct.unpack_from(">II", data, payload)
    flags = word & 0xFFFFFF
    offset = payload + 8
    if flags & 0x001:
        offset += 4  # data offset
    first_flags = default_flags
    if flags & 0x004:
        (first_flags,) = struct.unpack_from(">I", data, offset)
        offset += 4
    per_sample = [(0x100, "d"), (0x200, "s"), (0x400, "f"), (0x800, "c")]
    present = [name for bit, name in per_sample if flags & bit]
    stride = 4 * len(present)
    if not flags & 0x100:
        return default_duration * count, count, first_flags
    total = 0
    for i in range(count):
        base = offset + i * stride
        (sample_duration,) = struct.unpack_from(">I", data, base)
        total += sample_duration
        if i == 0 and "f" in present and not flags & 0x004:
            (first_flags,) = struct.unpack_from(">I", data, base + 4 * present.index("f"))
    return total, count, first_flags


class FragmentReader:
    """Feeds bytes from ffmpeg's pipe; yields the init section once, then whole fragments.

    A fragment is everything from the end of the previous mdat up to and including the next
    mdat (a styp or prft before a moof stays with its fragment).
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._pending = 0  # bytes of complete boxes in the buffer not yet emitted
        self.init: bytes | None = None

    def feed(self, chunk: bytes) -> list[bytes]:
        self._buffer += chunk
        out: list[bytes] = []
        while True:
            box = self._next_box()
            if box is None:
                return out
            kind, size = box
            self._pending += size
            if self.init is None and kind == b"moof":
                # Everything before the first moof is the init section.
                head = self._pending - size
                self.init = bytes(self._buffer[:head])
                del self._buffer[:head]
                self._pending = size
                if find(self.init, [b"moov"]) is None:
                    raise MalformedMp4("stream starts without an init section (moov)")
            elif self.init is not None and kind == b"mdat":
                out.append(bytes(self._buffer[: self._pending]))
                del self._buffer[: self._pending]
                self._pending = 0

    def _next_box(self) -> tuple[bytes, int] | None:
        at = self._pending
        if len(self._buffer) < at + 8:
            return None
        size, kind = struct.unpack_from(">I4s", self._buffer, at)
        if size == 1:
            if len(self._buffer) < at + 16:
                return None
            (size,) = struct.unpack_from(">Q", self._buffer, at + 8)
        if size < 8:
            raise MalformedMp4(f"box {kind!r} with impossible size {size}")
        if len(self._buffer) < at + size:
            return None
        return kind, size
