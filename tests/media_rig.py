"""A live media rig for tests: the API (a gateway node, which also serves the viewer page) and
the media service as processes on free ports, agreeing on where the origin is."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ops.broadcast import MediaPorts, start_media
from tests.integration.conftest import free_port, spawn, stop_process


@dataclass
class MediaRig:
    api_url: str
    ports: MediaPorts
    log_dir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return self.ports.origin_url

    def rtmp(self, key: str) -> str:
        return f"rtmp://127.0.0.1:{self.ports.rtmp}/live/{key}"

    def srt(self, key: str) -> str:
        return f"srt://127.0.0.1:{self.ports.srt}?streamid={key}&latency=120000"


@contextmanager
def media_rig(log_dir: Path) -> Iterator[MediaRig]:
    ports = MediaPorts.free()
    api_port = free_port()
    api_url = f"http://127.0.0.1:{api_port}"
    gateway = spawn(
        ["-m", "serving.gateway", "--port", str(api_port), "--node-id", "gw-media"],
        log_dir / "gateway.log",
        ports.env(api_url),
    )
    rig = MediaRig(api_url, ports, log_dir, [gateway])
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", api_port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise AssertionError(f"gateway did not listen: {(log_dir / 'gateway.log').read_text()}")
            time.sleep(0.1)
        rig.procs.append(start_media(ports, api_url, log_dir / "media.log"))
        yield rig
    finally:
        for proc in reversed(rig.procs):
            stop_process(proc)
