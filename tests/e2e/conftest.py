"""End-to-end tests share the integration fixtures (real services, nothing mocked) and add
gateway nodes as real processes."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import (  # noqa: F401
    free_port,
    producer,
    settings,
    spawn,
    start_worker,
    stop_process,
    unique,
    wire,
)


@pytest.fixture
def start_gateway(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Start a gateway node (python -m serving.gateway) and return its URL."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(node_id: str) -> str:
        port = free_port()
        proc = spawn(
            ["-m", "serving.gateway", "--port", str(port), "--node-id", node_id], tmp_path / f"{node_id}.log"
        )
        procs.append(proc)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return f"http://127.0.0.1:{port}"
            time.sleep(0.1)
        raise AssertionError(f"gateway {node_id} did not listen: {(tmp_path / f'{node_id}.log').read_text()}")

    yield start
    for proc in procs:
        stop_process(proc)
