"""End-to-end tests share the integration fixtures (real services, nothing mocked) and add
gateway nodes as real processes."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ops.js_clients import NODE_MODULES
from serving.auth.tokens import issue
from streams.contracts.base import Role
from streams.settings import Settings
from tests.integration.conftest import (  # noqa: F401
    clickhouse,
    free_port,
    producer,
    settings,
    spawn,
    start_worker,
    stop_process,
    unique,
    wire,
)


def launch_gateway(
    node_id: str, log_dir: Path, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """A gateway node (python -m serving.gateway) as a process, and its URL once it listens."""
    port = free_port()
    log = log_dir / f"{node_id}.log"
    proc = spawn(["-m", "serving.gateway", "--port", str(port), "--node-id", node_id], log, env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"http://127.0.0.1:{port}"
        time.sleep(0.1)
    raise AssertionError(f"gateway {node_id} did not listen: {log.read_text()}")


@pytest.fixture
def start_gateway(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Start a gateway node and return its URL."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(node_id: str) -> str:
        proc, url = launch_gateway(node_id, tmp_path)
        procs.append(proc)
        return url

    yield start
    for proc in procs:
        stop_process(proc)


def open_room(url: str, config: Settings, room_id: str, creator_id: str) -> None:
    """Open a room through the gateway's HTTP API, as its creator."""
    token = issue(config.auth.token_secret.get_secret_value(), creator_id, [Role.CREATOR])
    response = httpx.post(
        f"{url}/v1/rooms", json={"room_id": room_id}, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert response.status_code == 201, response.text


def run_js_client(
    script: str, explain: Callable[[], str] = lambda: "", timeout_s: float = 60, **env: str
) -> dict[str, Any]:
    """Run one of this folder's socket.io-client scripts (the official JS client from npm) with
    ``env``; the JSON object it prints last. ``explain`` adds to the message if it fails."""
    assert (NODE_MODULES / "socket.io-client").exists(), "run `make install` (installs socket.io-client)"
    result = subprocess.run(
        [shutil.which("node") or "node", str(Path(__file__).with_name(script))],
        env={**os.environ, **env, "NODE_MODULES": str(NODE_MODULES)},
        cwd=NODE_MODULES.parent,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    assert result.returncode == 0, result.stderr + explain()
    out: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return out


class ProbeSteps:
    """A Chromium probe (playwright-core) driven step by step: it prints one JSON line per step
    and waits for a line on stdin where the test must act first."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc

    @classmethod
    def start(cls, script: str, shots: Path, **env: str) -> ProbeSteps:
        """Run this folder's ``script`` with ``env``; its screenshots go to ``shots``."""
        shots.mkdir(parents=True, exist_ok=True)
        proc = subprocess.Popen(
            [shutil.which("node") or "node", str(Path(__file__).with_name(script))],
            env={**os.environ, "NODE_MODULES": str(NODE_MODULES), "SHOTS": str(shots), **env},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        return cls(proc)

    def finish(self) -> None:
        """Close its input and expect a clean exit."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        assert self.proc.wait(30) == 0, self.proc.stderr.read() if self.proc.stderr else ""

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise AssertionError(f"the probe ended: {err[-3000:]}")
        out: dict[str, Any] = json.loads(line)
        assert "error" not in out, out
        return out

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
