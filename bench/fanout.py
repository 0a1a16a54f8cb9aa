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
import sys
import uuid
from pathlib import Path
from typing import Any

from bench.telemetry import describe as describe_cost
from bench.telemetry import maybe_sampled, sampled_cost, telemetry_cost, telemetry_env
from ops.js_clients import NODE_MODULES
from ops.load import Load, Proc, drive, free_port, launch, launch_worker, plan, stop, wait_http, wait_port
from ops.otlp import otlp_receiver
from ops.processes import service_pids, tree_memory_mb
from ops.seed import open_rooms
from streams.settings import REPO_ROOT, Settings

QUICK = os.environ.get("QUICK") == "1"
# make bench-fanout-crowd: 5,000 sockets, mostly idle viewers over 50 rooms, one hot room with
# 1,500 of them; 50 senders every 10 s, 2 reaction tappers (the reference relays every tap).
CROWD = os.environ.get("FANOUT_SHAPE") == "crowd"
DURATION_S = int(os.environ.get("FANOUT_DURATION_S", 15 if QUICK else 30))
LOAD = (
    Load(
        clients=int(os.environ.get("FANOUT_CLIENTS", 5000)),
        duration_s=DURATION_S,
        rooms=50,
        sender_share=0.01,
        chat_interval_ms=10_000,
        reactors=2,
    )
    if CROWD
    else Load(clients=int(os.environ.get("FANOUT_CLIENTS", 300 if QUICK else 1000)), duration_s=DURATION_S)
)
REFERENCE_SERVER = Path(__file__).with_name("node") / "reference_server.mjs"
RESULTS = REPO_ROOT / "bench" / "results" / "fanout.json"
CROWD_RESULTS = REPO_ROOT / "bench" / "results" / "fanout-crowd.json"
PROFILES = REPO_ROOT / ".cache" / "bench" / "profiles" / "fanout"


def service_proc(settings: Settings, name: str) -> Proc | None:
    """A service ``make up`` started (by its PID file), to measure alongside."""
    pid = service_pids(settings.local.run_dir, settings.local.log_dir, name).get(name)
    return None if pid is None else Proc(name, pid)


def platform_run(
    settings: Settings, run: str, python: str, telemetry: dict[str, str], profiles: Path | None = None
) -> dict[str, Any]:
    """Our stack under the load. With ``profiles``, py-spy samples the worker and the gateways
    throughout, for telemetry's share of their CPU."""
    worker = launch_worker(settings, "fanout-worker", f"bench-fanout-{run}", telemetry, python)
    ports = [free_port(), free_port()]
    gateways = [
        launch(
            f"fanout-gw-{i}",
            [python, "-m", "serving.gateway", "--port", str(port), "--node-id", f"bench-gw-{i}"],
            telemetry,
        )
        for i, port in enumerate(ports)
    ]
    procs = [worker, *gateways]
    try:
        for port in ports:
            wait_http(f"http://127.0.0.1:{port}/readyz")
        config, rooms = plan(
            LOAD, run, [f"http://127.0.0.1:{p}" for p in ports], settings.auth.token_secret.get_secret_value()
        )
        open_rooms(settings, rooms)
        idle = idle_memory(gateways)
        measured = [
            *procs,
            *(p for p in (service_proc(settings, "kafka"), service_proc(settings, "redis")) if p),
        ]
        with maybe_sampled({p.name: p.pid for p in procs}, profiles) as recorded:
            result = {**drive(config, "platform", measured), "idle_memory_mb": idle}
        if recorded:
            result["telemetry_sampled"] = sampled_cost(cpu_us_per_delivery(result), recorded)
        return result
    finally:
        stop(procs)


def idle_memory(servers: list[Proc]) -> dict[str, float]:
    """Each server's memory (PSS, MiB) before any client connects."""
    return {p.name: round(tree_memory_mb(p.pid), 1) for p in servers}


def kib_per_connection(result: dict[str, Any]) -> float:
    """The servers' memory added by the load, per connected socket."""
    idle: dict[str, float] = result["idle_memory_mb"]
    added = sum(float(result["memory_mb"][name]) - mib for name, mib in idle.items())
    return round(added * 1024 / max(int(result["clients"]), 1), 1)


def crowd(settings: Settings, run: str) -> None:
    """Both stacks under the crowd load (telemetry on, as deployed): p99 and memory per socket."""
    with otlp_receiver() as (endpoint, _spans):
        ours = platform_run(settings, run, sys.executable, telemetry_env(True, endpoint))
    reference = reference_run(settings, run)
    figures = {
        "quick": QUICK,
        "clients": ours["clients"],
        "rooms": LOAD.rooms,
        "duration_s": LOAD.duration_s,
        **{
            f"{side}_{key}": result[key]
            for side, result in (("platform", ours), ("reference", reference))
            for key in ("p50_ms", "p99_ms", "deliveries_per_s", "cpu_pct", "memory_mb", "idle_memory_mb")
        },
        "platform_kib_per_connection": kib_per_connection(ours),
        "reference_kib_per_connection": kib_per_connection(reference),
        "p99_ratio": round(ours["p99_ms"] / max(reference["p99_ms"], 1), 2) if ours["p99_ms"] else None,
        "platform": ours,
        "reference": reference,
    }
    CROWD_RESULTS.parent.mkdir(parents=True, exist_ok=True)
    CROWD_RESULTS.write_text(json.dumps(figures, indent=2))
    print(json.dumps({k: v for k, v in figures.items() if k not in ("platform", "reference")}, indent=2))
    print(f"written to {CROWD_RESULTS.relative_to(REPO_ROOT)}")


def cpu_us_per_delivery(result: dict[str, Any]) -> dict[str, float]:
    """Each measured process's CPU per message delivered, in µs."""
    deliveries = max(int(result["deliveries"]), 1)
    window_s = float(result["window_s"])
    return {
        name: round(pct / 100 * window_s / deliveries * 1e6, 1) for name, pct in result["cpu_pct"].items()
    }


def reference_run(settings: Settings, run: str) -> dict[str, Any]:
    node = shutil.which("node") or "node"
    ports = [free_port(), free_port()]
    env = {
        "NODE_MODULES": str(NODE_MODULES),
        "REDIS_URL": settings.redis.url,
        "AUTH_TOKEN_SECRET": settings.auth.token_secret.get_secret_value(),
    }
    servers = [
        launch(f"fanout-ref-{i}", [node, str(REFERENCE_SERVER)], {**env, "PORT": str(port)})
        for i, port in enumerate(ports)
    ]
    try:
        for port in ports:
            wait_port(port)
        config, _ = plan(
            LOAD, f"{run}ref", [f"http://127.0.0.1:{p}" for p in ports], env["AUTH_TOKEN_SECRET"]
        )
        redis = service_proc(settings, "redis")
        idle = idle_memory(servers)
        return {**drive(config, "reference", [*servers, *([redis] if redis else [])]), "idle_memory_mb": idle}
    finally:
        stop(servers)


def main() -> None:
    settings = Settings()
    run = uuid.uuid4().hex[:6]
    print(
        f"bench-fanout: {LOAD.clients} clients, {LOAD.rooms} rooms (hot room {int(LOAD.hot_share * 100)} %), two server processes, {LOAD.duration_s} s",
        flush=True,
    )
    if CROWD:
        crowd(settings, run)
        return
    with otlp_receiver() as (endpoint, spans):
        ours = platform_run(settings, run, sys.executable, telemetry_env(True, endpoint))
        if os.environ.get("FANOUT_PLATFORM_ONLY") == "1":  # a diagnostic run: no reference, no results file
            print(json.dumps(ours, indent=2))
            return
        reference = reference_run(settings, run)
        # The same load with metrics and tracing off twice, then on again (on, off, off, on: a
        # machine warming up or drifting weighs on both sides alike), for their cost.
        bare = [
            platform_run(settings, f"{run}off{i}", sys.executable, telemetry_env(False, endpoint))
            for i in range(2)
        ]
        again = platform_run(settings, f"{run}on", sys.executable, telemetry_env(True, endpoint))
        # Once more, sampled by py-spy: not one of the runs above, since py-spy takes CPU from
        # the same two cores.
        print("the platform once more, telemetry on, sampled by py-spy ...", flush=True)
        profiled = platform_run(
            settings, f"{run}spy", sys.executable, telemetry_env(True, endpoint), PROFILES
        )
        exported = len(spans)
    cost = telemetry_cost(
        [cpu_us_per_delivery(ours), cpu_us_per_delivery(again)],
        [cpu_us_per_delivery(b) for b in bare],
        "delivery (worker, gateways, Kafka, Redis; µs)",
        exported,
    )
    cost["sampled"] = profiled["telemetry_sampled"]
    print(describe_cost(cost), flush=True)
    figures = {
        "quick": QUICK,
        "clients": ours["clients"],
        "rooms": ours["rooms"],
        "duration_s": LOAD.duration_s,
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
        "telemetry_cost": cost,
        "platform": ours,
        "platform_telemetry_off": bare,
        "platform_telemetry_on_again": again,
        "platform_telemetry_on_sampled": profiled,
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
