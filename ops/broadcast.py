"""Going live from a script: the media service as a process, a creator's stream key, and a
synthetic broadcast (ffmpeg's test pattern and a tone, pushed over RTMP or SRT the way OBS
would). Used by ``make demo``, the media tests and ``make bench-media``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ops.js_clients import NODE_MODULES
from ops.load import free_port, wait_port
from ops.processes import stop_child
from streams.contracts.base import Role
from streams.settings import REPO_ROOT, Settings


@dataclass(frozen=True)
class MediaPorts:
    rtmp: int
    srt: int
    origin: int

    @classmethod
    def free(cls) -> MediaPorts:
        return cls(free_port(), free_port(socket.SOCK_DGRAM), free_port())

    @property
    def origin_url(self) -> str:
        return f"http://127.0.0.1:{self.origin}"

    def env(self, api_url: str) -> dict[str, str]:
        """What both the media service and the API must agree on."""
        return {
            "MEDIA_RTMP_PORT": str(self.rtmp),
            "MEDIA_SRT_PORT": str(self.srt),
            "MEDIA_ORIGIN_PORT": str(self.origin),
            "MEDIA_PUBLIC_ORIGIN_URL": self.origin_url,
            "MEDIA_API_URL": api_url,
        }


def start_media(
    ports: MediaPorts, api_url: str, log: Path, extra_env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``python -m media`` on the given ports, returned once its origin answers."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "media"],
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **ports.env(api_url), **(extra_env or {})},
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the media service exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{ports.origin_url}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"the media service did not answer: {log.read_text()[-2000:]}")


@dataclass
class MediaStack:
    """The API (a gateway node, which also serves the viewer page) and the media service as
    processes on free ports, agreeing on where the origin is."""

    api_url: str
    ports: MediaPorts
    log_dir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return self.ports.origin_url

    @property
    def media_pid(self) -> int:
        return self.procs[-1].pid

    def rtmp(self, key: str) -> str:
        return f"rtmp://127.0.0.1:{self.ports.rtmp}/live/{key}"

    def srt(self, key: str) -> str:
        return f"srt://127.0.0.1:{self.ports.srt}?streamid={key}&latency=120000"

    @contextmanager
    def on_air(
        self, settings: Settings, seconds: float | None = None, protocol: str = "rtmp", log: str = "publisher"
    ) -> Iterator[tuple[dict[str, Any], subprocess.Popen[bytes]]]:
        """A new creator's room and stream key, and a synthetic broadcast into it: (the stream as
        the API described it, plus ``creator_id``; the publisher), killed on exit."""
        suffix = uuid.uuid4().hex[:8]
        creator = f"cr_{suffix}"
        stream = {**go_live(self.api_url, settings, creator, f"room_{suffix}"), "creator_id": creator}
        target = self.srt(stream["stream_key"]) if protocol == "srt" else self.rtmp(stream["stream_key"])
        publisher = synthetic_broadcast(target, seconds, log=self.log_dir / f"{log}.log")
        try:
            yield stream, publisher
        finally:
            publisher.kill()
            publisher.wait()


@contextmanager
def media_stack(log_dir: Path) -> Iterator[MediaStack]:
    ports = MediaPorts.free()
    api_port = free_port()
    api_url = f"http://127.0.0.1:{api_port}"
    with (log_dir / "gateway.log").open("ab") as out:
        gateway = subprocess.Popen(
            [sys.executable, "-m", "serving.gateway", "--port", str(api_port), "--node-id", "gw-media"],
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **ports.env(api_url)},
        )
    stack = MediaStack(api_url, ports, log_dir, [gateway])
    try:
        wait_port(api_port, timeout_s=30)
        stack.procs.append(start_media(ports, api_url, log_dir / "media.log"))
        yield stack
    finally:
        for proc in reversed(stack.procs):
            stop_child(proc)


def token_for(settings: Settings, user_id: str, *roles: Role) -> str:
    from serving.auth.tokens import issue

    return issue(settings.auth.token_secret.get_secret_value(), user_id, list(roles or (Role.VIEWER,)))


def go_live(api_url: str, settings: Settings, creator_id: str, room_id: str) -> dict[str, Any]:
    """Open the creator's room (if needed) and get its stream key, as the creator's app would."""
    headers = {"Authorization": f"Bearer {token_for(settings, creator_id, Role.CREATOR)}"}
    opened = httpx.post(f"{api_url}/v1/rooms", json={"room_id": room_id}, headers=headers, timeout=10)
    if opened.status_code not in (200, 201, 409):
        raise RuntimeError(f"cannot open room {room_id}: {opened.status_code} {opened.text}")
    response = httpx.post(f"{api_url}/v1/streams", json={"room_id": room_id}, headers=headers, timeout=10)
    if response.status_code != 201:
        raise RuntimeError(f"cannot get a stream key: {response.status_code} {response.text}")
    body: dict[str, Any] = response.json()
    return body


def broadcast_args(
    target: str, seconds: float | None = None, size: str = "1280x720", fps: int = 30
) -> list[str]:
    """ffmpeg's test pattern (with a running clock) and a 440 Hz tone, encoded like OBS's defaults
    (x264, 2 s keyframes, AAC) and pushed live-paced to ``target`` (rtmp://… or srt://…)."""
    muxer = "mpegts" if target.startswith("srt://") else "flv"
    args = [
        "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "warning", "-re",
        "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
    ]  # fmt: skip
    if seconds is not None:
        args += ["-t", f"{seconds:g}"]
    return [
        *args,
        "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", str(2 * fps),
        "-pix_fmt", "yuv420p", "-b:v", "2500k", "-c:a", "aac", "-b:a", "128k", "-f", muxer, target,
    ]  # fmt: skip


def synthetic_broadcast(
    target: str, seconds: float | None = None, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """A publisher process (see :func:`broadcast_args`); its warnings go to ``log``."""
    with log.open("ab") if log else open(os.devnull, "wb") as out:
        return subprocess.Popen(broadcast_args(target, seconds), stdout=subprocess.DEVNULL, stderr=out)


PROBE = REPO_ROOT / "ops" / "node" / "player_probe.mjs"


def watch_in_chromium(url: str, seconds: float) -> dict[str, Any]:
    """Open a viewer page in headless Chromium (Debian's) for ``seconds``; what the player
    measured: startup_ms, latency_s samples, stalls, beacons sent, errors."""
    import json
    import shutil

    result = subprocess.run(
        [shutil.which("node") or "node", str(PROBE), url, f"{seconds:g}"],
        env={**os.environ, "NODE_MODULES": str(NODE_MODULES)},
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the player probe failed: {result.stderr[-2000:]}")
    stats: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return stats
