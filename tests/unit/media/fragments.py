"""Hand-built fragmented MP4 boxes for the packager's unit tests (no ffmpeg)."""

from __future__ import annotations

import struct


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def init_section(timescale: int) -> bytes:
    mdhd = box(b"mdhd", b"\x00\x00\x00\x00" + struct.pack(">IIII", 0, 0, timescale, 0) + b"\x55\xc4\x00\x00")
    avcc = box(b"avcC", bytes([1, 0x4D, 0x40, 0x1E, 0xFF]))
    return box(b"ftyp", b"iso6\x00\x00\x02\x00") + box(b"moov", box(b"trak", box(b"mdia", mdhd + avcc)))


def fragment(decode_time: int, durations: list[int], key: bool, payload: bytes = b"x" * 10) -> bytes:
    """moof (tfhd with default flags, tfdt v1, trun with per-sample durations and first-sample
    flags) + mdat."""
    non_sync = 0x00010000
    tfhd = box(b"tfhd", struct.pack(">I", 0x020020) + struct.pack(">I", 1) + struct.pack(">I", non_sync))
    tfdt = box(b"tfdt", b"\x01\x00\x00\x00" + struct.pack(">Q", decode_time))
    first = 0x02000000 if key else non_sync
    trun = box(
        b"trun",
        struct.pack(">II", 0x000105, len(durations))
        + struct.pack(">I", 0)
        + struct.pack(">I", first)
        + b"".join(struct.pack(">I", d) for d in durations),
    )
    moof = box(b"moof", box(b"mfhd", struct.pack(">II", 0, 1)) + box(b"traf", tfhd + tfdt + trun))
    return moof + box(b"mdat", payload)
