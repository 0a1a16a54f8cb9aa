"""Socket.IO load from official socket.io-client sockets (``bench/node/load.mjs``): plan clients
over rooms, drive them against servers, and measure chat delivery latency, deliveries per second
and the CPU and memory of the processes involved. Used by ``make bench-fanout`` and the demo.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ops.js_clients import NODE_MODULES
from ops.processes import tree_cpu_seconds, tree_memory_mb
from serving.auth.tokens import issue
from streams.bus.admin import start_group_at_end
from streams.contracts.base import Role
from streams.settings import REPO_ROOT, Settings

LOAD_SCRIPT = REPO_ROOT / "bench" / "node" / "load.mjs"
WORK = REPO_ROOT / ".cache" / "bench"


@dataclass
class Proc:
    name: str
    pid: int
    popen: subprocess.Popen[bytes] | None = None


def free_port(kind: socket.SocketKind = socket.SOCK_STREAM) -> int:
    """A free loopback port (TCP, or UDP with ``socket.SOCK_DGRAM``)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch(name: str, args: list[str], env: dict[str, str] | None = None) -> Proc:
    WORK.mkdir(parents=True, exist_ok=True)
    log = (WORK / f"{name}.log").open("ab")
    popen = subprocess.Popen(
        args, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
    )
    return Proc(name, popen.pid, popen)


def launch_worker(
    settings: Settings,
    name: str,
    app_id: str,
    env: dict[str, str] | None = None,
    python: str = sys.executable,
) -> Proc:
    """A Faust worker in a consumer group of its own that starts at the topics' ends, so it
    handles only what the run produces."""
    from streams.worker import CONSUMED  # Faust's import, only for the callers that start one

    start_group_at_end(settings.kafka.bootstrap_servers, app_id, CONSUMED)
    return launch(name, [python, "-m", "streams.worker", "--app-id", app_id, "--loglevel", "warn"], env)


def wait_http(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout_s}s")


def wait_port(port: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port} after {timeout_s}s")


def stop(procs: list[Proc]) -> None:
    started = [p.popen for p in procs if p.popen is not None]
    for popen in started:
        popen.terminate()
    for popen in started:
        try:
            popen.wait(20)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()


@dataclass(frozen=True)
class Load:
    """The shape of a load: clients over rooms (one hot room), chat senders, a reaction flood."""

    clients: int
    duration_s: int
    rooms: int = 10
    hot_share: float = 0.3
    sender_share: float = 0.1
    chat_interval_ms: int = 2000  # 0.5 messages/s per sender: inside the default 20 per 30 s limit
    reactors: int = 10
    react_interval_ms: int = 200  # 5 taps/s each
    settle_ms: int = 3000


def plan(load: Load, run: str, urls: list[str], secret: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The load generator's config and the rooms it needs (room -> creator): clients over rooms
    (the hot room first), alternating between the servers."""
    rooms = {f"fan-{run}-r{i}": f"fan-{run}-c{i}" for i in range(load.rooms)}
    room_ids = list(rooms)
    hot = int(load.clients * load.hot_share)
    clients = []
    for i in range(load.clients):
        room = room_ids[0] if i < hot else room_ids[1 + (i - hot) % (load.rooms - 1)]
        user = f"fan-{run}-u{i}"
        clients.append(
            {
                "user": user,
                "token": issue(secret, user, [Role.VIEWER]),
                "room": room,
                "url": urls[i % len(urls)],
            }
        )
    senders = list(range(0, load.clients, round(1 / load.sender_share)))
    reactors = list(range(1, hot, 2))[: load.reactors]
    config = {
        "clients": clients,
        "senders": senders,
        "reactors": reactors,
        "chat_interval_ms": load.chat_interval_ms,
        "react_interval_ms": load.react_interval_ms,
        "duration_s": load.duration_s,
        "settle_ms": load.settle_ms,
    }
    return config, rooms


def cpu_by_process() -> dict[int, float]:
    """CPU seconds of every process on the machine (to name what competed for the cores)."""
    ticks: dict[int, float] = {}
    tck = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                ticks[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tck
            except (OSError, IndexError):
                continue
    return ticks


def busiest(
    before: dict[int, float], after: dict[int, float], span_s: float, top: int = 8
) -> dict[str, float]:
    """The processes that used the most CPU over the window, as % of one core, by command line."""
    used: dict[str, float] = {}
    for pid, seconds in after.items():
        share = 100 * (seconds - before.get(pid, seconds)) / span_s
        if share >= 1:
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                cmd = str(pid)
            used[f"{pid} {cmd[:90].strip()}"] = round(share, 1)
    return dict(sorted(used.items(), key=lambda kv: -kv[1])[:top])


def drive(config: dict[str, Any], label: str, measured: list[Proc]) -> dict[str, Any]:
    """Run the load generator; sample CPU and memory of ``measured`` over its measured window."""
    path = WORK / f"fanout-{label}.json"
    path.write_text(json.dumps(config))
    node = shutil.which("node") or "node"
    load = subprocess.Popen(
        [node, str(LOAD_SCRIPT), str(path)],
        env={**os.environ, "NODE_MODULES": str(NODE_MODULES)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    everyone = [*measured, Proc("load-generator", load.pid)]
    cpu0: dict[str, float] = {}
    t0 = t1 = 0.0
    cpu1: dict[str, float] = {}
    memory: dict[str, float] = {}
    machine0: dict[int, float] = {}
    machine1: dict[int, float] = {}
    assert load.stderr is not None
    for line in load.stderr:
        print(f"  [{label}] {line.rstrip()}", flush=True)
        if "MEASURE_START" in line:
            t0, cpu0 = time.monotonic(), {p.name: tree_cpu_seconds(p.pid) for p in everyone}
            machine0 = cpu_by_process()
        elif "MEASURE_END" in line:
            t1, cpu1 = time.monotonic(), {p.name: tree_cpu_seconds(p.pid) for p in everyone}
            machine1 = cpu_by_process()
            memory = {p.name: round(tree_memory_mb(p.pid), 1) for p in everyone}
    out, _ = load.communicate(timeout=120)
    if load.returncode != 0 or not out.strip():
        raise RuntimeError(f"load generator failed for {label} (exit {load.returncode})")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    span = max(t1 - t0, 1e-9)
    result["cpu_pct"] = {name: round(100 * (cpu1[name] - cpu0[name]) / span, 1) for name in cpu1}
    result["memory_mb"] = memory
    result["machine_cpu_pct"] = round(100 * (sum(machine1.values()) - sum(machine0.values())) / span, 1)
    result["busiest_processes"] = busiest(machine0, machine1, span)
    return result
