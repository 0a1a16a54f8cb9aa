"""The RTMP server against a scripted publisher on loopback (no ffmpeg): the key reaches the
gate, a refusal is an onStatus the encoder shows, and compressed chunk headers (types 1-3,
extended timestamps, interleaved chunk streams) come out as the right FLV tags."""

from __future__ import annotations

import asyncio
import os
import struct
from typing import Any

import pytest

from media.ingest import amf
from media.ingest.gate import Refused
from media.ingest.rtmp import FLV_HEADER, chunked, serve_rtmp
from streams.contracts.lifecycle import EndReason, IngestProtocol


class Recorder:
    stream_id = "st_test"

    def __init__(self) -> None:
        self.data = bytearray()
        self.clock: list[int] = []
        self.closed: tuple[EndReason, str] | None = None

    def media_clock(self, media_ms: int) -> None:
        self.clock.append(media_ms)

    async def write(self, data: bytes) -> None:
        self.data += data

    async def close(self, reason: EndReason, detail: str = "") -> None:
        self.closed = (reason, detail)


class FakeGate:
    def __init__(self) -> None:
        self.keys: list[str] = []
        self.publication = Recorder()

    async def open(self, key: str, protocol: IngestProtocol, peer: str) -> Recorder:
        self.keys.append(key)
        if key != "live_good":
            raise Refused("unknown_key", "unknown stream key")
        return self.publication


async def _messages(reader: asyncio.StreamReader, until: str) -> list[list[Any]]:
    """Read server messages (type-0 chunks, honouring Set Chunk Size) until a command named ``until``."""
    size, commands = 128, []
    while True:
        first = (await reader.readexactly(1))[0]
        assert first >> 6 == 0
        header = await reader.readexactly(11)
        length, kind = int.from_bytes(header[3:6], "big"), header[6]
        payload = bytearray()
        while len(payload) < length:
            if payload:
                await reader.readexactly(1)  # type-3 continuation
            payload += await reader.readexactly(min(size, length - len(payload)))
        if kind == 1:
            size = struct.unpack(">I", payload)[0]
        elif kind == 20:
            commands.append(amf.decode_all(bytes(payload)))
            if commands[-1][0] == until:
                return commands


async def _publish(port: int, key: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, list[list[Any]]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    c1 = os.urandom(1536)
    writer.write(b"\x03" + c1)
    s0s1s2 = await reader.readexactly(1 + 2 * 1536)
    assert s0s1s2[0] == 3
    assert s0s1s2[1537:] == c1  # S2 echoes C1
    writer.write(s0s1s2[1:1537])  # C2 echoes S1
    writer.write(
        chunked(3, 20, 0, amf.encode("connect", 1.0, {"app": "live", "tcUrl": "rtmp://x/live"}), 128)
    )
    writer.write(chunked(3, 20, 0, amf.encode("createStream", 2.0, None), 128))
    writer.write(chunked(8, 20, 1, amf.encode("publish", 3.0, None, key, "live"), 128))
    await writer.drain()
    return reader, writer, await _messages(reader, "onStatus")


@pytest.fixture
async def server() -> Any:
    gate = FakeGate()
    srv = await serve_rtmp(gate, "127.0.0.1", 0, idle_timeout_s=2)
    yield gate, srv.sockets[0].getsockname()[1]
    srv.close()


async def test_an_unknown_key_is_refused_with_an_onstatus_the_encoder_shows(server: Any) -> None:
    gate, port = server
    reader, writer, commands = await _publish(port, "live_bad?foo=1")
    assert gate.keys == ["live_bad"]  # the query part of the stream name is not the key
    assert commands[0][0] == "_result"
    assert commands[0][3]["code"] == "NetConnection.Connect.Success"
    status = commands[-1][3]
    assert (status["level"], status["code"]) == ("error", "NetStream.Publish.Rejected")
    assert status["description"] == "unknown stream key"
    assert await reader.read() == b""  # then the server hangs up
    writer.close()


async def test_compressed_chunk_headers_come_out_as_flv_tags_with_the_right_timestamps(server: Any) -> None:
    gate, port = server
    _reader, writer, commands = await _publish(port, "live_good")
    assert commands[-1][3]["code"] == "NetStream.Publish.Start"
    video = bytes(range(200))  # longer than the 128-byte chunk: a type-3 continuation
    # Type 0 on chunk stream 6 at t=0, then type 1 (delta 33, new length), type 2 (delta 33),
    # type 3 (same delta again), interleaved with audio on chunk stream 4 with an extended timestamp.
    writer.write(chunked(6, 9, 1, video, 128, timestamp=0))
    writer.write(bytes([0x40 | 6]) + (33).to_bytes(3, "big") + (5).to_bytes(3, "big") + b"\x09" + b"v1234")
    writer.write(bytes([0x80 | 6]) + (33).to_bytes(3, "big") + b"v5678")
    writer.write(bytes([0xC0 | 6]) + b"v9abc")
    audio = b"a" * 10
    writer.write(bytes([4]) + b"\xff\xff\xff" + (10).to_bytes(3, "big") + b"\x08" + struct.pack("<I", 1))
    writer.write((0x01000000).to_bytes(4, "big") + audio)
    writer.write(chunked(3, 20, 1, amf.encode("FCUnpublish", 4.0, None, "live_good"), 128))
    await writer.drain()
    for _ in range(50):
        if gate.publication.closed:
            break
        await asyncio.sleep(0.02)
    writer.close()
    data = bytes(gate.publication.data)
    assert data.startswith(FLV_HEADER)
    tags = []
    at = len(FLV_HEADER)
    while at < len(data):
        kind, size = data[at], int.from_bytes(data[at + 1 : at + 4], "big")
        ts = int.from_bytes(data[at + 4 : at + 7], "big") | data[at + 7] << 24
        tags.append((kind, ts, data[at + 11 : at + 11 + size]))
        at += 11 + size + 4
    assert tags == [
        (9, 0, video),
        (9, 33, b"v1234"),
        (9, 66, b"v5678"),
        (9, 99, b"v9abc"),
        (8, 0x01000000, audio),
    ]
    assert gate.publication.clock == [0, 33, 66, 99, 0x01000000]  # the source's timestamps, for PDT
    assert gate.publication.closed == (EndReason.BROADCASTER_STOPPED, "")


async def test_garbage_and_silence_end_the_connection(server: Any) -> None:
    _gate, port = server
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\n\r\n")
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 5) == b""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)  # says nothing at all
    assert await asyncio.wait_for(reader.read(), 5) == b""
