"""The latest JPEG thumbnail from ffmpeg's image2pipe output (JPEGs back to back). Pure.

Baseline JPEG never contains 0xFFD9 inside its entropy-coded data (0xFF is stuffed), so an
image ends at the first end-of-image marker after its start-of-image."""

from __future__ import annotations

SOI = b"\xff\xd8"
EOI = b"\xff\xd9"
MAX_BUFFER = 4 * 1024 * 1024


class Thumbnails:
    def __init__(self) -> None:
        self._buffer = bytearray()
        self.latest: bytes | None = None
        self.count = 0

    def feed(self, chunk: bytes) -> None:
        self._buffer += chunk
        while True:
            start = self._buffer.find(SOI)
            if start < 0:
                self._buffer.clear()
                return
            end = self._buffer.find(EOI, start + 2)
            if end < 0:
                if start:
                    del self._buffer[:start]
                if len(self._buffer) > MAX_BUFFER:
                    self._buffer.clear()
                return
            self.latest = bytes(self._buffer[start : end + 2])
            self.count += 1
            del self._buffer[: end + 2]
