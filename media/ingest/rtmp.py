"""An RTMP publish server (what OBS speaks): handshake, chunk stream, the connect / createStream /
publish commands, then audio and video messages re-emitted as an FLV byte stream.

The stream key arrives with ``publish``; the :class:`Gate` decides whether this publisher may
go live (unknown or revoked key, a key already live) before any media is accepted.
"""

from __future__ import annotations

import asyncio
import os
import struct
from dataclasses import dataclass, field

import structlog

from media.ingest import amf
from media.ingest.gate import Gate, Publication, Refused
from streams.contracts.lifecycle import EndReason, IngestProtocol

log = structlog.get_logger(__name__)

HANDSHAKE_SIZE = 1536
OUR_CHUNK_SIZE = 4096
WINDOW = 2_500_000
SET_CHUNK_SIZE, ABORT, ACK, USER_CONTROL, WINDOW_ACK_SIZE, PEER_BANDWIDTH = 1, 2, 3, 4, 5, 6
AUDIO, VIDEO, DATA_AMF3, DATA_AMF0, COMMAND_AMF3, COMMAND_AMF0 = 8, 9, 15, 18, 17, 20
FLV_HEADER = b"FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00"
MAX_MESSAGE = 16 * 1024 * 1024


class ProtocolError(Exception):
    """The peer does not speak RTMP as a publisher should."""


def flv_tag(kind: int, timestamp: int, payload: bytes) -> bytes:
    ts = timestamp & 0xFFFFFFFF
    header = struct.pack(">B", kind) + len(payload).to_bytes(3, "big") + (ts & 0xFFFFFF).to_bytes(3, "big")
    header += bytes([ts >> 24]) + b"\x00\x00\x00"
    return header + payload + struct.pack(">I", 11 + len(payload))


def chunked(
    csid: int, kind: int, stream_id: int, payload: bytes, chunk_size: int, timestamp: int = 0
) -> bytes:
    """One message as a type-0 chunk followed by type-3 continuations."""
    out = bytearray([csid & 0x3F])
    out += min(timestamp, 0xFFFFFF).to_bytes(3, "big") + len(payload).to_bytes(3, "big") + bytes([kind])
    out += struct.pack("<I", stream_id)
    for start in range(0, max(len(payload), 1), chunk_size):
        if start:
            out.append(0xC0 | (csid & 0x3F))
        out += payload[start : start + chunk_size]
    return bytes(out)


@dataclass
class _ChunkStream:
    timestamp: int = 0
    delta: int = 0
    length: int = 0
    kind: int = 0
    stream_id: int = 0
    extended: bool = False
    buffer: bytearray = field(default_factory=bytearray)


class RtmpConnection:
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, gate: Gate, idle_timeout_s: float
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.gate = gate
        self.idle_timeout_s = idle_timeout_s
        self.in_chunk_size = 128
        self.streams: dict[int, _ChunkStream] = {}
        self.received = 0
        self.acked = 0
        self.peer_window = 0
        self.publication: Publication | None = None
        self.app = ""
        self.peer = str(writer.get_extra_info("peername"))

    async def _read(self, n: int) -> bytes:
        data = await asyncio.wait_for(self.reader.readexactly(n), self.idle_timeout_s)
        self.received += n
        return data

    async def run(self) -> None:
        reason, detail = EndReason.BROADCASTER_STOPPED, ""
        try:
            await asyncio.wait_for(self._handshake(), self.idle_timeout_s)
            while True:
                stopped = await self._message()
                if stopped:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            reason, detail = EndReason.INGEST_LOST, "connection closed without unpublish"
        except TimeoutError:
            reason, detail = EndReason.INGEST_LOST, f"no data for {self.idle_timeout_s:g}s"
        except (ProtocolError, amf.AmfError) as err:
            reason, detail = EndReason.INGEST_LOST, str(err)
            log.warning("rtmp.protocol_error", peer=self.peer, error=str(err))
        except Refused as err:
            log.info("rtmp.refused", peer=self.peer, reason=err.reason)
        except Exception as err:  # one broken connection never takes the server down
            reason, detail = EndReason.INGEST_LOST, f"ingest failed: {type(err).__name__}"
            log.exception("rtmp.failed", peer=self.peer)
        finally:
            if self.publication is not None:
                await self.publication.close(reason, detail)
            self.writer.close()

    async def _handshake(self) -> None:
        c0 = await self._read(1)
        if c0 != b"\x03":
            raise ProtocolError(f"not an RTMP client: first byte {c0!r}, expected version 3")
        c1 = await self._read(HANDSHAKE_SIZE)
        s1 = b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00" + os.urandom(HANDSHAKE_SIZE - 8)
        self.writer.write(b"\x03" + s1 + c1)
        await self.writer.drain()
        await self._read(HANDSHAKE_SIZE)

    async def _message(self) -> bool:
        """Read one chunk; handle the message it completes. True when the publisher is done."""
        first = (await self._read(1))[0]
        fmt, csid = first >> 6, first & 0x3F
        if csid == 0:
            csid = 64 + (await self._read(1))[0]
        elif csid == 1:
            b = await self._read(2)
            csid = 64 + b[0] + b[1] * 256
        cs = self.streams.setdefault(csid, _ChunkStream())
        if fmt != 3:
            header = await self._read((11, 7, 3)[fmt])
            ts = int.from_bytes(header[0:3], "big")
            if fmt <= 1:
                cs.length = int.from_bytes(header[3:6], "big")
                cs.kind = header[6]
                if cs.length > MAX_MESSAGE:
                    raise ProtocolError(f"message of {cs.length} bytes is too large")
            if fmt == 0:
                cs.stream_id = struct.unpack("<I", header[7:11])[0]
            cs.extended = ts == 0xFFFFFF
            if cs.extended:
                ts = int.from_bytes(await self._read(4), "big")
            if fmt == 0:
                cs.timestamp, cs.delta = ts, 0
            else:
                cs.delta = ts
                if not cs.buffer:
                    cs.timestamp += ts
        else:  # fmt 3: same header as before
            if cs.extended:
                await self._read(4)
            if not cs.buffer and cs.length:
                cs.timestamp += cs.delta
        if cs.length == 0 and cs.kind == 0:
            raise ProtocolError(f"chunk on stream {csid} continues a message that never started")
        take = min(self.in_chunk_size, cs.length - len(cs.buffer))
        cs.buffer += await self._read(take)
        await self._acknowledge()
        if len(cs.buffer) < cs.length:
            return False
        payload = bytes(cs.buffer)
        cs.buffer.clear()
        return await self._handle(cs.kind, cs.timestamp, payload)

    async def _acknowledge(self) -> None:
        if self.peer_window and self.received - self.acked >= self.peer_window:
            self.acked = self.received
            self._send(2, ACK, 0, struct.pack(">I", self.received & 0xFFFFFFFF))
            await self.writer.drain()

    def _send(self, csid: int, kind: int, stream_id: int, payload: bytes) -> None:
        self.writer.write(chunked(csid, kind, stream_id, payload, OUR_CHUNK_SIZE))

    async def _handle(self, kind: int, timestamp: int, payload: bytes) -> bool:
        if kind == SET_CHUNK_SIZE:
            size = struct.unpack(">I", payload[:4])[0] & 0x7FFFFFFF
            if not 1 <= size <= MAX_MESSAGE:
                raise ProtocolError(f"chunk size {size} out of range")
            self.in_chunk_size = size
        elif kind == WINDOW_ACK_SIZE:
            self.peer_window = struct.unpack(">I", payload[:4])[0]
        elif kind == USER_CONTROL and len(payload) >= 6 and payload[:2] == b"\x00\x06":
            self._send(2, USER_CONTROL, 0, b"\x00\x07" + payload[2:6])  # ping → pong
        elif kind in (AUDIO, VIDEO):
            if self.publication is None:
                raise ProtocolError("media before publish")
            self.publication.media_clock(timestamp)
            await self.publication.write(flv_tag(kind, timestamp, payload))
        elif kind == DATA_AMF0 and self.publication is not None:
            prefix = amf.encode("@setDataFrame")
            if payload.startswith(prefix):
                payload = payload[len(prefix) :]
            await self.publication.write(flv_tag(DATA_AMF0, timestamp, payload))
        elif kind in (COMMAND_AMF0, COMMAND_AMF3):
            body = payload[1:] if kind == COMMAND_AMF3 else payload
            return await self._command(amf.decode_all(body))
        return False

    async def _command(self, values: list[object]) -> bool:
        if len(values) < 2 or not isinstance(values[0], str):
            raise ProtocolError("command without a name")
        name, txn = values[0], values[1]
        if name == "connect":
            props = values[2] if len(values) > 2 and isinstance(values[2], dict) else {}
            self.app = str(props.get("app", ""))
            self._send(2, WINDOW_ACK_SIZE, 0, struct.pack(">I", WINDOW))
            self._send(2, PEER_BANDWIDTH, 0, struct.pack(">IB", WINDOW, 2))
            self._send(2, SET_CHUNK_SIZE, 0, struct.pack(">I", OUR_CHUNK_SIZE))
            result = amf.encode(
                "_result",
                txn,
                {"fmsVer": "FMS/3,0,1,123", "capabilities": 31.0},
                {
                    "level": "status",
                    "code": "NetConnection.Connect.Success",
                    "description": "Connected.",
                    "objectEncoding": 0.0,
                },
            )
            self._send(3, COMMAND_AMF0, 0, result)
        elif name == "createStream":
            self._send(3, COMMAND_AMF0, 0, amf.encode("_result", txn, None, 1.0))
        elif name in ("releaseStream", "FCPublish"):
            self._send(3, COMMAND_AMF0, 0, amf.encode("_result", txn, None, None))
        elif name == "publish":
            key = str(values[3]) if len(values) > 3 and values[3] is not None else ""
            await self._publish(key.split("?", 1)[0])
        elif name in ("FCUnpublish", "deleteStream", "closeStream"):
            return self.publication is not None
        await self.writer.drain()
        return False

    async def _publish(self, key: str) -> None:
        try:
            self.publication = await self.gate.open(key, IngestProtocol.RTMP, self.peer)
        except Refused as err:
            code = (
                "NetStream.Publish.BadName" if err.reason == "already_live" else "NetStream.Publish.Rejected"
            )
            self._status("error", code, err.detail)
            await self.writer.drain()
            raise
        self._send(2, USER_CONTROL, 0, struct.pack(">HI", 0, 1))  # StreamBegin
        self._status("status", "NetStream.Publish.Start", f"{self.publication.stream_id} is live")
        await self.publication.write(FLV_HEADER)

    def _status(self, level: str, code: str, description: str) -> None:
        info = {"level": level, "code": code, "description": description}
        self._send(5, COMMAND_AMF0, 1, amf.encode("onStatus", 0.0, None, info))


async def serve_rtmp(gate: Gate, host: str, port: int, idle_timeout_s: float = 10.0) -> asyncio.Server:
    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await RtmpConnection(reader, writer, gate, idle_timeout_s).run()

    return await asyncio.start_server(accept, host, port)
