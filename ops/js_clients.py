"""Official socket.io-client sockets driven from Python through ``ops/node/sio_driver.mjs``: the
end-to-end tests and the demo use them as real viewers, moderators and creators."""

from __future__ import annotations

import itertools
import json
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

from streams.settings import REPO_ROOT

NODE_MODULES = REPO_ROOT / ".cache" / "node" / "node_modules"
DRIVER = REPO_ROOT / "ops" / "node" / "sio_driver.mjs"


class JsClients:
    def __init__(self) -> None:
        if not (NODE_MODULES / "socket.io-client").exists():
            raise RuntimeError("run `make install` (installs socket.io-client)")
        self._proc = subprocess.Popen(
            [shutil.which("node") or "node", str(DRIVER)],
            env={"NODE_MODULES": str(NODE_MODULES), "PATH": "/usr/bin:/bin"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._ids = itertools.count(1)
        self._replies: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self.events: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            message = json.loads(line)
            if "id" in message:
                with self._lock:
                    box = self._replies.get(message["id"])
                if box is not None:
                    box.put(message)
            else:
                message["t"] = time.monotonic()
                with self._lock:
                    self.events.append(message)

    def _call(self, timeout_s: float = 20, **command: Any) -> dict[str, Any]:
        command_id = next(self._ids)
        box: queue.Queue[dict[str, Any]] = queue.Queue()
        with self._lock:
            self._replies[command_id] = box
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps({**command, "id": command_id}) + "\n")
        self._proc.stdin.flush()
        try:
            return box.get(timeout=timeout_s)
        except queue.Empty:
            raise TimeoutError(f"no reply to {command}") from None

    def connect(self, name: str, url: str, token: str | None) -> str | None:
        """None when connected, else the refusal."""
        args: dict[str, Any] = {"op": "connect", "name": name, "url": url}
        if token is not None:
            args["token"] = token
        reply = self._call(**args)
        return reply.get("error")

    def emit(self, name: str, event: str, data: Any) -> dict[str, Any]:
        reply = self._call(op="emit", name=name, event=event, data=data)
        if "error" in reply:
            raise RuntimeError(f"{name} {event}: {reply['error']}")
        ack: dict[str, Any] = reply["ack"]
        return ack

    def close(self, name: str) -> None:
        self._call(op="close", name=name)

    def received(self, name: str, event: str) -> list[dict[str, Any]]:
        with self._lock:
            return [e["data"] for e in self.events if e["name"] == name and e["event"] == event]

    def wait_for(
        self,
        name: str,
        event: str,
        match: Callable[[dict[str, Any]], bool] = lambda _: True,
        timeout_s: float = 20,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for data in self.received(name, event):
                if match(data):
                    return data
            time.sleep(0.02)
        raise TimeoutError(
            f"{name} did not receive a matching {event!r} in {timeout_s}s; got {self.events[-10:]}"
        )

    def shutdown(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
