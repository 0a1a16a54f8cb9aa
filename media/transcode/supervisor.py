"""One ffmpeg per live stream, supervised from asyncio: the broadcast goes in on stdin, each
rendition comes out as fragmented MP4 on its own pipe, thumbnails on another. Argument lists
only, never a shell."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from media.transcode.ladder import InputFormat, Ladder, transcode_args

log = structlog.get_logger(__name__)

OnBytes = Callable[[int, bytes], Awaitable[None]]  # (output index, chunk); b"" at end of stream
STOP_GRACE_S = 5.0


@dataclass
class _Pipe:
    index: int
    read_fd: int
    write_fd: int


def _returning(protocol: asyncio.StreamReaderProtocol) -> Callable[[], asyncio.StreamReaderProtocol]:
    def factory() -> asyncio.StreamReaderProtocol:
        return protocol

    return factory


class Transcoder:
    """Starts ffmpeg with one pipe per output; :meth:`feed` writes the broadcast; ``on_bytes``
    receives every output chunk (index ``len(ladder)`` is audio, ``len(ladder) + 1`` thumbnails)."""

    def __init__(
        self, ladder: Ladder, input_format: InputFormat, on_bytes: OnBytes, ffmpeg: str, thumbnail_s: float
    ) -> None:
        self.ladder = ladder
        self.input_format = input_format
        self.on_bytes = on_bytes
        self.ffmpeg = ffmpeg
        self.thumbnail_s = thumbnail_s
        self.process: asyncio.subprocess.Process | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.stderr_tail: list[str] = []

    async def start(self) -> None:
        pipes = []
        for index in range(len(self.ladder.renditions) + 2):
            r, w = os.pipe()
            pipes.append(_Pipe(index, r, w))
        args = transcode_args(
            self.ladder,
            self.input_format,
            [p.write_fd for p in pipes[:-1]],
            thumbnail_fd=pipes[-1].write_fd,
            thumbnail_every_s=self.thumbnail_s,
            ffmpeg=self.ffmpeg,
        )
        try:
            self.process = await asyncio.create_subprocess_exec(
                *args,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                pass_fds=[p.write_fd for p in pipes],
            )
        finally:
            for p in pipes:
                os.close(p.write_fd)
        loop = asyncio.get_running_loop()
        for p in pipes:
            reader = asyncio.StreamReader(limit=1 << 22)
            protocol = asyncio.StreamReaderProtocol(reader)
            await loop.connect_read_pipe(_returning(protocol), os.fdopen(p.read_fd, "rb", 0))
            self._tasks.append(asyncio.create_task(self._pump(p.index, reader)))
        self._tasks.append(asyncio.create_task(self._stderr()))

    async def _pump(self, index: int, reader: asyncio.StreamReader) -> None:
        while True:
            chunk = await reader.read(1 << 18)
            await self.on_bytes(index, chunk)
            if not chunk:
                return

    async def _stderr(self) -> None:
        assert self.process is not None
        assert self.process.stderr is not None
        async for line in self.process.stderr:
            text = line.decode(errors="replace").rstrip()
            self.stderr_tail = [*self.stderr_tail[-19:], text]
            log.warning("ffmpeg", line=text)

    async def feed(self, data: bytes) -> None:
        assert self.process is not None
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        await self.process.stdin.drain()

    async def wait(self) -> int:
        """ffmpeg's exit code, once every output pipe is drained."""
        assert self.process is not None
        code = await self.process.wait()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        return code

    async def stop(self) -> int:
        """End of input: ffmpeg flushes its last fragments and exits (killed if it does not)."""
        if self.process is None:
            return 0
        if self.process.stdin is not None and not self.process.stdin.is_closing():
            self.process.stdin.close()
            with contextlib.suppress(ConnectionError):
                await self.process.stdin.wait_closed()
        try:
            return await asyncio.wait_for(self.wait(), STOP_GRACE_S)
        except TimeoutError:
            self.process.kill()
            return await self.wait()
