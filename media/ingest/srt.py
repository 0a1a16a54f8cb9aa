"""SRT ingest through libsrt (Debian's, the one ffmpeg links) via ctypes.

The caller's ``streamid`` carries the stream key (``srt://host:port?streamid=KEY``, or the SRT
access-control form ``#!::r=KEY,m=publish``). libsrt's listen callback runs during the
handshake, so an unknown or revoked key, or a second publisher, is rejected before any media
flows (SRT rejection codes 1403 forbidden / 1409 conflict). The accepted socket's MPEG-TS is
read on a thread and handed to the stream on the event loop.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import socket
import struct
import threading
import time
from concurrent.futures import Future
from typing import Any

import structlog

from media.ingest.gate import Gate, Publication, Refused
from streams.contracts.lifecycle import EndReason, IngestProtocol

log = structlog.get_logger(__name__)

SRTO_RCVSYN, SRTO_RCVTIMEO, SRTO_REUSEADDR, SRTO_LATENCY = 2, 14, 15, 23
REJX_FORBIDDEN, REJX_CONFLICT, REJX_UNAVAILABLE = 1403, 1409, 1503
CLAIM_TIMEOUT_S = 10.0
_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p
)
_LIBRARIES = ("srt-gnutls", "srt-openssl", "srt")


def _load() -> Any:
    for name in _LIBRARIES:
        path = ctypes.util.find_library(name)
        if path:
            return ctypes.CDLL(path)
    return None


def srt_available() -> bool:
    return _load() is not None


def key_of(streamid: str) -> tuple[str, str]:
    """(key, mode) from a plain streamid or the ``#!::r=KEY,m=publish`` access-control form."""
    if not streamid.startswith("#!::"):
        return streamid, "publish"
    fields = dict(item.split("=", 1) for item in streamid[4:].split(",") if "=" in item)
    return fields.get("r", ""), fields.get("m", "request")


class SrtListener:
    def __init__(
        self, gate: Gate, host: str, port: int, idle_timeout_s: float = 10.0, latency_ms: int = 120
    ) -> None:
        self.gate = gate
        self.host = host
        self.port = port
        self.idle_timeout_s = idle_timeout_s
        self.latency_ms = latency_ms
        self.lib = _load()
        if self.lib is None:
            raise RuntimeError("libsrt is not installed (Debian: libsrt1.5-gnutls, installed with ffmpeg)")
        self._claims: dict[int, tuple[Publication, float]] = {}
        self._lock = threading.Lock()
        self._callback = _CALLBACK(self._on_handshake)
        self._socket = -1
        self._closed = False
        self.loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        lib = self.lib
        lib.srt_startup()
        sock = lib.srt_create_socket()
        yes = ctypes.c_int(1)
        lib.srt_setsockflag(sock, SRTO_REUSEADDR, ctypes.byref(yes), 4)
        latency = ctypes.c_int(self.latency_ms)
        lib.srt_setsockflag(sock, SRTO_LATENCY, ctypes.byref(latency), 4)
        addr = struct.pack("!HH4s8x", socket.AF_INET, self.port, socket.inet_aton(self.host))
        addr = struct.pack("=H", socket.AF_INET) + addr[2:]
        if lib.srt_bind(sock, addr, len(addr)) < 0:
            raise OSError(f"SRT cannot bind {self.host}:{self.port}: {self._error()}")
        lib.srt_listen_callback(sock, self._callback, None)
        if lib.srt_listen(sock, 16) < 0:
            raise OSError(f"SRT cannot listen: {self._error()}")
        self._socket = sock
        threading.Thread(target=self._accept_loop, name="srt-accept", daemon=True).start()

    def _error(self) -> str:
        self.lib.srt_getlasterror_str.restype = ctypes.c_char_p
        return str(self.lib.srt_getlasterror_str().decode(errors="replace"))

    def _on_handshake(self, _opaque: Any, ns: int, _version: int, _peer: Any, streamid: bytes | None) -> int:
        """libsrt's thread, during the handshake: decide, and start the stream if accepted."""
        key, mode = key_of((streamid or b"").decode(errors="replace"))
        if mode != "publish":
            self.lib.srt_setrejectreason(ns, REJX_FORBIDDEN)
            return -1
        assert self.loop is not None
        future = asyncio.run_coroutine_threadsafe(
            self.gate.open(key, IngestProtocol.SRT, f"srt:{ns}"), self.loop
        )
        try:
            publication = future.result(timeout=5)
        except Refused as err:
            log.info("srt.refused", reason=err.reason)
            code = {
                "already_live": REJX_CONFLICT,
                "auth_unavailable": REJX_UNAVAILABLE,
                "unavailable": REJX_UNAVAILABLE,
            }.get(err.reason, REJX_FORBIDDEN)
            self.lib.srt_setrejectreason(ns, code)
            return -1
        except Exception as err:
            log.error("srt.open_failed", error=repr(err))
            self.lib.srt_setrejectreason(ns, REJX_UNAVAILABLE)
            return -1
        with self._lock:
            self._claims[ns] = (publication, time.monotonic())
        return 0

    def _accept_loop(self) -> None:
        addr = ctypes.create_string_buffer(128)
        size = ctypes.c_int(128)
        while not self._closed:
            sock = self.lib.srt_accept(self._socket, addr, ctypes.byref(size))
            self._expire_claims()
            if sock < 0:
                if self._closed:
                    return
                time.sleep(0.05)
                continue
            with self._lock:
                claim = self._claims.pop(sock, None)
            if claim is None:
                self.lib.srt_close(sock)
                continue
            threading.Thread(
                target=self._read, args=(sock, claim[0]), name=f"srt-{sock}", daemon=True
            ).start()

    def _expire_claims(self) -> None:
        """A handshake accepted by the callback but never completed must not keep its stream."""
        now = time.monotonic()
        with self._lock:
            stale = [ns for ns, (_, t) in self._claims.items() if now - t > CLAIM_TIMEOUT_S]
            publications = [self._claims.pop(ns)[0] for ns in stale]
        for publication in publications:
            self._run(publication.close(EndReason.INGEST_LOST, "SRT handshake never completed"))

    def _run(self, coroutine: Any) -> Future[Any]:
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def _read(self, sock: int, publication: Publication) -> None:
        timeout = ctypes.c_int(int(self.idle_timeout_s * 1000))
        self.lib.srt_setsockflag(sock, SRTO_RCVTIMEO, ctypes.byref(timeout), 4)
        buffer = ctypes.create_string_buffer(1500)
        reason, detail = EndReason.INGEST_LOST, "SRT connection lost"
        try:
            while True:
                n = self.lib.srt_recvmsg(sock, buffer, 1500)
                if n <= 0:
                    detail = f"SRT: {self._error()}"
                    break
                self._run(publication.write(buffer.raw[:n])).result(timeout=30)
        except ConnectionError as err:
            detail = str(err)
        finally:
            self.lib.srt_close(sock)
            self._run(publication.close(reason, detail))

    def close(self) -> None:
        self._closed = True
        if self._socket >= 0:
            self.lib.srt_close(self._socket)
