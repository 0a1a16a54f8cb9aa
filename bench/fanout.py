"""bench-fanout: chat delivery through the platform (gateway -> Kafka -> Faust moderation ->
Kafka -> Faust fan-out -> Redis -> every gateway node) versus a reference Node.js Socket.IO
server with @socket.io/redis-adapter broadcasting directly, under the same load in one run.

N official socket.io-client sockets over R rooms on two server processes (alternating), one hot
room holding a third of them, steady chat from a tenth of the clients, and a reaction flood in
the hot room. Latency is sender emit -> each receiver (one clock: the load generator's).

    make bench-fanout            (QUICK=1: 300 clients, 15 s)

Writes bench/results/fanout.json and prints it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ops.processes import ProcessFiles, tree_cpu_seconds, tree_memory_mb
from ops.seed import open_rooms
from serving.auth.tokens import issue
from streams.bus.admin import start_group_at_end
from streams.contracts.base import Role
from streams.settings import REPO_ROOT, Settings
from streams.worker import CONSUMED

QUICK = os.environ.get("QUICK") == "1"
CLIENTS = int(os.environ.get("FANOUT_CLIENTS", 300 if QUICK else 1000))
DURATION_S = int(os.environ.get("FANOUT_DURATION_S", 15 if QUICK else 30))
ROOMS = 10
HOT_SHARE = 0.3
SENDER_SHARE = 0.1
CHAT_INTERVAL_MS = 2000  # 0.5 messages/s per sender: inside the default 20 per 30 s limit
REACTORS = 10
REACT_INTERVAL_MS = 200  # 5 taps/s each: 50 taps/s in the hot room
NODE_MODULES = REPO_ROOT / ".cache" / "node" / "node_modules"
SCRIPTS = Path(__file__).with_name("node")
RESULTS = REPO_ROOT / "bench" / "results" / "fanout.json"
WORK = REPO_ROOT / ".cache" / "bench"


@dataclass
class Proc:
    name: str
    pid: int
    popen: subprocess.Popen[bytes] | None = None


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch(name: str, args: list[str], env: dict[str, str] | None = None) -> Proc:
    WORK.mkdir(parents=True, exist_ok=True)
    log = (WORK / f"{name}.log").open("ab")
    popen = subprocess.Popen(
        args, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
    )
    return Proc(name, popen.pid, popen)


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
    import socket

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


def plan(run: str, urls: list[str], secret: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Clients over rooms (the hot room first), alternating between the two servers."""
    rooms = {f"fan-{run}-r{i}": f"fan-{run}-c{i}" for i in range(ROOMS)}
    room_ids = list(rooms)
    hot = int(CLIENTS * HOT_SHARE)
    clients = []
    for i in range(CLIENTS):
        room = room_ids[0] if i < hot else room_ids[1 + (i - hot) % (ROOMS - 1)]
        user = f"fan-{run}-u{i}"
        clients.append(
            {"user": user, "token": issue(secret, user, [Role.VIEWER]), "room": room, "url": urls[i % 2]}
        )
    senders = list(range(0, CLIENTS, int(1 / SENDER_SHARE)))
    reactors = [i for i in range(1, hot, 2)][:REACTORS]
    config = {
        "clients": clients,
        "senders": senders,
        "reactors": reactors,
        "chat_interval_ms": CHAT_INTERVAL_MS,
        "react_interval_ms": REACT_INTERVAL_MS,
        "duration_s": DURATION_S,
        "settle_ms": 3000,
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
        [node, str(SCRIPTS / "load.mjs"), str(path)],
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


def service_proc(settings: Settings, name: str) -> Proc | None:
    """A service ``make up`` started (by its PID file), to measure alongside."""
    pid = ProcessFiles(name, settings.local.run_dir, settings.local.log_dir).pid()
    return None if pid is None else Proc(name, pid)


def platform_run(settings: Settings, run: str, python: str) -> dict[str, Any]:
    app_id = f"bench-fanout-{run}"
    start_group_at_end(settings.kafka.bootstrap_servers, app_id, CONSUMED)
    worker = launch(
        "fanout-worker", [python, "-m", "streams.worker", "--app-id", app_id, "--loglevel", "warn"]
    )
    ports = [free_port(), free_port()]
    gateways = [
        launch(
            f"fanout-gw-{i}",
            [python, "-m", "serving.gateway", "--port", str(port), "--node-id", f"bench-gw-{i}"],
        )
        for i, port in enumerate(ports)
    ]
    procs = [worker, *gateways]
    try:
        for port in ports:
            wait_http(f"http://127.0.0.1:{port}/readyz")
        config, rooms = plan(
            run, [f"http://127.0.0.1:{p}" for p in ports], settings.auth.token_secret.get_secret_value()
        )
        open_rooms(settings, rooms)
        measured = [
            *procs,
            *(p for p in (service_proc(settings, "kafka"), service_proc(settings, "redis")) if p),
        ]
        return drive(config, "platform", measured)
    finally:
        stop(procs)


def reference_run(settings: Settings, run: str) -> dict[str, Any]:
    node = shutil.which("node") or "node"
    ports = [free_port(), free_port()]
    env = {
        "NODE_MODULES": str(NODE_MODULES),
        "REDIS_URL": settings.redis.url,
        "AUTH_TOKEN_SECRET": settings.auth.token_secret.get_secret_value(),
    }
    servers = [
        launch(f"fanout-ref-{i}", [node, str(SCRIPTS / "reference_server.mjs")], {**env, "PORT": str(port)})
        for i, port in enumerate(ports)
    ]
    try:
        for port in ports:
            wait_port(port)
        config, _ = plan(f"{run}ref", [f"http://127.0.0.1:{p}" for p in ports], env["AUTH_TOKEN_SECRET"])
        redis = service_proc(settings, "redis")
        return drive(config, "reference", [*servers, *([redis] if redis else [])])
    finally:
        stop(servers)


def main() -> None:
    settings = Settings()
    run = uuid.uuid4().hex[:6]
    print(
        f"bench-fanout: {CLIENTS} clients, {ROOMS} rooms (hot room {int(HOT_SHARE * 100)} %), two server processes, {DURATION_S} s",
        flush=True,
    )
    ours = platform_run(settings, run, sys.executable)
    if os.environ.get("FANOUT_PLATFORM_ONLY") == "1":  # a diagnostic run: no reference, no results file
        print(json.dumps(ours, indent=2))
        return
    reference = reference_run(settings, run)
    figures = {
        "quick": QUICK,
        "clients": ours["clients"],
        "rooms": ours["rooms"],
        "duration_s": DURATION_S,
        "chat_messages_per_s": round(ours["chat_sent"] / ours["window_s"], 1),
        "p50_ms": ours["p50_ms"],
        "p99_ms": ours["p99_ms"],
        "deliveries_per_s": round(ours["deliveries_per_s"], 1),
        "delivered_share": round(ours["deliveries"] / max(ours["expected_deliveries"], 1), 4),
        "ref_p50_ms": reference["p50_ms"],
        "ref_p99_ms": reference["p99_ms"],
        "ref_deliveries_per_s": round(reference["deliveries_per_s"], 1),
        "ref_delivered_share": round(reference["deliveries"] / max(reference["expected_deliveries"], 1), 4),
        "deliveries_ratio": round(ours["deliveries_per_s"] / max(reference["deliveries_per_s"], 1e-9), 3),
        "p99_ratio": round(ours["p99_ms"] / max(reference["p99_ms"], 1), 2) if ours["p99_ms"] else None,
        "reaction_taps_per_s": round(ours["reaction_taps_sent"] / ours["window_s"], 1),
        "reaction_messages_per_s": round(ours["reaction_messages_received"] / ours["window_s"], 1),
        "ref_reaction_messages_per_s": round(
            reference["reaction_messages_received"] / reference["window_s"], 1
        ),
        "cpu_pct": ours["cpu_pct"],
        "memory_mb": ours["memory_mb"],
        "ref_cpu_pct": reference["cpu_pct"],
        "ref_memory_mb": reference["memory_mb"],
        "platform": ours,
        "reference": reference,
        "targets": {"clients": 1000, "p99_ms": 200, "deliveries_per_s": 5000, "deliveries_ratio": 1.0},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2))
    summary = {k: v for k, v in figures.items() if k not in ("platform", "reference")}
    print(json.dumps(summary, indent=2))
    print(f"written to {RESULTS.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
